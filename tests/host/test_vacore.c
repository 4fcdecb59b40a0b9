// test_vacore.c: host unit tests for user/lib/vacore.c, the bookkeeping of
// libpagoda's VA allocator, against a fake backend (the table is plain heap memory;
// grow checks it is asked for the next bytes in order, and can be made to fail).
// Every caller is taken as hostile: bad frees and bad allocs must change nothing.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/errors.h"
#include "user/lib/vacore.h"

#define BASE 0x100100000000ULL
#define TOP  0x7f0000000000ULL

struct fake {
	uintptr_t table, backed; // the table's start; bytes backed so far
	uint64_t calls;
	int fail;                // grow fails while set
};

static int fake_grow(void *ctx, uintptr_t at, uint64_t bytes)
{
	struct fake *f = ctx;
	cr_assert_eq(at, f->table + f->backed, "grow asked for %#lx, not the next bytes", (unsigned long)at);
	cr_assert(bytes && bytes % VA_PAGE == 0, "grow of %lu bytes", (unsigned long)bytes);
	if (f->fail)
		return E_NOMEM;
	f->backed += bytes;
	f->calls++;
	return E_OK;
}

static struct fake fk;

static struct va_core make(uint64_t base, uint64_t top, uint64_t table_bytes)
{
	void *t = malloc(table_bytes);
	cr_assert_not_null(t);
	memset(t, 0xa5, table_bytes); // garbage: the core must never read past what it wrote
	fk = (struct fake){ .table = (uintptr_t)t };
	struct va_core c;
	va_core_init(&c, base, top, (uintptr_t)t, table_bytes, fake_grow, &fk);
	return c;
}

static void done(struct va_core *c) { free(c->t); }

// The invariants: the table is sorted with no overlap, every slot is inside the
// spent part, live counts the slots that are not tombstones, the last slot is live.
static void check(const struct va_core *c)
{
	uint64_t live = 0, end = c->base;
	cr_assert_leq(c->n, c->cap);
	cr_assert_eq(c->cap * sizeof(struct va_slot), fk.backed);
	for (uint64_t i = 0; i < c->n; i++) {
		cr_assert_geq(c->t[i].start, end, "slot %lu overlaps the one before", (unsigned long)i);
		end = c->t[i].start + c->t[i].len;
		live += c->t[i].len != 0;
	}
	cr_assert_leq(end, c->next);
	cr_assert_eq(live, c->live);
	if (c->n)
		cr_assert_neq(c->t[c->n - 1].len, 0, "a tombstone at the end");
}

static uint64_t alloc_ok(struct va_core *c, uint64_t len, uint64_t align)
{
	uint64_t va = 0;
	int err = va_core_alloc(c, len, align, &va);
	cr_assert_eq(err, E_OK, "alloc(%lu, %lu): %d", (unsigned long)len, (unsigned long)align, err);
	return va;
}

// A copy of the core and its table, to show an error changed nothing.
struct snap {
	struct va_core c;
	struct va_slot *t;
};

static struct snap take(const struct va_core *c)
{
	struct snap s = { *c, malloc(c->n * sizeof *c->t + 1) };
	memcpy(s.t, c->t, c->n * sizeof *c->t);
	return s;
}

static void unchanged(const struct va_core *c, struct snap *s)
{
	cr_assert_eq(memcmp(c, &s->c, sizeof *c), 0, "struct va_core changed");
	cr_assert_eq(memcmp(c->t, s->t, c->n * sizeof *c->t), 0, "table changed");
	free(s->t);
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13, rnd_state ^= rnd_state >> 7, rnd_state ^= rnd_state << 17;
	return rnd_state;
}

Test(vacore, alloc_gives_aligned_fresh_ranges_in_order)
{
	struct va_core c = make(BASE, TOP, 1 << 20);
	uint64_t prev_end = BASE;
	static const uint64_t lens[] = { 1, 4096, 4097, 65536, 3 << 20, 12345 };
	static const uint64_t aligns[] = { 0, 1, 4096, 1 << 16, 1 << 21, 1ULL << 30 };
	for (int i = 0; i < 36; i++) {
		uint64_t len = lens[i % 6], align = aligns[i / 6];
		uint64_t va = alloc_ok(&c, len, align);
		cr_assert_geq(va, prev_end);
		cr_assert_eq(va % (align < VA_PAGE ? VA_PAGE : align), 0);
		prev_end = va + ((len + VA_PAGE - 1) & ~(VA_PAGE - 1));
		cr_assert_eq(va_core_len(&c, va), (int64_t)(prev_end - va));
		check(&c);
	}
	cr_assert_eq(c.live, 36);
	done(&c);
}

// A reference model (the live ranges in an array) against the core, over 10^5
// random alloc/free steps: every address is above every earlier range's end.
Test(vacore, never_reuses_over_many_cycles)
{
	struct va_core c = make(BASE, TOP, 1 << 22);
	enum { SLOTS = 2000, STEPS = 100000 };
	uint64_t va[SLOTS] = { 0 }, len[SLOTS] = { 0 }, high = BASE;
	for (int s = 0; s < STEPS; s++) {
		int i = (int)(rnd() % SLOTS);
		if (va[i]) {
			cr_assert_eq(va_core_free(&c, va[i], len[i], NULL), E_OK);
			cr_assert_eq(va_core_len(&c, va[i]), E_NOENT);
			va[i] = 0;
		} else {
			len[i] = 1 + rnd() % (8 * VA_PAGE);
			va[i] = alloc_ok(&c, len[i], (uint64_t)1 << (rnd() % 17));
			cr_assert_geq(va[i], high, "address %#lx handed out again", (unsigned long)va[i]);
			high = va[i] + ((len[i] + VA_PAGE - 1) & ~(VA_PAGE - 1));
		}
		if (s % 997 == 0)
			check(&c);
	}
	check(&c);
	for (int i = 0; i < SLOTS; i++)
		if (va[i])
			cr_assert_eq(va_core_free(&c, va[i], len[i], NULL), E_OK);
	cr_assert_eq(c.live, 0);
	cr_assert_eq(c.n, 0, "all freed: the tombstones at the end are dropped");
	cr_assert_gt(c.compactions, 0);
	done(&c);
}

Test(vacore, freeing_in_any_order_works)
{
	struct va_core c = make(BASE, TOP, 1 << 20);
	uint64_t va[300];
	for (int order = 0; order < 3; order++) {
		for (int i = 0; i < 300; i++)
			va[i] = alloc_ok(&c, VA_PAGE, 0);
		for (int k = 0; k < 300; k++) {
			int i = order == 0 ? k : order == 1 ? 299 - k : (k * 7) % 300; // 7 is prime to 300
			uint64_t rounded = 0;
			cr_assert_eq(va_core_free(&c, va[i], VA_PAGE, &rounded), E_OK, "order %d, %d", order, i);
			cr_assert_eq(rounded, VA_PAGE);
		}
		check(&c);
		cr_assert_eq(c.live, 0);
	}
	done(&c);
}

Test(vacore, bad_frees_fail_and_change_nothing)
{
	struct va_core c = make(BASE, TOP, 1 << 20);
	uint64_t a = alloc_ok(&c, 3 * VA_PAGE, 0), b = alloc_ok(&c, 5000, 0), d = alloc_ok(&c, VA_PAGE, 0);
	cr_assert_eq(va_core_free(&c, d, VA_PAGE, NULL), E_OK);
	struct {
		uint64_t va, len;
		int want;
	} bad[] = {
		{ a + VA_PAGE, VA_PAGE, E_NOENT },     // inside a range
		{ a, 2 * VA_PAGE, E_INVAL },           // too short
		{ a, 4 * VA_PAGE, E_INVAL },           // too long
		{ a, UINT64_MAX, E_INVAL },            // rounding would overflow
		{ a + 1, 3 * VA_PAGE, E_INVAL },       // not page-aligned
		{ a, 0, E_INVAL },                     // no length
		{ d, VA_PAGE, E_NOENT },               // freed already
		{ BASE - VA_PAGE, VA_PAGE, E_NOENT },  // below the region
		{ c.next + VA_PAGE, VA_PAGE, E_NOENT },// never handed out
		{ 0, VA_PAGE, E_NOENT },
		{ b, 4096, E_INVAL },                  // 5000 bytes round to two pages
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct snap s = take(&c);
		cr_assert_eq(va_core_free(&c, bad[i].va, bad[i].len, NULL), bad[i].want, "case %zu", i);
		unchanged(&c, &s);
	}
	cr_assert_eq(va_core_free(&c, b, 5000, NULL), E_OK); // as allocated
	cr_assert_eq(va_core_free(&c, a, 3 * VA_PAGE, NULL), E_OK);
	check(&c);
	done(&c);
}

Test(vacore, bad_allocs_fail_and_change_nothing)
{
	struct va_core c = make(BASE, TOP, 1 << 20);
	alloc_ok(&c, VA_PAGE, 0);
	struct {
		uint64_t len, align;
		int want;
	} bad[] = {
		{ 0, 0, E_INVAL },          { VA_PAGE, 3, E_INVAL },      { VA_PAGE, 1ULL << 47, E_INVAL },
		{ VA_PAGE, UINT64_MAX, E_INVAL }, { TOP - BASE + 1, 0, E_RANGE }, { UINT64_MAX, 0, E_RANGE },
		{ TOP - BASE, 0, E_NOVA },  // the whole region: one page of it is spent
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct snap s = take(&c);
		uint64_t out = 42;
		cr_assert_eq(va_core_alloc(&c, bad[i].len, bad[i].align, &out), bad[i].want, "case %zu", i);
		cr_assert_eq(out, 42);
		unchanged(&c, &s);
	}
	done(&c);
}

// Spent is spent: freeing everything gives no address back.
Test(vacore, exhaustion_is_final)
{
	struct va_core c = make(BASE, BASE + 16 * VA_PAGE, 1 << 16);
	uint64_t va[16], out;
	for (int i = 0; i < 16; i++)
		va[i] = alloc_ok(&c, VA_PAGE, 0);
	cr_assert_eq(va_core_alloc(&c, VA_PAGE, 0, &out), E_NOVA);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(va_core_free(&c, va[i], VA_PAGE, NULL), E_OK);
	cr_assert_eq(va_core_alloc(&c, VA_PAGE, 0, &out), E_NOVA);
	check(&c);
	done(&c);
}

Test(vacore, alignment_gap_that_does_not_fit_is_exhaustion)
{
	struct va_core c = make(BASE, BASE + 64 * VA_PAGE, 1 << 16);
	uint64_t out;
	alloc_ok(&c, VA_PAGE, 0);
	cr_assert_eq(va_core_alloc(&c, VA_PAGE, 64 * VA_PAGE, &out), E_NOVA); // next multiple is top
	alloc_ok(&c, 63 * VA_PAGE, 0);
	done(&c);
}

Test(vacore, shrink_hook_only_shrinks)
{
	struct va_core c = make(BASE, TOP, 1 << 16);
	alloc_ok(&c, VA_PAGE, 0);
	cr_assert_eq(va_core_shrink(&c, TOP - c.next + 1), E_INVAL);
	cr_assert_eq(c.top, TOP);
	cr_assert_eq(va_core_shrink(&c, 2 * VA_PAGE), E_OK);
	alloc_ok(&c, 2 * VA_PAGE, 0);
	uint64_t out;
	cr_assert_eq(va_core_alloc(&c, 1, 0, &out), E_NOVA);
	cr_assert_eq(va_core_shrink(&c, VA_PAGE), E_INVAL);
	cr_assert_eq(va_core_shrink(&c, 0), E_OK);
	done(&c);
}

Test(vacore, table_growth_failure_is_enomem_and_changes_nothing)
{
	struct va_core c = make(BASE, TOP, 1 << 20);
	uint64_t per_page = VA_PAGE / sizeof(struct va_slot), out = 0;
	for (uint64_t i = 0; i < per_page; i++)
		alloc_ok(&c, VA_PAGE, 0);
	fk.fail = 1;
	struct snap s = take(&c);
	cr_assert_eq(va_core_alloc(&c, VA_PAGE, 0, &out), E_NOMEM);
	unchanged(&c, &s);
	fk.fail = 0;
	alloc_ok(&c, VA_PAGE, 0);
	check(&c);
	done(&c);
}

// A full table of no tombstones is E_NOMEM; one free in the middle makes room.
Test(vacore, full_table_compacts_or_fails)
{
	struct va_core c = make(BASE, TOP, VA_PAGE);
	uint64_t va[256], out;
	for (int i = 0; i < 256; i++)
		va[i] = alloc_ok(&c, VA_PAGE, 0);
	cr_assert_eq(va_core_alloc(&c, VA_PAGE, 0, &out), E_NOMEM);
	cr_assert_eq(va_core_free(&c, va[100], VA_PAGE, NULL), E_OK);
	uint64_t n = alloc_ok(&c, VA_PAGE, 0);
	cr_assert_eq(c.compactions, 1);
	cr_assert_eq(c.live, 256);
	for (int i = 0; i < 256; i++)
		cr_assert_eq(va_core_len(&c, va[i]), i == 100 ? E_NOENT : (int64_t)VA_PAGE);
	cr_assert_eq(va_core_len(&c, n), (int64_t)VA_PAGE);
	check(&c);
	done(&c);
}

// With L live ranges under churn the table stays within 1.5 L slots (+ a page): at
// most 24 bytes a range.
static void bounded_at(uint64_t live)
{
	struct va_core c = make(BASE, TOP, 64 << 20);
	uint64_t *va = malloc(live * sizeof *va);
	for (uint64_t i = 0; i < live; i++)
		va[i] = alloc_ok(&c, VA_PAGE, 0);
	for (uint64_t k = 0; k < 3 * live; k++) {
		uint64_t i = rnd() % live;
		cr_assert_eq(va_core_free(&c, va[i], VA_PAGE, NULL), E_OK);
		va[i] = alloc_ok(&c, VA_PAGE, 0);
	}
	check(&c);
	cr_assert_eq(c.live, live);
	uint64_t limit = live * 24 + 2 * VA_PAGE + sizeof c;
	cr_assert_leq(va_core_bytes(&c), limit, "%lu bytes for %lu ranges", (unsigned long)va_core_bytes(&c),
		      (unsigned long)live);
	cr_assert_geq(va_core_bytes(&c), live * sizeof(struct va_slot));
	free(va);
	done(&c);
}

Test(vacore, bookkeeping_is_bounded_by_live_ranges_1k) { bounded_at(1000); }
Test(vacore, bookkeeping_is_bounded_by_live_ranges_1m) { bounded_at(1000000); }
