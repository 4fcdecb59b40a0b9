// test_heap.c: host unit tests for kern/heap.c, built against libc with Criterion.
// The page source is aligned_alloc (one block per grow call, or one contiguous
// arena when a test needs neighbouring runs) and can be told to fail; the corrupt
// callback records what it is told instead of panicking.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kern/heap.h"

#define PG 4096u
#define ARENA_PAGES 1024

// The test's page source and misuse log.
struct env {
	bool fail_grow;
	bool arena;           // hand out consecutive pages of one block while it lasts
	size_t grow_calls;
	void *blocks[8192];   // everything aligned_alloc returned, freed at teardown
	size_t nblocks;
	uint8_t *arena_base;
	size_t arena_used;
	size_t ncorrupt;
	const void *last_p;
	const char *last_what;
};

static struct env E;
static struct heap H;

static void *grow(void *ctx, size_t npages)
{
	struct env *e = ctx;
	e->grow_calls++;
	if (e->fail_grow)
		return NULL;
	if (e->arena && npages <= ARENA_PAGES - e->arena_used) {
		void *m = e->arena_base + e->arena_used * PG;
		e->arena_used += npages;
		return m;
	}
	// A test's page source holds at most 1 GiB: larger requests are refused here, as
	// a kernel's frame allocator would, not passed to the host allocator (ASan aborts).
	if (npages > (1UL << 30) / PG || e->nblocks == sizeof e->blocks / sizeof e->blocks[0])
		return NULL;
	void *m = aligned_alloc(PG, npages * PG);
	if (m) {
		memset(m, 0x11, npages * PG);  // not zero: the heap must not rely on it
		e->blocks[e->nblocks++] = m;
	}
	return m;
}

static void corrupt(void *ctx, const void *p, const char *what)
{
	struct env *e = ctx;
	e->ncorrupt++;
	e->last_p = p;
	e->last_what = what;
}

static void start(bool poison, bool arena)
{
	memset(&E, 0, sizeof E);
	E.arena = arena;
	if (arena) {
		E.arena_base = aligned_alloc(PG, (size_t)ARENA_PAGES * PG);
		cr_assert_not_null(E.arena_base);
		E.blocks[E.nblocks++] = E.arena_base;
	}
	heap_init(&H, grow, corrupt, &E, poison);
}

static void setup(void) { start(false, false); }
static void setup_poison(void) { start(true, false); }
static void setup_arena(void) { start(false, true); }
static void setup_arena_poison(void) { start(true, true); }

static void teardown(void)
{
	for (size_t i = 0; i < E.nblocks; i++)
		free(E.blocks[i]);
}

// What heap_in_use should grow by for an n-byte request.
static size_t rounded(size_t n)
{
	if (n <= HEAP_MAX_SMALL) {
		size_t c = HEAP_MIN_CLASS;
		while (c < n)
			c <<= 1;
		return c;
	}
	return (n + HEAP_RUN_HDR + PG - 1) / PG * PG;
}

static bool all_bytes(const void *p, size_t n, uint8_t b)
{
	const uint8_t *q = p;
	for (size_t i = 0; i < n; i++)
		if (q[i] != b)
			return false;
	return true;
}

static void expect_no_reports(void)
{
	cr_assert_eq(E.ncorrupt, 0, "unexpected report: %s", E.last_what ? E.last_what : "?");
}

// Asserts exactly one new report about p, whose text contains word.
static void expect_report(size_t before, const void *p, const char *word)
{
	cr_assert_eq(E.ncorrupt, before + 1, "want one report, got %zu", E.ncorrupt - before);
	cr_assert_eq(E.last_p, p, "report names %p, want %p", E.last_p, p);
	cr_assert_not_null(strstr(E.last_what, word), "report \"%s\" lacks \"%s\"", E.last_what, word);
}

// A byte copy of the heap's state, to show a failed call changed nothing.
static struct heap snap(void)
{
	struct heap s;
	memcpy(&s, &H, sizeof s);
	return s;
}

static void expect_unchanged(const struct heap *s)
{
	cr_assert_eq(memcmp(s, &H, sizeof H), 0, "struct heap changed");
}

// --- basic allocation ---

Test(heap, zero_byte_alloc_fails, .init = setup, .fini = teardown)
{
	cr_assert_null(heap_alloc(&H, 0));
	cr_assert_eq(heap_pages(&H), 0);
	cr_assert_eq(heap_in_use(&H), 0);
	heap_free(&H, NULL);  // no-op
	expect_no_reports();
}

Test(heap, small_sizes_round_to_their_class, .init = setup, .fini = teardown)
{
	size_t sizes[] = { 1, 15, 16, 17, 32, 33, 100, 128, 129, 255, 512, 700, 1024, 1025, 2047, 2048 };
	size_t want = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint8_t *p = heap_alloc(&H, sizes[i]);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % 16, 0, "size %zu: %p not 16-aligned", sizes[i], p);
		size_t c = rounded(sizes[i]);
		cr_assert_eq((uintptr_t)p % c, 0, "class objects are aligned to their size");
		memset(p, 0x77, c);  // the whole class slot is the caller's
		want += c;
		cr_assert_eq(heap_in_use(&H), want);
	}
	expect_no_reports();
}

Test(heap, class_page_holds_size_minus_one_objects_per_page, .init = setup, .fini = teardown)
{
	for (size_t c = 16; c <= 2048; c <<= 1) {
		size_t before = heap_pages(&H), per = PG / c - 1;
		uintptr_t first = (uintptr_t)heap_alloc(&H, c);
		for (size_t k = 1; k < per; k++) {
			uintptr_t p = (uintptr_t)heap_alloc(&H, c);
			cr_assert_eq(p & ~(uintptr_t)(PG - 1), first & ~(uintptr_t)(PG - 1), "class %zu, object %zu", c, k);
		}
		cr_assert_eq(heap_pages(&H), before + 1, "class %zu took more than one page", c);
		heap_alloc(&H, c);
		cr_assert_eq(heap_pages(&H), before + 2);
	}
	expect_no_reports();
}

Test(heap, large_requests_take_whole_pages, .init = setup, .fini = teardown)
{
	struct { size_t n, pages; } cases[] = {
		{ 2049, 1 }, { PG - HEAP_RUN_HDR, 1 }, { PG - HEAP_RUN_HDR + 1, 2 },
		{ 3 * PG, 4 }, { 100000, 25 },
	};
	size_t pages = 0, in_use = 0;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint8_t *p = heap_alloc(&H, cases[i].n);
		cr_assert_not_null(p);
		cr_assert_eq((uintptr_t)p % PG, HEAP_RUN_HDR, "pointer sits just after the run header");
		memset(p, 0x55, cases[i].n);
		pages += cases[i].pages;
		in_use += cases[i].pages * PG;
		cr_assert_eq(heap_pages(&H), pages, "n=%zu", cases[i].n);
		cr_assert_eq(heap_in_use(&H), in_use);
	}
	expect_no_reports();
}

Test(heap, huge_request_fails, .init = setup, .fini = teardown)
{
	cr_assert_null(heap_alloc(&H, SIZE_MAX));
	cr_assert_null(heap_alloc(&H, SIZE_MAX - HEAP_RUN_HDR - PG + 2));
	cr_assert_null(heap_alloc(&H, SIZE_MAX / 2));  // the page source says no
	cr_assert_eq(heap_pages(&H), 0);
	cr_assert_eq(heap_in_use(&H), 0);
	expect_no_reports();
}

Test(heap, alloc_when_grow_fails_fails, .init = setup, .fini = teardown)
{
	void *keep = heap_alloc(&H, 64);
	size_t pages = heap_pages(&H), in_use = heap_in_use(&H);
	E.fail_grow = true;
	struct heap s = snap();
	cr_assert_null(heap_alloc(&H, 100));   // class 128 has no page yet
	cr_assert_null(heap_alloc(&H, 5000));  // no free run either
	expect_unchanged(&s);
	cr_assert_eq(E.grow_calls, 3);
	cr_assert_not_null(heap_alloc(&H, 64), "a class with room needs no grow");
	in_use += 64;
	cr_assert_eq(heap_pages(&H), pages);
	cr_assert_eq(heap_in_use(&H), in_use);
	E.fail_grow = false;
	cr_assert_not_null(heap_alloc(&H, 100));
	cr_assert_not_null(heap_alloc(&H, 5000));
	cr_assert_eq(heap_pages(&H), pages + 1 + 2, "the failures left nothing half-built");
	heap_free(&H, keep);
	expect_no_reports();
}

Test(heap, unaligned_memory_from_grow_fails, .init = setup, .fini = teardown)
{
	E.arena = true;  // misuse the arena to hand out a block 16 bytes off a page
	E.arena_base = (uint8_t *)aligned_alloc(PG, 4 * PG) + 16;
	E.blocks[E.nblocks++] = E.arena_base - 16;
	size_t before = E.ncorrupt;
	cr_assert_null(heap_alloc(&H, 32));
	expect_report(before, E.arena_base, "unaligned");
	cr_assert_eq(heap_in_use(&H), 0);
}

// --- reuse ---

Test(heap, freed_small_object_is_reused, .init = setup, .fini = teardown)
{
	void *a = heap_alloc(&H, 40), *b = heap_alloc(&H, 40);
	size_t pages = heap_pages(&H);
	heap_free(&H, a);
	cr_assert_eq(heap_in_use(&H), 64);
	cr_assert_eq(heap_alloc(&H, 64), a);
	heap_free(&H, b);
	heap_free(&H, a);
	cr_assert_eq(heap_in_use(&H), 0);
	cr_assert_eq(heap_pages(&H), pages);
	expect_no_reports();
}

Test(heap, freed_run_is_reused, .init = setup, .fini = teardown)
{
	void *a = heap_alloc(&H, 3 * PG);
	size_t pages = heap_pages(&H);
	heap_free(&H, a);
	cr_assert_eq(heap_in_use(&H), 0);
	cr_assert_eq(heap_alloc(&H, 3 * PG + 10), a);
	cr_assert_eq(heap_pages(&H), pages);
	expect_no_reports();
}

Test(heap, bigger_free_run_is_split, .init = setup, .fini = teardown)
{
	uint8_t *a = heap_alloc(&H, 5 * PG);  // 6 pages
	size_t pages = heap_pages(&H);
	heap_free(&H, a);
	uint8_t *b = heap_alloc(&H, PG);      // 2 pages, from the top of the run
	uint8_t *c = heap_alloc(&H, 3000);    // 1 page
	uint8_t *d = heap_alloc(&H, 2 * PG);  // 3 pages: exactly what is left
	cr_assert_eq(heap_pages(&H), pages, "all three fit in the freed run");
	uint8_t *run = a - HEAP_RUN_HDR;
	cr_assert_eq(b, run + 4 * PG + HEAP_RUN_HDR);
	cr_assert_eq(c, run + 3 * PG + HEAP_RUN_HDR);
	cr_assert_eq(d, a);
	memset(b, 1, PG);
	memset(c, 2, 3000);
	memset(d, 3, 2 * PG);
	cr_assert(all_bytes(b, PG, 1) && all_bytes(c, 3000, 2) && all_bytes(d, 2 * PG, 3));
	cr_assert_eq(heap_in_use(&H), 6 * PG);
	heap_free(&H, c);
	heap_free(&H, b);
	heap_free(&H, d);
	cr_assert_eq(heap_in_use(&H), 0);
	expect_no_reports();
}

Test(heap, neighbouring_free_runs_merge, .init = setup_arena, .fini = teardown)
{
	void *a = heap_alloc(&H, PG), *b = heap_alloc(&H, PG), *c = heap_alloc(&H, PG);
	void *guard = heap_alloc(&H, PG);
	size_t pages = heap_pages(&H);
	cr_assert_eq(pages, 8);
	heap_free(&H, a);
	heap_free(&H, c);
	heap_free(&H, b);  // joins both neighbours
	void *big = heap_alloc(&H, 6 * PG - HEAP_RUN_HDR);
	cr_assert_eq(big, a, "the three 2-page runs became one 6-page run");
	cr_assert_eq(heap_pages(&H), pages);
	heap_free(&H, big);
	heap_free(&H, guard);
	cr_assert_eq(heap_alloc(&H, 8 * PG - HEAP_RUN_HDR), a, "all eight pages merged");
	cr_assert_eq(heap_pages(&H), pages);
	expect_no_reports();
}

Test(heap, class_pages_come_from_free_runs, .init = setup, .fini = teardown)
{
	void *a = heap_alloc(&H, 2 * PG);
	size_t pages = heap_pages(&H);
	heap_free(&H, a);
	for (size_t c = 16; c <= 256; c <<= 1)
		cr_assert_not_null(heap_alloc(&H, c));
	cr_assert_eq(heap_pages(&H), pages + 2, "three of five class pages came from the 3-page run");
	expect_no_reports();
}

// A fixed mix of small and large allocations freed in a scrambled order.
static void workload(void)
{
	void *live[300];
	size_t n = 0;
	unsigned x = 12345;
	for (int i = 0; i < 300; i++) {
		x = x * 1103515245u + 12345u;
		size_t sz = (x >> 8) % 7 == 0 ? 2049 + (x >> 12) % 30000 : 1 + (x >> 12) % 2048;
		live[n] = heap_alloc(&H, sz);
		cr_assert_not_null(live[n]);
		memset(live[n], 0x3c, sz);
		n++;
		if ((x >> 20) % 3 == 0) {  // free a random earlier one
			size_t k = (x >> 4) % n;
			heap_free(&H, live[k]);
			live[k] = live[--n];
		}
	}
	for (size_t i = 1; i < n; i += 2)  // odd slots first, then even: neither LIFO nor FIFO
		heap_free(&H, live[i]);
	for (size_t i = 0; i < n; i += 2)
		heap_free(&H, live[i]);
}

// The first run sizes the heap. A repeat starts with all that memory free, so first
// fit may place runs differently from the first run (which grew exactly when needed)
// and add a few pages once; a run that does not grow leaves the same free runs it
// found, so from then on the heap must stay flat.
static void repeated_workload_stays_flat(void)
{
	workload();
	cr_assert_eq(heap_in_use(&H), 0);
	size_t first = heap_pages(&H);
	cr_assert_gt(first, 0);
	workload();
	cr_assert_eq(heap_in_use(&H), 0);
	size_t pages = heap_pages(&H);
	cr_assert_leq(pages, first + first / 10, "second run grew from %zu to %zu pages", first, pages);
	for (int round = 0; round < 10; round++) {
		workload();
		cr_assert_eq(heap_in_use(&H), 0, "round %d", round);
		cr_assert_eq(heap_pages(&H), pages, "round %d grew from %zu to %zu pages",
		             round, pages, heap_pages(&H));
	}
	expect_no_reports();
}

// Small objects and same-sized runs: no placement choices, so no growth at all.
Test(heap, repeated_uniform_workload_never_grows, .init = setup, .fini = teardown)
{
	size_t pages = 0;
	for (int round = 0; round < 10; round++) {
		void *p[400];
		for (int i = 0; i < 400; i++)
			p[i] = heap_alloc(&H, i % 10 == 0 ? 3 * PG : 1 + (size_t)(i * 37) % 2048);
		for (int i = 0; i < 400; i += 3)
			heap_free(&H, p[i]);
		for (int i = 0; i < 400; i++)
			if (i % 3 != 0)
				heap_free(&H, p[i]);
		cr_assert_eq(heap_in_use(&H), 0, "round %d", round);
		if (round == 0)
			pages = heap_pages(&H);
		cr_assert_eq(heap_pages(&H), pages, "round %d", round);
	}
	expect_no_reports();
}

Test(heap, repeated_workload_reuses_memory, .init = setup, .fini = teardown)
{
	repeated_workload_stays_flat();
}

Test(heap, repeated_workload_reuses_memory_contiguous, .init = setup_arena_poison, .fini = teardown)
{
	repeated_workload_stays_flat();
}

// --- poison ---

Test(heap, poison_fills_fresh_and_freed_memory, .init = setup_poison, .fini = teardown)
{
	uint8_t *s = heap_alloc(&H, 100);
	uint8_t *l = heap_alloc(&H, 10000);
	cr_assert(all_bytes(s, 128, HEAP_POISON_FRESH));
	cr_assert(all_bytes(l, 3 * PG - HEAP_RUN_HDR, HEAP_POISON_FRESH));
	memset(s, 0, 100);
	memset(l, 0, 10000);
	heap_free(&H, s);
	heap_free(&H, l);
	// The heap keeps its link in the first 16 bytes of a free small object.
	cr_assert(all_bytes(s + 16, 128 - 16, HEAP_POISON_FREE));
	cr_assert(all_bytes(l, 3 * PG - HEAP_RUN_HDR, HEAP_POISON_FREE));
	cr_assert_eq(heap_alloc(&H, 128), s);
	cr_assert(all_bytes(s, 128, HEAP_POISON_FRESH));
	cr_assert_eq(heap_alloc(&H, 10000), l);
	cr_assert(all_bytes(l, 3 * PG - HEAP_RUN_HDR, HEAP_POISON_FRESH));
	expect_no_reports();
}

Test(heap, use_after_free_of_small_object_fails, .init = setup_poison, .fini = teardown)
{
	uint8_t *p = heap_alloc(&H, 48);
	heap_free(&H, p);
	p[40] = 1;  // a stale write
	size_t before = E.ncorrupt;
	cr_assert_eq(heap_alloc(&H, 64), p);
	expect_report(before, p, "use after free");
	cr_assert_eq(heap_in_use(&H), 64);
}

Test(heap, use_after_free_of_run_fails, .init = setup_poison, .fini = teardown)
{
	uint8_t *p = heap_alloc(&H, 3 * PG);
	heap_free(&H, p);
	p[2 * PG] = 1;
	size_t before = E.ncorrupt;
	cr_assert_eq(heap_alloc(&H, 3 * PG), p);
	expect_report(before, p - HEAP_RUN_HDR, "use after free");  // runs are named by their start
}

Test(heap, use_after_free_in_split_part_of_run_fails, .init = setup_poison, .fini = teardown)
{
	uint8_t *p = heap_alloc(&H, 3 * PG);  // 4 pages
	heap_free(&H, p);
	uint8_t *top = p - HEAP_RUN_HDR + 3 * PG;
	top[100] = 0;
	size_t before = E.ncorrupt;
	cr_assert_eq(heap_alloc(&H, 3000), top + HEAP_RUN_HDR);
	expect_report(before, top, "use after free");
	cr_assert_eq(heap_alloc(&H, 3000), top - PG + HEAP_RUN_HDR);
	cr_assert_eq(E.ncorrupt, before + 1, "untouched pages pass");
}

// --- misuse ---

static void double_free_small(void)
{
	void *a = heap_alloc(&H, 32), *b = heap_alloc(&H, 32);
	heap_free(&H, a);
	heap_free(&H, b);
	size_t before = E.ncorrupt;
	struct heap s = snap();
	heap_free(&H, a);
	expect_report(before, a, "double free");
	expect_unchanged(&s);
	void *x = heap_alloc(&H, 32), *y = heap_alloc(&H, 32), *z = heap_alloc(&H, 32);
	cr_assert(x != y && y != z && x != z, "the free list was not corrupted");
	cr_assert_eq(E.ncorrupt, before + 1);
}

Test(heap, double_free_of_small_object_fails, .init = setup, .fini = teardown)
{
	double_free_small();
}

Test(heap, double_free_of_small_object_with_poison_fails, .init = setup_poison, .fini = teardown)
{
	double_free_small();
}

Test(heap, double_free_of_run_fails, .init = setup, .fini = teardown)
{
	void *a = heap_alloc(&H, 3 * PG);
	heap_free(&H, a);
	size_t before = E.ncorrupt;
	struct heap s = snap();
	heap_free(&H, a);
	expect_report(before, a, "double free");
	expect_unchanged(&s);
	void *x = heap_alloc(&H, 3 * PG), *y = heap_alloc(&H, 3 * PG);
	cr_assert(x != y);
	cr_assert_eq(E.ncorrupt, before + 1);
}

Test(heap, double_free_of_merged_run_fails, .init = setup_arena_poison, .fini = teardown)
{
	void *a = heap_alloc(&H, PG), *b = heap_alloc(&H, PG);
	heap_alloc(&H, PG);  // guard
	heap_free(&H, a);
	heap_free(&H, b);    // merged into a's run: its header is gone
	size_t before = E.ncorrupt;
	heap_free(&H, b);
	expect_report(before, b, "bad pointer");
	cr_assert_eq(heap_alloc(&H, 4 * PG - HEAP_RUN_HDR), a, "merged run intact");
	cr_assert_eq(E.ncorrupt, before + 1);
}

Test(heap, free_of_misaligned_pointer_fails, .init = setup, .fini = teardown)
{
	uint8_t *p = heap_alloc(&H, 64);
	size_t before = E.ncorrupt;
	struct heap s = snap();
	heap_free(&H, p + 8);
	expect_report(before, p + 8, "bad pointer");
	heap_free(&H, p + 16);  // 16-aligned but inside a 64-byte object
	expect_report(before + 1, p + 16, "bad pointer");
	expect_unchanged(&s);
	heap_free(&H, p);
	cr_assert_eq(heap_in_use(&H), 0);
	cr_assert_eq(E.ncorrupt, before + 2);
}

Test(heap, free_of_class_page_header_fails, .init = setup, .fini = teardown)
{
	uint8_t *p = heap_alloc(&H, 256);
	uint8_t *page = (uint8_t *)((uintptr_t)p & ~(uintptr_t)(PG - 1));
	size_t before = E.ncorrupt;
	heap_free(&H, page);
	expect_report(before, page, "bad pointer");
	heap_free(&H, page + 16);
	expect_report(before + 1, page + 16, "bad pointer");
	cr_assert_eq(heap_in_use(&H), 256);
}

Test(heap, free_of_never_allocated_slot_fails, .init = setup, .fini = teardown)
{
	uint8_t *p = heap_alloc(&H, 128);
	size_t before = E.ncorrupt;
	heap_free(&H, p + 128);  // the next slot, not yet handed out
	expect_report(before, p + 128, "never allocated");
	cr_assert_eq(heap_alloc(&H, 128), p + 128, "the slot is still handed out normally");
	cr_assert_eq(E.ncorrupt, before + 1);
}

Test(heap, free_of_foreign_pointer_fails, .init = setup, .fini = teardown)
{
	uint8_t *foreign = aligned_alloc(PG, PG);
	memset(foreign, 0, PG);
	E.blocks[E.nblocks++] = foreign;
	heap_alloc(&H, 16);
	size_t before = E.ncorrupt, in_use = heap_in_use(&H);
	heap_free(&H, foreign + 32);
	expect_report(before, foreign + 32, "bad pointer");
	memset(foreign, 0x6b, PG);  // looks like freed memory
	heap_free(&H, foreign + 16);
	expect_report(before + 1, foreign + 16, "bad pointer");
	cr_assert_eq(heap_in_use(&H), in_use);
}

Test(heap, free_of_pointer_inside_run_fails, .init = setup, .fini = teardown)
{
	uint8_t *p = heap_alloc(&H, 3 * PG);
	memset(p, 0, 3 * PG);
	size_t before = E.ncorrupt;
	struct heap s = snap();
	heap_free(&H, p + 64);        // first page, wrong offset
	expect_report(before, p + 64, "bad pointer");
	heap_free(&H, p + 2 * PG);    // a later page of the run
	expect_report(before + 1, p + 2 * PG, "bad pointer");
	expect_unchanged(&s);
	cr_assert_eq(heap_in_use(&H), 4 * PG);
	heap_free(&H, p);
	cr_assert_eq(heap_in_use(&H), 0);
	cr_assert_eq(E.ncorrupt, before + 2);
}

Test(heap, forged_header_copy_fails, .init = setup, .fini = teardown)
{
	// A run header copied to another page does not pass: the check covers its address.
	uint8_t *p = heap_alloc(&H, 3 * PG);
	memcpy(p + PG - HEAP_RUN_HDR, p - HEAP_RUN_HDR, HEAP_RUN_HDR);
	size_t before = E.ncorrupt;
	heap_free(&H, p + PG);
	expect_report(before, p + PG, "bad pointer");
	cr_assert_eq(heap_in_use(&H), 4 * PG);
}

Test(heap, damaged_free_list_link_fails, .init = setup, .fini = teardown)
{
	uint8_t *a = heap_alloc(&H, 64), *b = heap_alloc(&H, 64);
	heap_free(&H, a);
	heap_free(&H, b);
	memset(b, 0x41, 16);  // stale write over the link, no poison to catch it
	size_t before = E.ncorrupt;
	cr_assert_eq(heap_alloc(&H, 64), b);
	expect_report(before, b, "free list corrupt");
	uint8_t *c = heap_alloc(&H, 64);  // the rest of the list is abandoned, not followed
	cr_assert_not_null(c);
	cr_assert(c != a && c != b);
	cr_assert_eq(heap_in_use(&H), 128);
	cr_assert_eq(E.ncorrupt, before + 1);
}

// --- randomized against a reference model ---

struct live {
	uint8_t *p;
	size_t n;
	uint8_t fill;
};

static void random_stress(unsigned seed)
{
	srand(seed);
	static struct live live[2000];
	size_t nlive = 0, want_in_use = 0;
	for (int op = 0; op < 20000; op++) {
		bool do_alloc = nlive == 0 || (nlive < 2000 && rand() % 100 < 55);
		if (do_alloc) {
			int r = rand() % 100;
			size_t n = r < 75 ? 1 + (size_t)rand() % 2048
			         : r < 97 ? 2049 + (size_t)rand() % 20000
			                  : 1 + (size_t)rand() % 100000;
			uint8_t *p = heap_alloc(&H, n);
			cr_assert_not_null(p);
			cr_assert_eq((uintptr_t)p % 16, 0);
			if (H.poison)
				cr_assert(all_bytes(p, n, HEAP_POISON_FRESH), "fresh memory not poisoned");
			uint8_t fill = (uint8_t)(op * 31 + 7);
			memset(p, fill, n);
			live[nlive++] = (struct live){ p, n, fill };
			want_in_use += rounded(n);
		} else {
			size_t k = (size_t)rand() % nlive;
			// Any overlap between two live blocks would have clobbered this one.
			cr_assert(all_bytes(live[k].p, live[k].n, live[k].fill), "block %p damaged", live[k].p);
			heap_free(&H, live[k].p);
			want_in_use -= rounded(live[k].n);
			live[k] = live[--nlive];
		}
		cr_assert_eq(heap_in_use(&H), want_in_use);
	}
	while (nlive) {
		nlive--;
		cr_assert(all_bytes(live[nlive].p, live[nlive].n, live[nlive].fill));
		heap_free(&H, live[nlive].p);
	}
	cr_assert_eq(heap_in_use(&H), 0);
	expect_no_reports();
}

Test(heap, random_ops_match_reference_model, .init = setup, .fini = teardown)
{
	random_stress(1);
}

Test(heap, random_ops_match_reference_model_poisoned, .init = setup_poison, .fini = teardown)
{
	random_stress(2);
}

Test(heap, random_ops_match_reference_model_contiguous, .init = setup_arena_poison, .fini = teardown)
{
	random_stress(3);  // outgrows the arena: mixed page sources must work too
}

// --- heap_cost: what a quota charges must be what the heap hands out ---

Test(heap, cost_is_what_in_use_grows_by, .init = setup, .fini = teardown)
{
	size_t sizes[] = { 1, 16, 17, 2048, 2049, 4096 - HEAP_RUN_HDR, 4096 - HEAP_RUN_HDR + 1, 40000 };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		size_t before = heap_in_use(&H);
		void *p = heap_alloc(&H, sizes[i]);
		cr_assert_not_null(p);
		cr_assert_eq(heap_in_use(&H) - before, heap_cost(sizes[i]), "size %zu", sizes[i]);
		heap_free(&H, p);
		cr_assert_eq(heap_in_use(&H), before);
	}
	cr_assert_eq(heap_cost(0), 0);
	cr_assert_eq(heap_cost(SIZE_MAX), SIZE_MAX); // refused, so never charged
	expect_no_reports();
}

// A caller that grows the heap itself (the kernel does, outside its lock) hands pages
// over with heap_add_pages; they serve small and large requests like grown ones.
Test(heap, added_pages_serve_requests_without_grow, .init = setup, .fini = teardown)
{
	E.fail_grow = true; // grow refuses from here on
	cr_assert_null(heap_alloc(&H, 100));
	cr_assert_eq(heap_grow_pages(100), 1);
	cr_assert_eq(heap_grow_pages(3 * HEAP_PAGE), 4); // with the run header
	cr_assert_eq(heap_grow_pages(SIZE_MAX), 0);
	cr_assert_eq(heap_grow_pages(0), 0); // kmalloc(0) must not grow the heap for nothing
	static _Alignas(4096) uint8_t pool[8 * 4096];
	heap_add_pages(&H, pool, 4);
	heap_add_pages(&H, pool + 4 * 4096, 4); // merges with the run below
	cr_assert_eq(heap_pages(&H), 8);
	void *big = heap_alloc(&H, 6 * HEAP_PAGE); // needs 7 pages: only the merged run has them
	cr_assert_not_null(big);
	void *small = heap_alloc(&H, 100);
	cr_assert_not_null(small);
	cr_assert_null(heap_alloc(&H, HEAP_PAGE)); // 8 pages are all in use now
	heap_free(&H, big);
	heap_free(&H, small);
	cr_assert_eq(heap_in_use(&H), 0);
	heap_add_pages(&H, pool + 1, 1); // unaligned: reported, not used
	cr_assert_eq(E.ncorrupt, 1);
	cr_assert_eq(heap_pages(&H), 8);
}
