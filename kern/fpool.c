// fpool.c: the bitmap of free physical frames. Pure bookkeeping over a
// caller-owned bitmap: word-at-a-time range updates for boot, a ctz scan from
// a low-water hint for alloc. Callers lock; see fpool.h for the invariants.
#include "kern/fpool.h"
#include "include/pagoda/errors.h"

#define WORD_BITS 64u

static uint64_t nwords(uint64_t nframes)
{
	// Written this way so nframes near 2^64 cannot overflow.
	return nframes / WORD_BITS + (nframes % WORD_BITS != 0);
}

// Bit count without __builtin_popcountll: without -mpopcnt gcc turns that into
// a call to libgcc's __popcountdi2, which the kernel does not link.
static uint64_t popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ull);
	x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
	return (x * 0x0101010101010101ull) >> 56;
}

// Mask of bits [lo, hi) within one word, 0 <= lo < hi <= 64.
static uint64_t span_mask(unsigned lo, unsigned hi)
{
	uint64_t m = ~0ull << lo;
	if (hi < WORD_BITS)
		m &= ~(~0ull << hi);
	return m;
}

// Sets (free) or clears (used) bits mask in word w; returns how many flipped.
static uint64_t apply_word(struct fpool *p, uint64_t w, uint64_t mask, bool set)
{
	uint64_t old = p->bits[w];
	uint64_t flip = set ? (mask & ~old) : (mask & old);
	p->bits[w] = old ^ flip;
	// Boot frees millions of frames; the all-or-nothing cases skip the bit count.
	if (flip == 0)
		return 0;
	if (flip == ~0ull)
		return WORD_BITS;
	return popcount64(flip);
}

// Applies set/clear to frames [pfn, pfn+n) clipped to nframes, a word at a time.
// Returns how many bits flipped and keeps nfree and hint in step.
static uint64_t apply_range(struct fpool *p, uint64_t pfn, uint64_t n, bool set)
{
	if (pfn >= p->nframes || n == 0)
		return 0;
	if (n > p->nframes - pfn)
		n = p->nframes - pfn;
	uint64_t last = pfn + n - 1;  // cannot overflow: last < nframes
	uint64_t w0 = pfn / WORD_BITS, w1 = last / WORD_BITS;
	uint64_t changed = 0;
	for (uint64_t w = w0; w <= w1; w++) {
		unsigned lo = w == w0 ? (unsigned)(pfn % WORD_BITS) : 0;
		unsigned hi = w == w1 ? (unsigned)(last % WORD_BITS) + 1 : WORD_BITS;
		changed += apply_word(p, w, span_mask(lo, hi), set);
	}
	if (set) {
		p->nfree += changed;
		// Newly free bits in w0 may sit below the hint; clearing never breaks it.
		if (changed && w0 < p->hint)
			p->hint = w0;
	} else {
		p->nfree -= changed;
	}
	return changed;
}

size_t fpool_bitmap_bytes(uint64_t nframes)
{
	return (size_t)nwords(nframes) * sizeof(uint64_t);
}

void fpool_init(struct fpool *p, uint64_t *bits, uint64_t nframes)
{
	uint64_t nw = nwords(nframes);
	for (uint64_t w = 0; w < nw; w++)
		bits[w] = 0;
	p->bits = bits;
	p->nframes = nframes;
	p->nfree = 0;
	// Every word is 0, so the hint may start past the end: nothing to scan.
	p->hint = nw;
}

uint64_t fpool_add_range(struct fpool *p, uint64_t pfn, uint64_t n)
{
	return apply_range(p, pfn, n, true);
}

uint64_t fpool_reserve_range(struct fpool *p, uint64_t pfn, uint64_t n)
{
	return apply_range(p, pfn, n, false);
}

int fpool_alloc(struct fpool *p, uint64_t *pfn_out)
{
	// Checking nfree first means a failed alloc never scans or moves the hint,
	// and a successful scan is guaranteed to find a bit at or after the hint.
	if (p->nfree == 0)
		return E_NOMEM;
	uint64_t w = p->hint;
	while (p->bits[w] == 0)
		w++;
	unsigned b = (unsigned)__builtin_ctzll(p->bits[w]);
	p->bits[w] &= ~(1ull << b);
	p->nfree--;
	// The word may still hold free bits, so the next search starts right here.
	p->hint = w;
	*pfn_out = w * WORD_BITS + b;
	return E_OK;
}

int fpool_free(struct fpool *p, uint64_t pfn)
{
	if (pfn >= p->nframes)
		return E_RANGE;
	uint64_t w = pfn / WORD_BITS, bit = 1ull << (pfn % WORD_BITS);
	if (p->bits[w] & bit)
		return E_INVAL;
	p->bits[w] |= bit;
	p->nfree++;
	if (w < p->hint)
		p->hint = w;
	return E_OK;
}

bool fpool_is_free(const struct fpool *p, uint64_t pfn)
{
	if (pfn >= p->nframes)
		return false;
	return (p->bits[pfn / WORD_BITS] >> (pfn % WORD_BITS)) & 1;
}
