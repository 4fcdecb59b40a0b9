// test_vmmap.c: host unit tests for kern/vmmap.c, built against libc with Criterion.
// Storage comes from a grow callback that hands out fresh, garbage-filled memory (vmmap
// moves the records over and releases the old array, which ASan would catch being used
// again) and can be told to fail. Besides the contracts, every test checks the map's
// invariants, errors are shown to change nothing by comparing snapshots, and random
// operation sequences are checked page by page against a simple reference model,
// including that the records are exactly the fewest that describe it.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include "kern/vmmap.h"

#define PG VM_PAGE
#define VA(p) (0x400000ull + (uint64_t)(p) * PG)  // page p of the usual test window

static int objs[4];
#define OBJ(i) ((void *)&objs[i])

// The test's storage source.
struct env {
	bool fail;         // grow returns NULL
	size_t bytes;      // size of the current block
	unsigned grows, releases;
};

static struct env E;
static struct vmmap M;

static void *grow(size_t new_bytes, void *ctx)
{
	struct env *e = ctx;
	e->grows++;
	if (e->fail)
		return NULL;
	cr_assert_gt(new_bytes, e->bytes, "grow must grow");
	unsigned char *p = malloc(new_bytes);
	cr_assert_not_null(p);
	memset(p, 0xcd, new_bytes);  // not zero: vmmap must not rely on it
	e->bytes = new_bytes;
	return p;
}

static void release(void *p, void *ctx)
{
	struct env *e = ctx;
	e->releases++;
	free(p);
}

static void setup(void)
{
	memset(&E, 0, sizeof E);
	vmmap_init(&M, grow, release, &E);
}

static void teardown(void)
{
	vmmap_destroy(&M);
}

TestSuite(vmmap, .init = setup, .fini = teardown);

static bool rec_mergeable(const struct vm_range *a, const struct vm_range *b)
{
	return a->va + a->len == b->va && a->obj == b->obj && a->off + a->len == b->off &&
	       a->maxprot == b->maxprot && a->state == b->state && a->epoch_tag == b->epoch_tag;
}

static void check_invariants(const struct vmmap *m)
{
	cr_assert_leq(m->n, m->cap);
	cr_assert_eq(m->cap == 0, m->r == NULL);
	cr_assert_eq((size_t)m->cap * sizeof(struct vm_range), E.bytes);
	uint64_t pages[2] = { 0, 0 }; // the counts vmmap_pages keeps, walked
	for (uint32_t i = 0; i < m->n; i++) {
		const struct vm_range *r = &m->r[i];
		pages[r->state == VMR_LAZY] += r->len / PG;
		cr_assert_neq(r->len, 0, "record %u empty", i);
		cr_assert_eq((r->va | r->len | r->off) % PG, 0, "record %u misaligned", i);
		cr_assert_leq(r->len, UINT64_MAX - r->va, "record %u wraps", i);
		cr_assert_leq(r->len, UINT64_MAX - r->off, "record %u offset wraps", i);
		cr_assert_not_null(r->obj);
		cr_assert_eq(r->maxprot & ~PROT_ALL, 0, "record %u has unknown rights", i);
		cr_assert(r->state == VMR_MAPPED || r->state == VMR_LAZY);
		if (r->state == VMR_MAPPED)
			cr_assert_eq(r->epoch_tag, 0);
		if (i > 0) {
			cr_assert_leq(m->r[i - 1].va + m->r[i - 1].len, r->va, "records %u, %u overlap", i - 1, i);
			cr_assert(!rec_mergeable(&m->r[i - 1], r), "records %u, %u should be one", i - 1, i);
		}
	}
	cr_assert_eq(vmmap_pages(m, VMR_MAPPED), pages[0], "mapped pages counted wrong");
	cr_assert_eq(vmmap_pages(m, VMR_LAZY), pages[1], "lazy pages counted wrong");
}

// A snapshot of the map, to show an error changed nothing.
struct snap {
	struct vmmap m;
	struct vm_range *r;
};

static struct snap take_snap(const struct vmmap *m)
{
	struct snap s = { *m, malloc((m->n + 1) * sizeof(struct vm_range)) };
	cr_assert_not_null(s.r);
	if (m->n)
		memcpy(s.r, m->r, m->n * sizeof(struct vm_range));
	return s;
}

static void assert_unchanged(const struct vmmap *m, struct snap *s)
{
	cr_assert_eq(memcmp(m, &s->m, sizeof *m), 0, "struct vmmap changed");
	if (m->n)
		cr_assert_eq(memcmp(m->r, s->r, m->n * sizeof(struct vm_range)), 0, "records changed");
	free(s->r);
}

static void expect_rec(uint32_t i, uint64_t va, uint64_t len, void *obj, uint64_t off,
                       uint32_t maxprot, uint32_t state)
{
	cr_assert_lt(i, M.n, "no record %u (n=%u)", i, M.n);
	const struct vm_range *r = &M.r[i];
	cr_assert_eq(r->va, va, "record %u va %#lx want %#lx", i, r->va, va);
	cr_assert_eq(r->len, len, "record %u len %#lx want %#lx", i, r->len, len);
	cr_assert_eq(r->obj, obj, "record %u obj", i);
	cr_assert_eq(r->off, off, "record %u off %#lx want %#lx", i, r->off, off);
	cr_assert_eq(r->maxprot, maxprot, "record %u maxprot %u want %u", i, r->maxprot, maxprot);
	cr_assert_eq(r->state, state, "record %u state", i);
}

// A reclaim predicate: the tags up to *arg are done.
static bool done_upto(uint64_t tag, void *arg)
{
	return tag <= *(uint64_t *)arg;
}

// --- init, insert, find ---

Test(vmmap, empty_map)
{
	struct vm_range r;
	cr_assert_eq(M.n, 0);
	cr_assert_eq(vmmap_find(&M, VA(0), &r), E_NOENT);
	cr_assert_eq(vmmap_next(&M, 0, &r), E_NOENT);
	cr_assert(!vmmap_covered(&M, VA(0), PG));
	cr_assert_eq(vmmap_pages(&M, VMR_MAPPED), 0);
	cr_assert_eq(vmmap_reclaim(&M, NULL, NULL, NULL), 0);  // done is never called
	check_invariants(&M);
	vmmap_destroy(&M);
	cr_assert_eq(E.releases, 0, "nothing to release");
}

Test(vmmap, insert_then_find)
{
	cr_assert_eq(vmmap_insert(&M, VA(10), 4 * PG, OBJ(0), 8 * PG, PROT_ALL), E_OK);
	struct vm_range r;
	cr_assert_eq(vmmap_find(&M, VA(10), &r), E_OK);
	cr_assert_eq(r.va, VA(10));
	cr_assert_eq(r.len, 4 * PG);
	cr_assert_eq(r.obj, OBJ(0));
	cr_assert_eq(r.off, 8 * PG);
	cr_assert_eq(r.maxprot, PROT_ALL);
	cr_assert_eq(r.state, VMR_MAPPED);
	cr_assert_eq(vmmap_find(&M, VA(13) + PG - 1, &r), E_OK);  // last byte
	cr_assert_eq(vmmap_find(&M, VA(14), &r), E_NOENT);
	cr_assert_eq(vmmap_find(&M, VA(10) - 1, &r), E_NOENT);
	cr_assert_eq(vmmap_find(&M, VA(11), NULL), E_OK);
	cr_assert(vmmap_covered(&M, VA(10), 4 * PG));
	cr_assert(vmmap_covered(&M, VA(11), 2 * PG));
	cr_assert(!vmmap_covered(&M, VA(9), 2 * PG));
	cr_assert(!vmmap_covered(&M, VA(13), 2 * PG));
	cr_assert_eq(vmmap_pages(&M, VMR_MAPPED), 4);
	cr_assert_eq(vmmap_pages(&M, VMR_LAZY), 0);
	cr_assert_eq(vmmap_pages(&M, 0), 0);
	check_invariants(&M);
}

Test(vmmap, insert_keeps_records_sorted)
{
	uint64_t pages[] = { 50, 10, 30, 40, 20, 0, 60 };
	for (size_t i = 0; i < 7; i++)
		cr_assert_eq(vmmap_insert(&M, VA(pages[i]), PG, OBJ(i % 2), 0, PROT_ALL), E_OK);
	cr_assert_eq(M.n, 7);
	for (uint32_t i = 0; i < 7; i++)
		cr_assert_eq(M.r[i].va, VA(i * 10));
	check_invariants(&M);
}

Test(vmmap, insert_bad_args_fails)
{
	vmmap_insert(&M, VA(0), PG, OBJ(0), 0, PROT_ALL);
	struct snap s = take_snap(&M);
	cr_assert_eq(vmmap_insert(&M, VA(5), 0, OBJ(0), 0, PROT_ALL), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(5) + 1, PG, OBJ(0), 0, PROT_ALL), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(5), PG + 8, OBJ(0), 0, PROT_ALL), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(5), PG, OBJ(0), 12, PROT_ALL), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(5), PG, NULL, 0, PROT_ALL), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(5), PG, OBJ(0), 0, PROT_ALL + 1), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(5), PG, OBJ(0), 0, 1u << 31), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(0), 0, NULL, 3, ~0u), E_INVAL);  // before E_EXISTS
	cr_assert_eq(vmmap_insert(&M, VA(0), PG, OBJ(0), 0, 8), E_INVAL);  // bad maxprot first
	assert_unchanged(&M, &s);
	check_invariants(&M);
}

Test(vmmap, insert_wrapping_range_fails)
{
	uint64_t top = 0ull - PG;  // the last page of the address space
	struct snap s = take_snap(&M);
	cr_assert_eq(vmmap_insert(&M, top, PG, OBJ(0), 0, PROT_ALL), E_INVAL);        // end = 2^64
	cr_assert_eq(vmmap_insert(&M, top - PG, 2 * PG, OBJ(0), 0, PROT_ALL), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(1), 0ull - PG, OBJ(0), 0, PROT_ALL), E_INVAL);
	cr_assert_eq(vmmap_insert(&M, VA(1), PG, OBJ(0), top, PROT_ALL), E_INVAL);      // off end = 2^64
	cr_assert_eq(vmmap_insert(&M, VA(1), 4 * PG, OBJ(0), top - 2 * PG, PROT_ALL), E_INVAL);
	assert_unchanged(&M, &s);
	cr_assert_eq(E.grows, 0);
}

Test(vmmap, insert_at_the_top_of_the_address_space)
{
	uint64_t top = 0ull - PG;
	cr_assert_eq(vmmap_insert(&M, top - 3 * PG, 3 * PG, OBJ(0), top - 3 * PG, PROT_READ), E_OK);
	cr_assert(vmmap_covered(&M, top - 3 * PG, 3 * PG));
	cr_assert(!vmmap_covered(&M, top - 3 * PG, 4 * PG));  // wraps: false, not a crash
	cr_assert_eq(vmmap_maxprot(&M, top - 3 * PG, 3 * PG), PROT_READ);
	cr_assert_eq(vmmap_maxprot(&M, top - 3 * PG, 4 * PG), 0);
	struct vm_range r;
	cr_assert_eq(vmmap_find(&M, UINT64_MAX, &r), E_NOENT);
	cr_assert_eq(vmmap_find(&M, top - 1, &r), E_OK);
	cr_assert_eq(vmmap_next(&M, top - PG, &r), E_OK);
	cr_assert_eq(vmmap_next(&M, top, &r), E_NOENT);
	cr_assert_eq(vmmap_mark_lazy(&M, top - 2 * PG, PG, 1), E_OK);
	cr_assert_eq(M.n, 3);
	expect_rec(2, top - PG, PG, OBJ(0), top - PG, PROT_READ, VMR_MAPPED);
	struct vm_range out[4];
	uint32_t n;
	cr_assert_eq(vmmap_remove(&M, top - PG, PG, out, &n, 4), E_OK);
	cr_assert_eq(vmmap_remove(&M, top - 3 * PG, PG, out, &n, 4), E_OK);
	uint64_t upto = 1;
	cr_assert_eq(vmmap_reclaim(&M, done_upto, &upto, NULL), 1);
	cr_assert_eq(M.n, 0);
	check_invariants(&M);
}

Test(vmmap, insert_overlap_fails)
{
	cr_assert_eq(vmmap_insert(&M, VA(10), 10 * PG, OBJ(0), 0, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(30), 2 * PG, OBJ(0), 0, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(30), 2 * PG, 1), E_OK);
	struct snap s = take_snap(&M);
	cr_assert_eq(vmmap_insert(&M, VA(10), 10 * PG, OBJ(1), 0, PROT_ALL), E_EXISTS);  // same
	cr_assert_eq(vmmap_insert(&M, VA(5), 6 * PG, OBJ(1), 0, PROT_ALL), E_EXISTS);    // front page
	cr_assert_eq(vmmap_insert(&M, VA(19), 2 * PG, OBJ(1), 0, PROT_ALL), E_EXISTS);   // last page
	cr_assert_eq(vmmap_insert(&M, VA(12), PG, OBJ(1), 0, PROT_ALL), E_EXISTS);       // inside
	cr_assert_eq(vmmap_insert(&M, VA(0), 100 * PG, OBJ(1), 0, PROT_ALL), E_EXISTS);  // around
	cr_assert_eq(vmmap_insert(&M, VA(31), PG, OBJ(1), 0, PROT_ALL), E_EXISTS);       // lazy
	cr_assert_eq(vmmap_insert(&M, VA(25), 6 * PG, OBJ(1), 0, PROT_ALL), E_EXISTS);   // lazy edge
	assert_unchanged(&M, &s);
	// Touching is not overlapping.
	cr_assert_eq(vmmap_insert(&M, VA(20), PG, OBJ(1), 0, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(9), PG, OBJ(1), 0, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(29), PG, OBJ(1), 0, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(32), PG, OBJ(1), 0, PROT_ALL), E_OK);
	check_invariants(&M);
}

Test(vmmap, insert_merges_with_neighbours_that_continue_it)
{
	cr_assert_eq(vmmap_insert(&M, VA(0), 2 * PG, OBJ(0), 0, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(2), 2 * PG, OBJ(0), 2 * PG, PROT_ALL), E_OK);   // appends
	cr_assert_eq(M.n, 1);
	cr_assert_eq(vmmap_insert(&M, VA(6), 2 * PG, OBJ(0), 6 * PG, PROT_ALL), E_OK);
	cr_assert_eq(M.n, 2);
	cr_assert_eq(vmmap_insert(&M, VA(4), 2 * PG, OBJ(0), 4 * PG, PROT_ALL), E_OK);   // fills the gap
	cr_assert_eq(M.n, 1);
	expect_rec(0, VA(0), 8 * PG, OBJ(0), 0, PROT_ALL, VMR_MAPPED);
	cr_assert_eq(vmmap_insert(&M, VA(12), PG, OBJ(0), 12 * PG, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(11), PG, OBJ(0), 11 * PG, PROT_ALL), E_OK);     // prepends
	cr_assert_eq(M.n, 2);
	expect_rec(1, VA(11), 2 * PG, OBJ(0), 11 * PG, PROT_ALL, VMR_MAPPED);
	check_invariants(&M);
}

Test(vmmap, insert_does_not_merge_what_does_not_continue)
{
	cr_assert_eq(vmmap_insert(&M, VA(0), PG, OBJ(0), 0, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(1), PG, OBJ(1), PG, PROT_ALL), E_OK);      // other object
	cr_assert_eq(vmmap_insert(&M, VA(2), PG, OBJ(1), 5 * PG, PROT_ALL), E_OK);  // offset jumps
	cr_assert_eq(vmmap_insert(&M, VA(3), PG, OBJ(1), 6 * PG, PROT_READ), E_OK); // other maxprot
	cr_assert_eq(vmmap_insert(&M, VA(5), PG, OBJ(1), 8 * PG, PROT_READ), E_OK); // hole
	cr_assert_eq(M.n, 5);
	check_invariants(&M);
}

// --- maximum rights (the current rights are the caller's, in the PTEs) ---

// Pieces of one object at contiguous offsets, each of which the caller may have mapped
// with other PTE rights (read-only, read-write, none): vmmap cannot tell them apart,
// so they are one record, and only maxprot bounds what protect may give.
Test(vmmap, neighbours_merge_whatever_rights_their_ptes_have)
{
	cr_assert_eq(vmmap_insert(&M, VA(0), 2 * PG, OBJ(0), 10 * PG, PROT_READ | PROT_WRITE), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(4), 2 * PG, OBJ(0), 14 * PG, PROT_READ | PROT_WRITE), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(2), 2 * PG, OBJ(0), 12 * PG, PROT_READ | PROT_WRITE), E_OK);
	cr_assert_eq(M.n, 1);
	expect_rec(0, VA(0), 6 * PG, OBJ(0), 10 * PG, PROT_READ | PROT_WRITE, VMR_MAPPED);
	cr_assert_eq(vmmap_maxprot(&M, VA(2), PG), PROT_READ | PROT_WRITE);
	check_invariants(&M);
}

Test(vmmap, neighbours_with_other_maxprot_do_not_merge)
{
	cr_assert_eq(vmmap_insert(&M, VA(0), 2 * PG, OBJ(0), 0, PROT_READ | PROT_WRITE), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(4), 2 * PG, OBJ(0), 4 * PG, PROT_READ | PROT_EXEC), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(2), 2 * PG, OBJ(0), 2 * PG, PROT_READ), E_OK);  // between
	cr_assert_eq(M.n, 3);
	expect_rec(0, VA(0), 2 * PG, OBJ(0), 0, PROT_READ | PROT_WRITE, VMR_MAPPED);
	expect_rec(1, VA(2), 2 * PG, OBJ(0), 2 * PG, PROT_READ, VMR_MAPPED);
	expect_rec(2, VA(4), 2 * PG, OBJ(0), 4 * PG, PROT_READ | PROT_EXEC, VMR_MAPPED);
	check_invariants(&M);
	// Lazy pieces with other maxprot stay apart too, even with one tag.
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0), 6 * PG, 1), E_OK);
	cr_assert_eq(M.n, 3);
	check_invariants(&M);
}

Test(vmmap, insert_keeps_maxprot)
{
	cr_assert_eq(vmmap_insert(&M, 0x10000, PG, OBJ(0), 0, PROT_READ | PROT_EXEC), E_OK);
	cr_assert_eq(vmmap_insert(&M, 0x12000, PG, OBJ(0), 0, 0), E_OK);  // no rights ever
	cr_assert_eq(M.r[0].maxprot, PROT_READ | PROT_EXEC);
	struct vm_range r;
	cr_assert_eq(vmmap_find(&M, 0x10000, &r), E_OK);
	cr_assert_eq(r.maxprot, PROT_READ | PROT_EXEC);
	cr_assert_eq(vmmap_maxprot(&M, 0x12000, PG), 0);
	check_invariants(&M);
}

Test(vmmap, maxprot_is_the_intersection_over_the_range)
{
	// Two continuing pieces of one object, one writable and one not: never one record.
	cr_assert_eq(vmmap_insert(&M, 0x10000, PG, OBJ(0), 0, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, 0x11000, PG, OBJ(0), PG, PROT_READ), E_OK);
	cr_assert_eq(M.n, 2);
	check_invariants(&M);
	struct snap s = take_snap(&M);
	cr_assert_eq(vmmap_maxprot(&M, 0x10000, PG), PROT_ALL);
	cr_assert_eq(vmmap_maxprot(&M, 0x10000, 2 * PG), PROT_READ);
	cr_assert_eq(vmmap_maxprot(&M, 0x11000, PG), PROT_READ);
	cr_assert_eq(vmmap_maxprot(&M, 0x10000, 3 * PG), 0); // a page is not mapped
	cr_assert_eq(vmmap_maxprot(&M, 0x0f000, 2 * PG), 0);
	cr_assert_eq(vmmap_maxprot(&M, 0x10001, PG), 0);     // malformed
	cr_assert_eq(vmmap_maxprot(&M, 0x10000, 0), 0);
	cr_assert_eq(vmmap_maxprot(&M, 0x10000, 0ull - PG), 0);
	assert_unchanged(&M, &s);
}

Test(vmmap, maxprot_survives_splits_and_ignores_lazy_pages)
{
	cr_assert_eq(vmmap_insert(&M, VA(0), 8 * PG, OBJ(0), 0, PROT_READ | PROT_WRITE), E_OK);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(2), PG, 1), E_OK);
	struct vm_range out[1];
	uint32_t n;
	cr_assert_eq(vmmap_remove(&M, VA(5), PG, out, &n, 1), E_OK);
	cr_assert_eq(out[0].maxprot, PROT_READ | PROT_WRITE);
	cr_assert_eq(M.n, 4);
	for (uint32_t i = 0; i < M.n; i++)
		cr_assert_eq(M.r[i].maxprot, PROT_READ | PROT_WRITE, "record %u", i);
	cr_assert_eq(vmmap_maxprot(&M, VA(0), 2 * PG), PROT_READ | PROT_WRITE);
	cr_assert_eq(vmmap_maxprot(&M, VA(6), 2 * PG), PROT_READ | PROT_WRITE);
	cr_assert_eq(vmmap_maxprot(&M, VA(2), PG), 0, "a lazy page may get nothing");
	cr_assert_eq(vmmap_maxprot(&M, VA(1), 2 * PG), 0);
	check_invariants(&M);
}

// --- splits and merges (mark_lazy, remove and insert are what edit records now) ---

Test(vmmap, mark_lazy_at_the_ends_splits_once_and_reinsert_merges)
{
	vmmap_insert(&M, VA(0), 10 * PG, OBJ(0), 100 * PG, PROT_ALL);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0), PG, 1), E_OK);  // front: splits once
	cr_assert_eq(M.n, 2);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(9), PG, 1), E_OK);  // back: splits once
	cr_assert_eq(M.n, 3);
	expect_rec(0, VA(0), PG, OBJ(0), 100 * PG, PROT_ALL, VMR_LAZY);
	expect_rec(1, VA(1), 8 * PG, OBJ(0), 101 * PG, PROT_ALL, VMR_MAPPED);
	expect_rec(2, VA(9), PG, OBJ(0), 109 * PG, PROT_ALL, VMR_LAZY);
	check_invariants(&M);
	uint64_t upto = 1;
	cr_assert_eq(vmmap_reclaim(&M, done_upto, &upto, NULL), 2);
	cr_assert_eq(vmmap_insert(&M, VA(0), PG, OBJ(0), 100 * PG, PROT_ALL), E_OK);
	cr_assert_eq(vmmap_insert(&M, VA(9), PG, OBJ(0), 109 * PG, PROT_ALL), E_OK);
	cr_assert_eq(M.n, 1);
	expect_rec(0, VA(0), 10 * PG, OBJ(0), 100 * PG, PROT_ALL, VMR_MAPPED);
	check_invariants(&M);
}

Test(vmmap, mark_lazy_whole_records_needs_no_memory)
{
	vmmap_insert(&M, VA(0), 10 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(10), 10 * PG, OBJ(1), 0, PROT_ALL);
	for (uint64_t p = 30; M.n < M.cap; p += 2)  // fill the storage exactly
		vmmap_insert(&M, VA(p), PG, OBJ(2), 0, PROT_ALL);
	E.fail = true;
	unsigned grows = E.grows;
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0), 20 * PG, 1), E_OK);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(30), PG, 2), E_OK);
	cr_assert_eq(E.grows, grows, "no storage asked for");
	check_invariants(&M);
}

Test(vmmap, mark_lazy_grow_failure_changes_nothing)
{
	vmmap_insert(&M, VA(0), 10 * PG, OBJ(0), 0, PROT_ALL);
	for (uint64_t p = 20; M.n < M.cap; p += 2)  // fill the storage exactly
		vmmap_insert(&M, VA(p), PG, OBJ(1), 0, PROT_ALL);
	E.fail = true;
	struct snap s = take_snap(&M);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(3), 2 * PG, 1), E_NOMEM);  // middle: two splits
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0), 2 * PG, 1), E_NOMEM);  // front: one
	cr_assert_eq(vmmap_mark_lazy(&M, VA(8), 2 * PG, 1), E_NOMEM);  // back: one
	assert_unchanged(&M, &s);
	E.fail = false;
	uint32_t n = M.n;
	cr_assert_eq(vmmap_mark_lazy(&M, VA(3), 2 * PG, 1), E_OK);
	cr_assert_eq(M.n, n + 2);
	check_invariants(&M);
}

// --- remove ---

Test(vmmap, remove_whole_record_returns_it)
{
	vmmap_insert(&M, VA(0), 4 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(4), 4 * PG, OBJ(1), 0, PROT_READ | PROT_WRITE);
	struct vm_range out[2];
	uint32_t n = 99;
	cr_assert_eq(vmmap_remove(&M, VA(4), 4 * PG, out, &n, 2), E_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0].va, VA(4));
	cr_assert_eq(out[0].len, 4 * PG);
	cr_assert_eq(out[0].obj, OBJ(1));
	cr_assert_eq(out[0].maxprot, PROT_READ | PROT_WRITE);
	cr_assert_eq(out[0].state, VMR_MAPPED);
	cr_assert_eq(M.n, 1);
	check_invariants(&M);
}

Test(vmmap, remove_in_the_middle_splits_in_three)
{
	vmmap_insert(&M, VA(0), 10 * PG, OBJ(0), 50 * PG, PROT_ALL);
	struct vm_range out[1];
	uint32_t n;
	cr_assert_eq(vmmap_remove(&M, VA(4), 3 * PG, out, &n, 1), E_OK);
	cr_assert_eq(n, 1);
	cr_assert_eq(out[0].va, VA(4));
	cr_assert_eq(out[0].len, 3 * PG);
	cr_assert_eq(out[0].off, 54 * PG);
	cr_assert_eq(M.n, 2);
	expect_rec(0, VA(0), 4 * PG, OBJ(0), 50 * PG, PROT_ALL, VMR_MAPPED);
	expect_rec(1, VA(7), 3 * PG, OBJ(0), 57 * PG, PROT_ALL, VMR_MAPPED);
	cr_assert(!vmmap_covered(&M, VA(3), 2 * PG));
	check_invariants(&M);
	// Putting the same pages back merges it into one again.
	cr_assert_eq(vmmap_insert(&M, VA(4), 3 * PG, OBJ(0), 54 * PG, PROT_ALL), E_OK);
	cr_assert_eq(M.n, 1);
	check_invariants(&M);
}

Test(vmmap, remove_across_records_trims_the_ends)
{
	vmmap_insert(&M, VA(0), 4 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(4), 4 * PG, OBJ(1), 0, PROT_ALL);
	vmmap_insert(&M, VA(8), 4 * PG, OBJ(2), 0, PROT_ALL);
	vmmap_insert(&M, VA(12), 4 * PG, OBJ(3), 0, PROT_ALL);
	struct vm_range out[8];
	uint32_t n;
	cr_assert_eq(vmmap_remove(&M, VA(3), 10 * PG, out, &n, 8), E_OK);
	cr_assert_eq(n, 4);
	uint64_t want_va[] = { VA(3), VA(4), VA(8), VA(12) }, want_len[] = { PG, 4 * PG, 4 * PG, PG };
	uint64_t want_off[] = { 3 * PG, 0, 0, 0 };
	for (uint32_t i = 0; i < 4; i++) {
		cr_assert_eq(out[i].va, want_va[i]);
		cr_assert_eq(out[i].len, want_len[i]);
		cr_assert_eq(out[i].off, want_off[i]);
		cr_assert_eq(out[i].obj, OBJ(i));
	}
	cr_assert_eq(M.n, 2);
	expect_rec(0, VA(0), 3 * PG, OBJ(0), 0, PROT_ALL, VMR_MAPPED);
	expect_rec(1, VA(13), 3 * PG, OBJ(3), PG, PROT_ALL, VMR_MAPPED);
	check_invariants(&M);
}

Test(vmmap, remove_unmapped_page_fails)
{
	vmmap_insert(&M, VA(0), 4 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(5), 4 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_mark_lazy(&M, VA(8), PG, 3);
	struct snap s = take_snap(&M);
	struct vm_range out[4];
	uint32_t n = 77;
	cr_assert_eq(vmmap_remove(&M, VA(0), 6 * PG, out, &n, 4), E_NOENT);
	cr_assert_eq(vmmap_remove(&M, VA(4), PG, out, &n, 4), E_NOENT);
	cr_assert_eq(vmmap_remove(&M, VA(5), 4 * PG, out, &n, 4), E_NOENT);  // last page lazy
	cr_assert_eq(vmmap_remove(&M, VA(8), PG, out, &n, 4), E_NOENT);
	cr_assert_eq(vmmap_remove(&M, VA(0), 0, out, &n, 4), E_INVAL);
	cr_assert_eq(vmmap_remove(&M, VA(0) + 1, PG, out, &n, 4), E_INVAL);
	cr_assert_eq(vmmap_remove(&M, 0ull - PG, PG, out, &n, 4), E_INVAL);
	cr_assert_eq(n, 77, "*nout untouched");
	assert_unchanged(&M, &s);
}

Test(vmmap, remove_with_too_small_out_fails)
{
	vmmap_insert(&M, VA(0), 4 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(4), 4 * PG, OBJ(1), 0, PROT_ALL);
	vmmap_insert(&M, VA(8), 4 * PG, OBJ(2), 0, PROT_ALL);
	struct snap s = take_snap(&M);
	struct vm_range out[2];
	uint32_t n = 0;
	cr_assert_eq(vmmap_remove(&M, VA(2), 8 * PG, out, &n, 2), E_RANGE);
	cr_assert_eq(n, 3, "nout says how many are needed");
	cr_assert_eq(vmmap_remove(&M, VA(2), PG, NULL, &n, 0), E_RANGE);
	cr_assert_eq(n, 1);
	assert_unchanged(&M, &s);
}

Test(vmmap, remove_grow_failure_changes_nothing)
{
	vmmap_insert(&M, VA(0), 10 * PG, OBJ(0), 0, PROT_ALL);
	for (uint64_t p = 20; M.n < M.cap; p += 2)
		vmmap_insert(&M, VA(p), PG, OBJ(0), 0, PROT_ALL);
	E.fail = true;
	struct snap s = take_snap(&M);
	struct vm_range out[4];
	uint32_t n = 5;
	cr_assert_eq(vmmap_remove(&M, VA(4), 2 * PG, out, &n, 4), E_NOMEM);
	cr_assert_eq(n, 5);
	assert_unchanged(&M, &s);
	// Trimming an end or removing whole records never needs memory.
	cr_assert_eq(vmmap_remove(&M, VA(0), 2 * PG, out, &n, 4), E_OK);
	cr_assert_eq(vmmap_remove(&M, VA(8), 2 * PG, out, &n, 4), E_OK);
	cr_assert_eq(vmmap_remove(&M, VA(20), PG, out, &n, 4), E_OK);
	check_invariants(&M);
}

// --- storage ---

Test(vmmap, insert_grow_failure_changes_nothing)
{
	E.fail = true;
	struct snap s = take_snap(&M);
	cr_assert_eq(vmmap_insert(&M, VA(0), PG, OBJ(0), 0, PROT_ALL), E_NOMEM);
	assert_unchanged(&M, &s);
	E.fail = false;
	for (uint64_t p = 0; M.n < M.cap || M.n == 0; p += 2)
		cr_assert_eq(vmmap_insert(&M, VA(p), PG, OBJ(0), p * PG, PROT_ALL), E_OK);
	E.fail = true;
	s = take_snap(&M);
	uint32_t n = M.n;
	cr_assert_eq(vmmap_insert(&M, VA(2 * n), PG, OBJ(0), 0, PROT_ALL), E_NOMEM);
	assert_unchanged(&M, &s);
	// A merge needs no new record, so it still works.
	cr_assert_eq(vmmap_insert(&M, VA(1), PG, OBJ(0), PG, PROT_ALL), E_OK);
	cr_assert_eq(M.n, n - 1);
	check_invariants(&M);
}

Test(vmmap, no_grow_callback_means_no_memory)
{
	struct vmmap m;
	vmmap_init(&m, NULL, NULL, NULL);
	cr_assert_eq(vmmap_insert(&m, VA(0), PG, OBJ(0), 0, PROT_ALL), E_NOMEM);
	cr_assert_eq(m.n, 0);
	cr_assert_null(m.r);
	vmmap_destroy(&m);
}

Test(vmmap, storage_grows_geometrically_and_destroy_releases_it)
{
	for (uint64_t p = 0; p < 1000; p++)
		cr_assert_eq(vmmap_insert(&M, VA(2 * p), PG, OBJ(0), 0, PROT_ALL), E_OK);
	cr_assert_eq(M.n, 1000);
	// By a quarter: about log(1000 / 8) / log(1.25) + a few = 22 grows, not one per insert.
	cr_assert_leq(E.grows, 24, "%u grows for 1000 records", E.grows);
	check_invariants(&M);
	vmmap_destroy(&M);
	cr_assert_eq(E.releases, E.grows); // each old array as it grew, then the last one
	cr_assert_eq(M.n, 0);
	cr_assert_eq(M.cap, 0);
	cr_assert_null(M.r);
	E.bytes = 0;
	// Still usable after destroy.
	cr_assert_eq(vmmap_insert(&M, VA(0), PG, OBJ(0), 0, PROT_ALL), E_OK);
	check_invariants(&M);
}

// --- lazy unmap and reclaim ---

struct drops {
	uint64_t limit;
	struct vm_range r[16];
	unsigned n;
};

static bool drops_done(uint64_t tag, void *arg)
{
	return tag <= ((struct drops *)arg)->limit;
}

static void drops_drop(const struct vm_range *r, void *arg)
{
	struct drops *d = arg;
	cr_assert_lt(d->n, 16);
	d->r[d->n++] = *r;
}

Test(vmmap, mark_lazy_keeps_va_busy_until_reclaimed)
{
	vmmap_insert(&M, VA(0), 10 * PG, OBJ(0), 0, PROT_READ | PROT_WRITE);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(2), 3 * PG, 5), E_OK);
	cr_assert_eq(M.n, 3);
	expect_rec(1, VA(2), 3 * PG, OBJ(0), 2 * PG, PROT_READ | PROT_WRITE, VMR_LAZY);
	cr_assert_eq(M.r[1].epoch_tag, 5);
	check_invariants(&M);
	struct vm_range r;
	cr_assert_eq(vmmap_find(&M, VA(3), &r), E_OK);
	cr_assert_eq(r.state, VMR_LAZY);
	cr_assert_eq(r.epoch_tag, 5);
	cr_assert(!vmmap_covered(&M, VA(0), 10 * PG));
	cr_assert(vmmap_covered(&M, VA(0), 2 * PG));
	cr_assert_eq(vmmap_pages(&M, VMR_MAPPED), 7);
	cr_assert_eq(vmmap_pages(&M, VMR_LAZY), 3);
	cr_assert_eq(vmmap_insert(&M, VA(2), PG, OBJ(1), 0, PROT_ALL), E_EXISTS);

	struct drops d = { .limit = 4 };
	cr_assert_eq(vmmap_reclaim(&M, drops_done, &d, drops_drop), 0);  // tag 5 not done
	cr_assert_eq(d.n, 0);
	cr_assert_eq(M.n, 3);
	d.limit = 5;
	cr_assert_eq(vmmap_reclaim(&M, drops_done, &d, drops_drop), 1);
	cr_assert_eq(d.n, 1);
	cr_assert_eq(d.r[0].va, VA(2));
	cr_assert_eq(d.r[0].len, 3 * PG);
	cr_assert_eq(d.r[0].obj, OBJ(0));
	cr_assert_eq(d.r[0].off, 2 * PG);
	cr_assert_eq(d.r[0].maxprot, PROT_READ | PROT_WRITE);
	cr_assert_eq(d.r[0].state, VMR_LAZY);
	cr_assert_eq(M.n, 2);
	cr_assert_eq(vmmap_pages(&M, VMR_LAZY), 0);
	cr_assert_eq(vmmap_insert(&M, VA(2), PG, OBJ(1), 0, PROT_ALL), E_OK);  // VA free again
	check_invariants(&M);
}

Test(vmmap, lazy_ranges_with_the_same_tag_merge)
{
	vmmap_insert(&M, VA(0), 10 * PG, OBJ(0), 0, PROT_ALL);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0), 2 * PG, 1), E_OK);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(2), 2 * PG, 1), E_OK);
	cr_assert_eq(M.n, 2);
	expect_rec(0, VA(0), 4 * PG, OBJ(0), 0, PROT_ALL, VMR_LAZY);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(4), 2 * PG, 2), E_OK);  // other tag: separate
	cr_assert_eq(M.n, 3);
	check_invariants(&M);
	uint64_t upto = 1;
	cr_assert_eq(vmmap_reclaim(&M, done_upto, &upto, NULL), 1);
	upto = 2;
	cr_assert_eq(vmmap_reclaim(&M, done_upto, &upto, NULL), 1);
	cr_assert_eq(M.n, 1);
	expect_rec(0, VA(6), 4 * PG, OBJ(0), 6 * PG, PROT_ALL, VMR_MAPPED);
	check_invariants(&M);
}

Test(vmmap, mark_lazy_across_records_shares_the_tag)
{
	vmmap_insert(&M, VA(0), 4 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(4), 4 * PG, OBJ(1), 0, PROT_ALL);
	vmmap_insert(&M, VA(8), 4 * PG, OBJ(1), 4 * PG, PROT_READ);  // continues but for maxprot
	cr_assert_eq(vmmap_mark_lazy(&M, VA(2), 8 * PG, 9), E_OK);
	cr_assert_eq(M.n, 5);
	expect_rec(1, VA(2), 2 * PG, OBJ(0), 2 * PG, PROT_ALL, VMR_LAZY);
	expect_rec(2, VA(4), 4 * PG, OBJ(1), 0, PROT_ALL, VMR_LAZY);
	expect_rec(3, VA(8), 2 * PG, OBJ(1), 4 * PG, PROT_READ, VMR_LAZY);
	check_invariants(&M);
	struct drops d = { .limit = 9 };
	cr_assert_eq(vmmap_reclaim(&M, drops_done, &d, drops_drop), 3);
	uint64_t pages = 0;
	for (unsigned i = 0; i < d.n; i++) {
		cr_assert_eq(d.r[i].epoch_tag, 9);
		pages += d.r[i].len / PG;
	}
	cr_assert_eq(pages, 8, "the pieces add up to the range");
	cr_assert_eq(M.n, 2);
	check_invariants(&M);
}

Test(vmmap, mark_lazy_unmapped_page_fails)
{
	vmmap_insert(&M, VA(0), 4 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(5), 4 * PG, OBJ(0), 5 * PG, PROT_ALL);  // hole at page 4
	vmmap_mark_lazy(&M, VA(3), PG, 1);
	struct snap s = take_snap(&M);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(3), PG, 2), E_NOENT);  // already lazy
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0), 4 * PG, 2), E_NOENT);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(4), PG, 2), E_NOENT);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(5) - PG, 2 * PG, 2), E_NOENT);  // starts in the hole
	cr_assert_eq(vmmap_mark_lazy(&M, VA(8), 2 * PG, 2), E_NOENT);       // runs off the end
	cr_assert_eq(vmmap_mark_lazy(&M, VA(100), PG, 2), E_NOENT);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0), 0, 2), E_INVAL);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0) + 8, PG, 2), E_INVAL);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(0), 0ull - PG, 2), E_INVAL);
	cr_assert_eq(vmmap_mark_lazy(&M, VA(100), 0, 2), E_INVAL);  // E_INVAL before E_NOENT
	assert_unchanged(&M, &s);
}

Test(vmmap, reclaim_leaves_mapped_records_alone)
{
	for (uint64_t p = 0; p < 20; p++)
		vmmap_insert(&M, VA(2 * p), PG, OBJ(p % 4), 0, PROT_ALL);
	for (uint64_t p = 0; p < 20; p += 3)
		vmmap_mark_lazy(&M, VA(2 * p), PG, p);
	uint64_t upto = UINT64_MAX;
	cr_assert_eq(vmmap_reclaim(&M, done_upto, &upto, NULL), 7);
	cr_assert_eq(M.n, 13);
	cr_assert_eq(vmmap_pages(&M, VMR_MAPPED), 13);
	for (uint32_t i = 0; i < M.n; i++)
		cr_assert_eq(M.r[i].state, VMR_MAPPED);
	check_invariants(&M);
}

Test(vmmap, next_walks_every_record_in_order)
{
	vmmap_insert(&M, VA(0), 2 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(5), 2 * PG, OBJ(1), 0, PROT_ALL);
	vmmap_insert(&M, VA(9), 2 * PG, OBJ(2), 0, PROT_ALL);
	vmmap_mark_lazy(&M, VA(5), 2 * PG, 1);
	struct vm_range r;
	uint64_t want[] = { VA(0), VA(5), VA(9) };
	unsigned k = 0;
	for (uint64_t va = 0; vmmap_next(&M, va, &r) == E_OK; va = r.va + r.len)
		cr_assert_eq(r.va, want[k++]);
	cr_assert_eq(k, 3);
	cr_assert_eq(vmmap_next(&M, VA(6), &r), E_OK);
	cr_assert_eq(r.va, VA(5), "next returns the record containing va");
	cr_assert_eq(vmmap_next(&M, VA(7), &r), E_OK);
	cr_assert_eq(r.va, VA(9));
	cr_assert_eq(vmmap_next(&M, VA(11), &r), E_NOENT);
}

Test(vmmap, covered_across_adjacent_records)
{
	vmmap_insert(&M, VA(0), 2 * PG, OBJ(0), 0, PROT_ALL);
	vmmap_insert(&M, VA(2), 2 * PG, OBJ(1), 0, PROT_ALL);
	vmmap_insert(&M, VA(4), 2 * PG, OBJ(2), 0, PROT_ALL);
	cr_assert(vmmap_covered(&M, VA(0), 6 * PG));
	cr_assert(vmmap_covered(&M, VA(1), 4 * PG));
	cr_assert(!vmmap_covered(&M, VA(1), 6 * PG));
	cr_assert(!vmmap_covered(&M, VA(0), 0));
	cr_assert(!vmmap_covered(&M, VA(0) + 1, PG));
	cr_assert(!vmmap_covered(&M, VA(0), PG + 1));
}

// --- randomized against a reference model ---

#define WIN 48  // pages in the model's window

// One entry per page of the window.
struct mpage {
	uint32_t state;  // 0 = nothing, VMR_MAPPED, VMR_LAZY
	int obj;
	uint64_t off;    // page index in the object
	uint32_t maxprot;
	uint64_t tag;
};

static uint64_t BASE;  // window start
#define WVA(p) (BASE + (uint64_t)(p) * PG)

static bool pages_merge(const struct mpage *a, const struct mpage *b)
{
	return a->state && b->state == a->state && b->obj == a->obj && b->off == a->off + 1 &&
	       b->maxprot == a->maxprot && b->tag == a->tag;
}

// The records the model calls for: maximal runs of pages that continue each other.
static void check_against_model(const struct mpage *w)
{
	check_invariants(&M);
	uint32_t i = 0;
	for (int p = 0; p < WIN;) {
		if (!w[p].state) {
			p++;
			continue;
		}
		int q = p + 1;
		while (q < WIN && pages_merge(&w[q - 1], &w[q]))
			q++;
		expect_rec(i, WVA(p), (uint64_t)(q - p) * PG, OBJ(w[p].obj), w[p].off * PG,
		           w[p].maxprot, w[p].state);
		cr_assert_eq(M.r[i].epoch_tag, w[p].tag);
		i++;
		p = q;
	}
	cr_assert_eq(M.n, i, "%u records, model has %u", M.n, i);
}

static bool all_state(const struct mpage *w, int p, int n, uint32_t state)
{
	for (int q = p; q < p + n; q++)
		if (w[q].state != state)
			return false;
	return true;
}

// Records a remove of [p, p+n) would return: runs that continue each other.
static uint32_t pieces(const struct mpage *w, int p, int n)
{
	uint32_t k = 1;
	for (int q = p + 1; q < p + n; q++)
		k += !pages_merge(&w[q - 1], &w[q]);
	return k;
}

static void random_ops(uint64_t base, unsigned seed)
{
	BASE = base;
	srand(seed);
	for (int round = 0; round < 20; round++) {
		struct mpage w[WIN] = { 0 };
		uint64_t next_tag = 1;
		for (int op = 0; op < 3000; op++) {
			int r = rand() % 100;
			int p = rand() % WIN, n = 1 + rand() % (rand() % 4 ? 6 : WIN);
			if (n > WIN - p)
				n = WIN - p;
			static const uint32_t maxprots[] = { PROT_ALL, PROT_READ | PROT_WRITE,
			                                     PROT_READ | PROT_EXEC };
			uint32_t maxprot = maxprots[rand() % 3];  // few values, so merges happen
			bool fail = rand() % 8 == 0;
			E.fail = fail;
			struct snap s = take_snap(&M);
			int rc, want;
			bool query = false;
			if (r < 35) {
				int obj = rand() % 2;
				uint64_t off = (uint64_t)p + (rand() % 2 ? 0 : 1000);
				bool fits = all_state(w, p, n, 0);
				want = fits ? E_OK : E_EXISTS;
				rc = vmmap_insert(&M, WVA(p), (uint64_t)n * PG, OBJ(obj), off * PG, maxprot);
				if (rc == E_OK)
					for (int q = 0; q < n; q++)
						w[p + q] = (struct mpage){ VMR_MAPPED, obj, off + q, maxprot, 0 };
			} else if (r < 60) {
				struct vm_range out[WIN];
				uint32_t maxout = rand() % 4 ? WIN : (uint32_t)rand() % 3, nout = 12345;
				bool ok = all_state(w, p, n, VMR_MAPPED);
				uint32_t k = ok ? pieces(w, p, n) : 0;
				want = !ok ? E_NOENT : k > maxout ? E_RANGE : E_OK;
				rc = vmmap_remove(&M, WVA(p), (uint64_t)n * PG, out, &nout, maxout);
				if (rc == E_RANGE)
					cr_assert_eq(nout, k);
				if (rc == E_OK) {
					cr_assert_eq(nout, k);
					uint64_t at = WVA(p);
					for (uint32_t j = 0; j < nout; j++) {
						const struct mpage *mp = &w[(out[j].va - BASE) / PG];
						cr_assert_eq(out[j].va, at, "pieces must tile the range");
						cr_assert_eq(out[j].obj, OBJ(mp->obj));
						cr_assert_eq(out[j].off, mp->off * PG);
						cr_assert_eq(out[j].maxprot, mp->maxprot);
						cr_assert_eq(out[j].state, VMR_MAPPED);
						at += out[j].len;
					}
					cr_assert_eq(at, WVA(p + n));
					for (int q = p; q < p + n; q++)
						w[q] = (struct mpage){ 0 };
				}
			} else if (r < 75) {
				uint64_t tag = rand() % 2 ? next_tag : next_tag++;
				want = all_state(w, p, n, VMR_MAPPED) ? E_OK : E_NOENT;
				rc = vmmap_mark_lazy(&M, WVA(p), (uint64_t)n * PG, tag);
				if (rc == E_OK)
					for (int q = p; q < p + n; q++) {
						w[q].state = VMR_LAZY;
						w[q].tag = tag;
					}
			} else if (r < 82) {
				struct drops d = { .limit = next_tag - (uint64_t)(rand() % 3) };
				uint32_t want_n = 0;
				for (int q = 0; q < WIN; q++)
					if (w[q].state == VMR_LAZY && w[q].tag <= d.limit &&
					    (q == 0 || !pages_merge(&w[q - 1], &w[q])))
						want_n++;
				uint32_t got = vmmap_reclaim(&M, drops_done, &d, NULL);
				cr_assert_eq(got, want_n);
				for (int q = 0; q < WIN; q++)
					if (w[q].state == VMR_LAZY && w[q].tag <= d.limit)
						w[q] = (struct mpage){ 0 };
				rc = want = E_OK;
			} else {
				// Queries: never change anything, never allocate.
				struct vm_range f;
				rc = vmmap_find(&M, WVA(p) + (uint64_t)(rand() % (int)PG), &f);
				want = w[p].state ? E_OK : E_NOENT;
				if (rc == E_OK) {
					cr_assert_leq(f.va, WVA(p));
					cr_assert_gt(f.va + f.len, WVA(p));
					cr_assert_eq(f.state, w[p].state);
					cr_assert_eq(f.obj, OBJ(w[p].obj));
					cr_assert_eq(f.off + (WVA(p) - f.va), w[p].off * PG);
				}
				cr_assert_eq(vmmap_covered(&M, WVA(p), (uint64_t)n * PG),
				             all_state(w, p, n, VMR_MAPPED));
				uint32_t mx = all_state(w, p, n, VMR_MAPPED) ? PROT_ALL : 0;
				for (int q = p; q < p + n && mx; q++)
					mx &= w[q].maxprot;
				cr_assert_eq(vmmap_maxprot(&M, WVA(p), (uint64_t)n * PG), mx);
				uint64_t mp = 0, lp = 0;
				for (int q = 0; q < WIN; q++) {
					mp += w[q].state == VMR_MAPPED;
					lp += w[q].state == VMR_LAZY;
				}
				cr_assert_eq(vmmap_pages(&M, VMR_MAPPED), mp);
				cr_assert_eq(vmmap_pages(&M, VMR_LAZY), lp);
				query = true;
			}
			if (rc == E_NOMEM) {
				// Only a failing grow may cause it, only where the contract allows
				// success, only with the storage (nearly) full, and it changes nothing.
				cr_assert(fail, "E_NOMEM without a failing grow");
				cr_assert_eq(want, E_OK, "E_NOMEM where %d was due", want);
				cr_assert_gt(M.n + 2, M.cap);
				assert_unchanged(&M, &s);
				E.fail = false;
				op--;  // the model did not move: run a fresh op instead
				continue;
			}
			cr_assert_eq(rc, want, "op %d at page %d+%d: got %d want %d", r, p, n, rc, want);
			if (rc != E_OK || query)
				assert_unchanged(&M, &s);
			else
				free(s.r);
			if (op % 7 == 0)
				check_against_model(w);
		}
		check_against_model(w);
		E.fail = false;
		vmmap_destroy(&M);
		E.bytes = 0;
	}
}

Test(vmmap, random_ops_match_reference_model)
{
	random_ops(0x7f0000000000ull, 99);
}

Test(vmmap, random_ops_at_the_top_of_the_address_space)
{
	random_ops(0ull - (WIN + 1) * PG, 100);  // the window ends at 2^64 - PG
}

// The kernel charges a space for its records' storage from vmmap_cap_for's answer, and
// relies on the array never being much larger than its records: a quarter plus 8.
Test(vmmap, cap_for_predicts_growth_and_growth_stays_a_quarter)
{
	for (uint64_t p = 0; p < 2000; p += 2) {
		uint32_t want = vmmap_cap_for(&M, 1);
		cr_assert_eq(vmmap_insert(&M, VA(p), PG, OBJ(0), 0, PROT_ALL), E_OK);
		cr_assert_eq(M.cap, want, "page %lu", (unsigned long)p);
		cr_assert_leq(M.cap, M.n + M.n / 4 + 8);
		check_invariants(&M);
	}
	cr_assert_eq(vmmap_cap_for(&M, 0), M.cap);
	cr_assert_eq(vmmap_cap_for(&M, UINT32_MAX), M.cap); // would overflow: no growth promised
}

// With relax set, edits of a long array move it in chunks, calling relax between them,
// and the result is the same as one memmove (both directions: insert and remove).
static unsigned relaxes;
static void count_relax(void *ctx)
{
	(void)ctx;
	relaxes++;
}

Test(vmmap, long_moves_relax_between_chunks)
{
	vmmap_set_relax(&M, count_relax);
	const uint64_t n = 4000; // 192 KB of records: three chunks and a bit
	for (uint64_t p = 0; p < n; p++)
		cr_assert_eq(vmmap_insert(&M, VA(2 * p + 2), PG, OBJ(0), 0, PROT_ALL), E_OK);
	relaxes = 0;
	cr_assert_eq(vmmap_insert(&M, VA(0), PG, OBJ(1), 0, PROT_ALL), E_OK); // moves all n up
	cr_assert_geq(relaxes, 2);
	check_invariants(&M);
	cr_assert_eq(M.n, n + 1);
	for (uint64_t p = 0; p < n; p++)
		cr_assert_eq(M.r[p + 1].va, VA(2 * p + 2), "record %lu", (unsigned long)p);
	struct vm_range out[1];
	uint32_t got;
	relaxes = 0;
	cr_assert_eq(vmmap_remove(&M, VA(0), PG, out, &got, 1), E_OK); // moves all n down
	cr_assert_geq(relaxes, 2);
	check_invariants(&M);
	for (uint64_t p = 0; p < n; p++)
		cr_assert_eq(M.r[p].va, VA(2 * p + 2), "record %lu", (unsigned long)p);
}
