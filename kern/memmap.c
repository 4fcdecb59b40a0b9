// memmap.c: sanitises the firmware memory map into usable page ranges.
// Rather than build the map in a working array and subtract from it (where a
// split could overflow the array before later subtractions shrink it again), it
// sweeps upwards and emits each final range once: E_RANGE means out truly is too small.
#include <stdbool.h>

#include "kern/memmap.h"
#include "include/pagoda/errors.h"

#define PAGE 4096ull
#define TOP UINT64_MAX  // exclusive ends are clipped here: byte 2^64-1 is never usable

// The inputs, viewed as two sets of byte ranges: the usable set (usable entries)
// and the bad set (every other entry plus the exclusions).
struct sources {
	const struct mmap_entry *in;
	size_t nin;
	const struct mrange *excl;
	size_t nexcl;
};

// A byte range [lo, hi) with lo < hi.
struct span {
	uint64_t lo, hi;
};

// Converts base/len into a span, clipping an end past 2^64. False when empty.
static bool make_span(uint64_t base, uint64_t len, struct span *s)
{
	if (len == 0 || base >= TOP)
		return false;
	s->lo = base;
	s->hi = len > TOP - base ? TOP : base + len;
	return true;
}

static size_t source_count(const struct sources *src, bool usable)
{
	return usable ? src->nin : src->nin + src->nexcl;
}

// Fetches member i of the usable or bad set. False when i is not a member
// (wrong type, or empty), so callers simply skip it.
static bool source_span(const struct sources *src, bool usable, size_t i, struct span *s)
{
	if (i < src->nin) {
		const struct mmap_entry *e = &src->in[i];
		if ((e->type == MMAP_USABLE) != usable)
			return false;
		return make_span(e->base, e->len, s);
	}
	const struct mrange *x = &src->excl[i - src->nin];
	return make_span(x->base, x->len, s);
}

// Finds the lowest connected piece of (set ∩ [x, TOP)): its start is the lowest
// covered byte at or above x, and its end is grown over every member that
// overlaps or touches it until nothing more joins. False when nothing lies above x.
// Without scratch space this rescans the members; n is tiny, so that is cheap.
static bool next_block(const struct sources *src, bool usable, uint64_t x, struct span *out)
{
	size_t n = source_count(src, usable);
	struct span s;
	bool found = false;
	uint64_t lo = TOP;
	for (size_t i = 0; i < n; i++) {
		if (!source_span(src, usable, i, &s) || s.hi <= x)
			continue;
		uint64_t start = s.lo > x ? s.lo : x;
		if (start < lo)
			lo = start;
		found = true;
	}
	if (!found)
		return false;
	uint64_t hi = lo;
	bool grew;
	do {
		grew = false;
		for (size_t i = 0; i < n; i++) {
			if (source_span(src, usable, i, &s) && s.lo <= hi && s.hi > hi) {
				hi = s.hi;
				grew = true;
			}
		}
	} while (grew);
	out->lo = lo;
	out->hi = hi;
	return true;
}

static uint64_t page_down(uint64_t a)
{
	return a & ~(PAGE - 1);
}

// Appends [lo, hi) to out. False when out is full.
static bool emit(struct mrange *out, size_t max_out, size_t *n, uint64_t lo, uint64_t hi)
{
	if (*n == max_out)
		return false;
	out[*n].base = lo;
	out[*n].len = hi - lo;
	(*n)++;
	return true;
}

// Emits the whole pages of usable block [lo, hi) that no bad byte touches.
// lo and hi are page-aligned. Bad blocks are visited in ascending order, so each
// emitted piece is final and is separated from the next by at least one bad page.
static bool carve(const struct sources *src, uint64_t lo, uint64_t hi,
                  struct mrange *out, size_t max_out, size_t *n)
{
	struct span bad;
	while (lo < hi) {
		// A bad block may start mid-page: the whole page is lost.
		if (!next_block(src, false, lo, &bad) || page_down(bad.lo) >= hi)
			return emit(out, max_out, n, lo, hi);
		uint64_t cut = page_down(bad.lo);  // >= lo, since lo is page-aligned
		if (cut > lo && !emit(out, max_out, n, lo, cut))
			return false;
		// Likewise the page holding the bad block's last byte is lost.
		if (bad.hi > hi - 1)
			return true;
		lo = page_down(bad.hi + PAGE - 1);
	}
	return true;
}

int memmap_usable(const struct mmap_entry *in, size_t nin,
                  const struct mrange *excl, size_t nexcl,
                  struct mrange *out, size_t max_out)
{
	const struct sources src = { in, nin, excl, nexcl };
	size_t n = 0;
	struct span u;
	// Usable blocks are maximal, so the next one starts above this one's end and
	// rounding inwards cannot make two of them touch.
	for (uint64_t x = 0; next_block(&src, true, x, &u); x = u.hi) {
		if (u.lo > TOP - (PAGE - 1))
			break;  // starts inside the top page, which is never reported
		uint64_t lo = page_down(u.lo + PAGE - 1), hi = page_down(u.hi);
		if (lo < hi && !carve(&src, lo, hi, out, max_out, &n))
			return E_RANGE;
	}
	return (int)n;
}

uint64_t memmap_total(const struct mrange *r, size_t n)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < n; i++)
		sum += r[i].len;
	return sum;
}
