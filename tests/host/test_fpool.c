// test_fpool.c: host unit tests for kern/fpool.c, built against libc with Criterion.
// Besides the API contracts, every test checks the structure's invariants
// (nfree = popcount, no bits past nframes, all words below hint are 0).
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/errors.h"
#include "kern/fpool.h"

#define GiB_FRAMES (1ull << 18)  // frames in 1 GiB

// A pool with heap storage, pre-filled with garbage so init must clear it.
static struct fpool make_pool(uint64_t nframes)
{
	size_t bytes = fpool_bitmap_bytes(nframes);
	uint64_t *bits = malloc(bytes ? bytes : 1);
	cr_assert_not_null(bits);
	memset(bits, 0xa5, bytes);
	struct fpool p;
	fpool_init(&p, bits, nframes);
	return p;
}

static void check_invariants(const struct fpool *p)
{
	uint64_t nw = fpool_bitmap_bytes(p->nframes) / 8, count = 0;
	cr_assert_leq(p->hint, nw, "hint %lu past %lu words", p->hint, nw);
	for (uint64_t w = 0; w < nw; w++) {
		count += (uint64_t)__builtin_popcountll(p->bits[w]);
		if (w < p->hint)
			cr_assert_eq(p->bits[w], 0, "word %lu below hint %lu not 0", w, p->hint);
	}
	cr_assert_eq(count, p->nfree, "nfree %lu but %lu bits set", p->nfree, count);
	if (p->nframes % 64)
		cr_assert_eq(p->bits[nw - 1] >> (p->nframes % 64), 0, "bits past nframes set");
}

// A snapshot of the whole pool, to show an error changed nothing.
struct snap {
	struct fpool p;
	uint64_t *bits;
};

static struct snap take_snap(const struct fpool *p)
{
	size_t bytes = fpool_bitmap_bytes(p->nframes);
	struct snap s = { *p, malloc(bytes ? bytes : 1) };
	memcpy(s.bits, p->bits, bytes);
	return s;
}

static void assert_unchanged(const struct fpool *p, struct snap *s)
{
	cr_assert_eq(memcmp(p, &s->p, sizeof *p), 0, "struct fpool changed");
	cr_assert_eq(memcmp(p->bits, s->bits, fpool_bitmap_bytes(p->nframes)), 0, "bitmap changed");
	free(s->bits);
}

// --- sizing and init ---

Test(fpool, bitmap_bytes_rounds_up_to_whole_words)
{
	cr_assert_eq(fpool_bitmap_bytes(0), 0);
	cr_assert_eq(fpool_bitmap_bytes(1), 8);
	cr_assert_eq(fpool_bitmap_bytes(64), 8);
	cr_assert_eq(fpool_bitmap_bytes(65), 16);
	cr_assert_eq(fpool_bitmap_bytes(16 * GiB_FRAMES), 16 * GiB_FRAMES / 8);
	cr_assert_eq(fpool_bitmap_bytes((1ull << 40) + 1), (1ull << 37) + 8);
}

Test(fpool, init_marks_every_frame_used)
{
	struct fpool p = make_pool(1000);
	cr_assert_eq(p.nframes, 1000);
	cr_assert_eq(p.nfree, 0);
	for (uint64_t f = 0; f < 1000; f++)
		cr_assert(!fpool_is_free(&p, f));
	check_invariants(&p);
	free(p.bits);
}

Test(fpool, empty_pool_alloc_fails)
{
	struct fpool p;
	fpool_init(&p, NULL, 0);
	uint64_t pfn = 77;
	cr_assert_eq(fpool_alloc(&p, &pfn), E_NOMEM);
	cr_assert_eq(pfn, 77);
	cr_assert_eq(fpool_add_range(&p, 0, 10), 0);
	cr_assert_eq(fpool_free(&p, 0), E_RANGE);
	cr_assert(!fpool_is_free(&p, 0));
}

// --- ranges ---

Test(fpool, add_range_counts_only_changed_frames)
{
	struct fpool p = make_pool(1000);
	cr_assert_eq(fpool_add_range(&p, 10, 100), 100);
	cr_assert_eq(fpool_add_range(&p, 50, 100), 40);  // 50..109 already free
	cr_assert_eq(fpool_add_range(&p, 10, 140), 0);
	cr_assert_eq(p.nfree, 140);
	cr_assert(!fpool_is_free(&p, 9));
	cr_assert(fpool_is_free(&p, 10));
	cr_assert(fpool_is_free(&p, 149));
	cr_assert(!fpool_is_free(&p, 150));
	check_invariants(&p);
	free(p.bits);
}

Test(fpool, reserve_range_counts_only_changed_frames)
{
	struct fpool p = make_pool(1000);
	fpool_add_range(&p, 0, 1000);
	cr_assert_eq(fpool_reserve_range(&p, 100, 200), 200);
	cr_assert_eq(fpool_reserve_range(&p, 50, 100), 50);  // 100..149 already used
	cr_assert_eq(fpool_reserve_range(&p, 60, 10), 0);
	cr_assert_eq(p.nfree, 750);
	cr_assert(fpool_is_free(&p, 49));
	cr_assert(!fpool_is_free(&p, 50));
	cr_assert(!fpool_is_free(&p, 299));
	cr_assert(fpool_is_free(&p, 300));
	check_invariants(&p);
	free(p.bits);
}

Test(fpool, ranges_across_word_boundaries)
{
	struct fpool p = make_pool(256);
	cr_assert_eq(fpool_add_range(&p, 63, 2), 2);     // straddles words 0 and 1
	cr_assert_eq(fpool_add_range(&p, 64, 64), 63);   // exactly word 1, 64 already free
	cr_assert_eq(fpool_add_range(&p, 0, 63), 63);    // word 0 minus its top bit
	cr_assert_eq(p.bits[0], ~0ull);
	cr_assert_eq(p.bits[1], ~0ull);
	cr_assert_eq(fpool_add_range(&p, 127, 129), 128); // word 2 and 3 whole, 127 already
	cr_assert_eq(p.nfree, 256);
	cr_assert_eq(fpool_reserve_range(&p, 1, 254), 254); // all but the two ends
	cr_assert_eq(p.bits[0], 1);
	cr_assert_eq(p.bits[3], 1ull << 63);
	check_invariants(&p);
	free(p.bits);
}

Test(fpool, ranges_are_clipped_at_the_end)
{
	struct fpool p = make_pool(100);  // last word only 36 bits long
	cr_assert_eq(fpool_add_range(&p, 90, 50), 10);
	cr_assert_eq(fpool_add_range(&p, 0, UINT64_MAX), 90);   // n huge
	cr_assert_eq(fpool_add_range(&p, 99, UINT64_MAX), 0);   // pfn + n overflows
	cr_assert_eq(p.nfree, 100);
	cr_assert_eq(p.bits[1] >> 36, 0, "bits past nframes must stay 0");
	cr_assert(fpool_is_free(&p, 99));
	cr_assert(!fpool_is_free(&p, 100));
	cr_assert_eq(fpool_reserve_range(&p, 99, UINT64_MAX), 1);
	cr_assert_eq(fpool_reserve_range(&p, 95, 1000), 4);
	cr_assert_eq(p.nfree, 95);
	check_invariants(&p);
	free(p.bits);
}

Test(fpool, ranges_outside_pool_or_empty_change_nothing)
{
	struct fpool p = make_pool(100);
	fpool_add_range(&p, 10, 10);
	struct snap s = take_snap(&p);
	cr_assert_eq(fpool_add_range(&p, 100, 5), 0);
	cr_assert_eq(fpool_add_range(&p, UINT64_MAX, UINT64_MAX), 0);
	cr_assert_eq(fpool_add_range(&p, 0, 0), 0);
	cr_assert_eq(fpool_add_range(&p, 50, 0), 0);
	cr_assert_eq(fpool_reserve_range(&p, 100, 5), 0);
	cr_assert_eq(fpool_reserve_range(&p, 12, 0), 0);
	cr_assert_eq(fpool_reserve_range(&p, 1ull << 60, 1), 0);
	assert_unchanged(&p, &s);
	free(p.bits);
}

Test(fpool, frames_above_4GiB)
{
	uint64_t n = 16 * GiB_FRAMES + 100;  // 16 GiB and a bit: pfns well past 2^20
	struct fpool p = make_pool(n);
	uint64_t lo = 4 * GiB_FRAMES + 3;    // first frame above 4 GiB, off a word boundary
	cr_assert_eq(fpool_add_range(&p, lo, 8 * GiB_FRAMES), 8 * GiB_FRAMES);
	cr_assert_eq(fpool_add_range(&p, n - 10, 1000), 10);
	cr_assert_eq(p.nfree, 8 * GiB_FRAMES + 10);
	uint64_t pfn;
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, lo);
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, lo + 1);
	cr_assert_eq(fpool_reserve_range(&p, lo, 8 * GiB_FRAMES - 1), 8 * GiB_FRAMES - 3);
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, lo + 8 * GiB_FRAMES - 1);
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, n - 10);
	cr_assert_eq(fpool_free(&p, lo + 5), E_OK);
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, lo + 5);
	cr_assert_eq(fpool_free(&p, n - 1 + 1), E_RANGE);
	check_invariants(&p);
	free(p.bits);
}

// --- alloc and free ---

Test(fpool, alloc_returns_lowest_free_frame)
{
	struct fpool p = make_pool(300);
	fpool_add_range(&p, 200, 3);
	fpool_add_range(&p, 70, 2);
	uint64_t want[] = { 70, 71, 200, 201, 202 }, pfn;
	for (size_t i = 0; i < 5; i++) {
		cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
		cr_assert_eq(pfn, want[i]);
		cr_assert(!fpool_is_free(&p, pfn));
		check_invariants(&p);
	}
	cr_assert_eq(p.nfree, 0);
	free(p.bits);
}

Test(fpool, free_below_hint_is_found_again)
{
	struct fpool p = make_pool(1024);
	fpool_add_range(&p, 0, 1024);
	uint64_t pfn;
	for (uint64_t i = 0; i < 900; i++)
		cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, 899);
	cr_assert_eq(fpool_free(&p, 3), E_OK);
	cr_assert_eq(fpool_free(&p, 700), E_OK);
	check_invariants(&p);
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, 3);
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, 700);
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, 900);
	free(p.bits);
}

Test(fpool, add_range_below_hint_is_found_again)
{
	struct fpool p = make_pool(1024);
	fpool_add_range(&p, 900, 1);
	uint64_t pfn;
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, 900);
	fpool_add_range(&p, 5, 2);
	check_invariants(&p);
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(pfn, 5);
	free(p.bits);
}

Test(fpool, alloc_when_exhausted_fails)
{
	struct fpool p = make_pool(130);
	fpool_add_range(&p, 0, 130);
	uint64_t pfn;
	for (uint64_t i = 0; i < 130; i++) {
		cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
		cr_assert_eq(pfn, i);
	}
	struct snap s = take_snap(&p);
	pfn = 12345;
	cr_assert_eq(fpool_alloc(&p, &pfn), E_NOMEM);
	cr_assert_eq(pfn, 12345, "pfn_out must be untouched");
	assert_unchanged(&p, &s);
	free(p.bits);
}

Test(fpool, free_out_of_range_fails)
{
	struct fpool p = make_pool(100);
	fpool_add_range(&p, 0, 50);
	struct snap s = take_snap(&p);
	cr_assert_eq(fpool_free(&p, 100), E_RANGE);
	cr_assert_eq(fpool_free(&p, 127), E_RANGE);  // inside the last word's storage
	cr_assert_eq(fpool_free(&p, UINT64_MAX), E_RANGE);
	assert_unchanged(&p, &s);
	free(p.bits);
}

Test(fpool, double_free_fails)
{
	struct fpool p = make_pool(100);
	fpool_add_range(&p, 0, 100);
	uint64_t pfn;
	cr_assert_eq(fpool_alloc(&p, &pfn), E_OK);
	cr_assert_eq(fpool_free(&p, pfn), E_OK);
	struct snap s = take_snap(&p);
	cr_assert_eq(fpool_free(&p, pfn), E_INVAL);
	cr_assert_eq(fpool_free(&p, 99), E_INVAL);  // never allocated, still free
	assert_unchanged(&p, &s);
	free(p.bits);
}

Test(fpool, is_free_out_of_range_is_false)
{
	struct fpool p = make_pool(64);
	fpool_add_range(&p, 0, 64);
	cr_assert(fpool_is_free(&p, 63));
	cr_assert(!fpool_is_free(&p, 64));
	cr_assert(!fpool_is_free(&p, UINT64_MAX));
	free(p.bits);
}

// --- randomized against a reference model ---

// One bool per frame; alloc is "lowest free", ranges flip and count one by one.
struct model {
	bool *free;
	uint64_t n, nfree;
};

static uint64_t model_range(struct model *m, uint64_t pfn, uint64_t n, bool set)
{
	uint64_t changed = 0;
	for (uint64_t f = pfn; f < m->n && f - pfn < n; f++) {
		if (m->free[f] != set) {
			m->free[f] = set;
			changed++;
		}
	}
	m->nfree = set ? m->nfree + changed : m->nfree - changed;
	return changed;
}

static void check_against_model(const struct fpool *p, const struct model *m)
{
	check_invariants(p);
	cr_assert_eq(p->nfree, m->nfree);
	for (uint64_t f = 0; f < m->n; f++)
		cr_assert_eq(fpool_is_free(p, f), m->free[f], "frame %lu differs", f);
}

Test(fpool, random_ops_match_reference_model)
{
	srand(1234);
	for (int round = 0; round < 20; round++) {
		uint64_t n = 1 + (uint64_t)rand() % 3000;
		struct fpool p = make_pool(n);
		struct model m = { calloc(n, 1), n, 0 };
		for (int op = 0; op < 4000; op++) {
			int r = rand() % 100;
			uint64_t pfn = (uint64_t)rand() % (n + 70), len = (uint64_t)rand() % 300, got;
			if (r < 40) {
				int rc = fpool_alloc(&p, &got);
				if (m.nfree == 0) {
					cr_assert_eq(rc, E_NOMEM);
					continue;
				}
				uint64_t want = 0;
				while (!m.free[want])
					want++;
				cr_assert_eq(rc, E_OK);
				cr_assert_eq(got, want);
				m.free[want] = false;
				m.nfree--;
			} else if (r < 80) {
				int want = pfn >= n ? E_RANGE : m.free[pfn] ? E_INVAL : E_OK;
				cr_assert_eq(fpool_free(&p, pfn), want, "free(%lu)", pfn);
				if (want == E_OK) {
					m.free[pfn] = true;
					m.nfree++;
				}
			} else if (r < 90) {
				cr_assert_eq(fpool_add_range(&p, pfn, len), model_range(&m, pfn, len, true));
			} else {
				cr_assert_eq(fpool_reserve_range(&p, pfn, len), model_range(&m, pfn, len, false));
			}
			if (op % 97 == 0)
				check_against_model(&p, &m);
		}
		check_against_model(&p, &m);
		free(m.free);
		free(p.bits);
	}
}
