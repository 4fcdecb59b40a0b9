// test_gather.c: host unit tests for kern/gather.c, built against libc with Criterion.
// The fake ops model a space loaded on a set of CPUs: each CPU caches translations
// of the pages a test maps, a flush drops the flushed range on every CPU, and a
// release counts the pages it frees that some CPU still caches (stale_frees): a gather
// that freed before, or without, the flush covering a piece is caught by that count.
#include <criterion/criterion.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/errors.h"
#include "kern/gather.h"

#define PG VM_PAGE
#define NCPU 4
#define NPAGE 256
#define VA(p) (0x400000ull + (uint64_t)(p) * PG)
#define PAGE(va) (((va) - 0x400000ull) / PG)

static int objs[4];

struct fake {
	bool cached[NCPU][NPAGE];   // CPU c may still use a translation of page p
	unsigned flushes, releases, roots, allocs, deallocs;
	unsigned table_frees;       // free_tables calls
	unsigned tables_freed_unflushed; // free_tables calls before any flush
	uint64_t last_tables;
	uint64_t released_pages;
	bool alloc_fails;
	bool root_freed_before_release;
	unsigned stale_frees;       // pages released while some CPU still cached them
	bool flush_skips;           // the negative control: flush acks without flushing
	uintptr_t last_start, last_end;
};
static struct fake F;

// A gather's flush: every CPU drops [start, end), as shootdown() makes them.
static void fake_flush(struct tlb_gather *g)
{
	F.flushes++;
	F.last_start = g->start;
	F.last_end = g->end;
	if (F.flush_skips)
		return;
	for (int c = 0; c < NCPU; c++)
		for (uintptr_t va = g->start; va < g->end; va += PG)
			F.cached[c][PAGE(va)] = false;
}

static void fake_release(struct tlb_gather *g, const struct vm_range *piece)
{
	(void)g;
	F.releases++;
	F.released_pages += piece->len / PG;
	if (F.roots)
		F.root_freed_before_release = true;
	for (uint64_t va = piece->va; va < piece->va + piece->len; va += PG) {
		bool stale = false;
		for (int c = 0; c < NCPU; c++)
			stale |= F.cached[c][PAGE(va)];
		F.stale_frees += stale;
	}
}

static void fake_free_root(struct tlb_gather *g, uint64_t root)
{
	(void)g;
	cr_assert_eq(root, 0x1000);
	F.roots++;
}

static void fake_free_tables(struct tlb_gather *g, uint64_t list)
{
	F.table_frees++;
	F.last_tables = list;
	if (g->mode == GATHER_FLUSH && (F.flushes == 0 || F.flush_skips))
		F.tables_freed_unflushed++;
	if (F.roots)
		F.root_freed_before_release = true;
}

static void *fake_alloc(size_t bytes)
{
	if (F.alloc_fails)
		return NULL;
	F.allocs++;
	return malloc(bytes);
}

static void fake_dealloc(void *p)
{
	F.deallocs++;
	free(p);
}

static const struct gather_ops ops = { fake_flush, fake_release, fake_free_root, fake_free_tables, fake_alloc,
				       fake_dealloc };

// The kernel's panic, for KASSERT in gather.c: the tests of our own bugs expect SIGABRT.
void panic(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

static void setup(void) { memset(&F, 0, sizeof F); }
static void no_stale_frees(void) { cr_assert_eq(F.stale_frees, 0, "a page was freed while a CPU could still use it"); }

// Every CPU caches pages [p, p + n) (the space ran there with them mapped).
static void cache(unsigned p, unsigned n)
{
	for (int c = 0; c < NCPU; c++)
		for (unsigned i = p; i < p + n; i++)
			F.cached[c][i] = true;
}

static struct vm_range piece(unsigned p, unsigned n)
{
	struct vm_range r = { .va = VA(p), .len = n * PG, .obj = &objs[p % 4], .maxprot = 3, .state = VMR_MAPPED };
	return r;
}

TestSuite(gather, .init = setup);

Test(gather, unmap_releases_only_after_the_flush)
{
	struct tlb_gather g;
	cache(0, 16);
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	gather_add_range(&g, VA(0), 16);
	struct vm_range a = piece(0, 10), b = piece(10, 6);
	gather_defer_unref(&g, &a);
	gather_defer_unref(&g, &b);
	cr_assert_eq(F.releases, 0, "nothing goes before finish");
	cr_assert_eq(F.flushes, 0);
	gather_finish(&g);
	no_stale_frees();
	cr_assert_eq(F.flushes, 1, "one flush for the whole change");
	cr_assert_eq(F.releases, 2);
	cr_assert_eq(F.released_pages, 16);
	cr_assert_eq(F.allocs, 0, "no heap on the common path");
}

Test(gather, ranges_merge_into_one_flush_of_their_union)
{
	struct tlb_gather g;
	cache(0, 40);
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	gather_add_range(&g, VA(20), 4);
	gather_add_range(&g, VA(2), 3);
	gather_add_range(&g, VA(30), 0); // empty: no change
	struct vm_range a = piece(2, 3), b = piece(20, 4);
	gather_defer_unref(&g, &a);
	gather_defer_unref(&g, &b);
	gather_finish(&g);
	no_stale_frees();
	cr_assert_eq(F.flushes, 1);
	cr_assert_eq(F.last_start, VA(2));
	cr_assert_eq(F.last_end, VA(24));
}

Test(gather, detached_tables_go_after_the_flush_and_the_releases)
{
	struct tlb_gather g;
	cache(0, 4);
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	gather_add_range(&g, VA(0), 4);
	struct vm_range a = piece(0, 4);
	gather_defer_unref(&g, &a);
	*gather_tables(&g) = 0x5000; // what mmu_unlink_empty would have put there
	cr_assert_eq(F.table_frees, 0);
	gather_finish(&g);
	no_stale_frees();
	cr_assert_eq(F.table_frees, 1);
	cr_assert_eq(F.last_tables, 0x5000);
	cr_assert_eq(F.tables_freed_unflushed, 0);
}

Test(gather, an_early_flush_takes_the_tables_with_it)
{
	struct tlb_gather g;
	cache(0, GATHER_PIECES_ON_STACK);
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	gather_add_range(&g, VA(0), GATHER_PIECES_ON_STACK);
	*gather_tables(&g) = 0x6000;
	for (unsigned i = 0; i < GATHER_PIECES_ON_STACK; i++) {
		struct vm_range p = piece(i, 1);
		gather_defer_unref(&g, &p); // the last one fills the batch: an early flush
	}
	cr_assert_eq(F.flushes, 1);
	cr_assert_eq(F.table_frees, 1, "freed with the batch, after its flush");
	gather_finish(&g);
	cr_assert_eq(F.table_frees, 1, "once");
	cr_assert_eq(F.tables_freed_unflushed, 0);
}

Test(gather, tables_without_a_range_are_a_bug, .signal = SIGABRT)
{
	struct tlb_gather g;
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	*gather_tables(&g) = 0x5000; // nothing flushed would cover them
	gather_finish(&g);
}

Test(gather, quiesced_tables_go_before_the_root)
{
	struct tlb_gather g;
	gather_init(&g, &ops, NULL, NULL, GATHER_QUIESCED);
	*gather_tables(&g) = 0x7000;
	gather_defer_root(&g, 0x1000);
	gather_finish(&g);
	cr_assert_eq(F.table_frees, 1);
	cr_assert_eq(F.roots, 1);
	cr_assert(!F.root_freed_before_release);
}

// What one flush request carries: scattered ranges apart, touching ones merged, and
// past GATHER_RANGES their union (the shootdown then flushes pages, or everything).
Test(gather, scattered_ranges_stay_apart_until_too_many)
{
	struct tlb_gather g;
	const struct tlb_range *r;
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	cr_assert_eq(gather_flush_ranges(&g, &r), 0);
	gather_add_range(&g, VA(40), 1);
	gather_add_range(&g, VA(2), 2);
	gather_add_range(&g, VA(4), 1);   // continues [2, 4): merged
	gather_add_range(&g, VA(100), 3);
	gather_add_range(&g, VA(101), 1); // inside [100, 103)
	cr_assert_eq(gather_flush_ranges(&g, &r), 3);
	cr_assert(r[0].va == VA(40) && r[0].npages == 1);
	cr_assert(r[1].va == VA(2) && r[1].npages == 3);
	cr_assert(r[2].va == VA(100) && r[2].npages == 3);
	for (unsigned i = 0; i < GATHER_RANGES; i++)
		gather_add_range(&g, VA(120 + 2 * i), 1);
	cr_assert_eq(gather_flush_ranges(&g, &r), 1, "too many apart: one, their union");
	cr_assert(r[0].va == VA(2) && r[0].npages == 120 + 2 * (GATHER_RANGES - 1) + 1 - 2);
	gather_finish(&g);
	cr_assert_eq(F.flushes, 1);
}

Test(gather, flush_gather_without_a_range_flushes_nothing)
{
	// protect that only raises rights: PTEs edited, nothing added, nothing to flush.
	struct tlb_gather g;
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	gather_finish(&g);
	no_stale_frees();
	cr_assert_eq(F.flushes, 0);
	cr_assert_eq(F.releases, 0);
}

Test(gather, bulk_slots_fill_the_stack_then_reserve_moves_to_the_heap)
{
	struct tlb_gather g;
	unsigned n = GATHER_PIECES_ON_STACK * 3;
	cache(0, n);
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	uint32_t room;
	gather_slots(&g, &room);
	cr_assert_eq(room, GATHER_PIECES_ON_STACK);
	cr_assert_eq(gather_reserve(&g, GATHER_PIECES_ON_STACK), E_OK);
	cr_assert_eq(F.allocs, 0, "what fits on the stack needs no heap");
	cr_assert_eq(gather_reserve(&g, n), E_OK);
	cr_assert_eq(F.allocs, 1);
	struct vm_range *s = gather_slots(&g, &room);
	cr_assert_geq(room, n);
	for (unsigned i = 0; i < n; i++)
		s[i] = piece(i, 1);
	gather_add_range(&g, VA(0), n);
	gather_commit(&g, n);
	gather_finish(&g);
	no_stale_frees();
	cr_assert_eq(F.flushes, 1, "reserved room: no early flush");
	cr_assert_eq(F.releases, n);
	cr_assert_eq(F.deallocs, 1, "finish frees the heap storage");
}

Test(gather, failed_reserve_changes_nothing_fails)
{
	struct tlb_gather g;
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	struct vm_range a = piece(0, 1);
	gather_defer_unref(&g, &a);
	F.alloc_fails = true;
	cr_assert_eq(gather_reserve(&g, GATHER_PIECES_ON_STACK * 2), E_NOMEM);
	uint32_t room;
	struct vm_range *s = gather_slots(&g, &room);
	cr_assert_eq(room, GATHER_PIECES_ON_STACK - 1);
	cr_assert_eq(s, g.stack + 1);
	cr_assert_eq(g.npieces, 1);
	gather_add_range(&g, VA(0), 1);
	gather_finish(&g);
	no_stale_frees();
	cr_assert_eq(F.releases, 1);
	cr_assert_eq(F.deallocs, 0);
}

Test(gather, overflow_flushes_early_then_releases_and_flushes_the_rest_at_finish)
{
	struct tlb_gather g;
	unsigned n = GATHER_PIECES_ON_STACK + 3;
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	// Like a walk that clears one page at a time: range first, then its piece.
	for (unsigned i = 0; i < n; i++) {
		cache(i, 1);
		gather_add_range(&g, VA(i), 1);
		struct vm_range p = piece(i, 1);
		gather_defer_unref(&g, &p);
	}
	cr_assert_eq(F.flushes, 1, "the full batch was flushed before it was released");
	cr_assert_eq(F.releases, GATHER_PIECES_ON_STACK);
	cr_assert_eq(F.stale_frees, 0);
	cr_assert_eq(F.allocs, 0, "never allocates on its own");
	gather_finish(&g);
	no_stale_frees();
	cr_assert_eq(F.flushes, 2);
	cr_assert_eq(F.last_start, VA(GATHER_PIECES_ON_STACK), "the second flush covers only what came after the first");
	cr_assert_eq(F.last_end, VA(n));
	cr_assert_eq(F.releases, n);
}

Test(gather, quiesced_gather_releases_without_a_flush)
{
	// Lazy reclaim and teardown: nothing is cached any more (the epoch passed).
	struct tlb_gather g;
	unsigned n = GATHER_PIECES_ON_STACK * 2 + 1;
	gather_init(&g, &ops, NULL, NULL, GATHER_QUIESCED);
	for (unsigned i = 0; i < n; i++) {
		struct vm_range p = piece(i, 1);
		gather_defer_unref(&g, &p);
	}
	gather_defer_root(&g, 0x1000);
	cr_assert_eq(F.roots, 0);
	gather_finish(&g);
	no_stale_frees();
	cr_assert_eq(F.flushes, 0);
	cr_assert_eq(F.releases, n);
	cr_assert_eq(F.roots, 1);
	cr_assert(!F.root_freed_before_release, "tables go after the pieces");
	cr_assert_eq(F.allocs, 0, "an unbounded teardown needs no heap");
}

// The checker itself: with a flush that acks without flushing (the negative-control
// kernel's), every released page is still cached somewhere and is counted.
Test(gather_control, skipped_flush_is_seen_as_stale_frees_fails, .init = setup)
{
	struct tlb_gather g;
	cache(0, 5);
	F.flush_skips = true;
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	gather_add_range(&g, VA(0), 5);
	struct vm_range p = piece(0, 5);
	gather_defer_unref(&g, &p);
	gather_finish(&g);
	cr_assert_eq(F.flushes, 1);
	cr_assert_eq(F.stale_frees, 5);
}

// Deferring a piece on a flushing gather before its range is our bug: it would be
// released unflushed, so gather.c stops.
Test(gather, piece_deferred_without_its_range_fails, .signal = SIGABRT)
{
	struct tlb_gather g;
	cache(0, 1);
	gather_init(&g, &ops, NULL, NULL, GATHER_FLUSH);
	struct vm_range p = piece(0, 1);
	gather_defer_unref(&g, &p);
	gather_finish(&g);
}

Test(gather, adding_a_range_to_a_quiesced_gather_fails, .signal = SIGABRT)
{
	struct tlb_gather g;
	gather_init(&g, &ops, NULL, NULL, GATHER_QUIESCED);
	gather_add_range(&g, VA(0), 1);
}
