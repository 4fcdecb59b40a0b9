// fpool.h: the bitmap of free physical frames (one bit per 4 KiB frame, 1 = free).
// It owns only the bookkeeping: it never touches the frames themselves, and the
// bitmap's storage belongs to the caller. Nothing here locks: the kernel wraps
// every call in its own spinlock.
#ifndef KERN_FPOOL_H
#define KERN_FPOOL_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

// Invariants:
//  - bits holds fpool_bitmap_bytes(nframes) bytes; bit (pfn % 64) of bits[pfn / 64]
//    is 1 exactly when frame pfn is free.
//  - bits past nframes in the last word are always 0, so whole-word scans never
//    hand out a frame that does not exist.
//  - nfree is the number of 1 bits.
//  - hint <= number of words, and every word below hint is 0: alloc starts there
//    and never rescans the exhausted low words.
struct fpool {
	uint64_t *bits;    // 1 bit per frame, 1 = free; storage owned by the caller
	uint64_t nframes;  // frames covered: pfn 0 .. nframes-1
	uint64_t nfree;    // number of 1 bits
	uint64_t hint;     // word index where the next search starts (all words below it are 0)
};

// Bytes of bitmap storage needed to cover nframes frames (whole uint64_t words).
size_t fpool_bitmap_bytes(uint64_t nframes);

// Sets up p over bits (fpool_bitmap_bytes(nframes) bytes, may be NULL when
// nframes is 0) with every frame used; the caller then frees what the memory map allows.
void fpool_init(struct fpool *p, uint64_t *bits, uint64_t nframes);

// Marks frames pfn .. pfn+n-1 free, clipped to nframes (n == 0 or pfn >= nframes
// does nothing). Returns how many frames changed from used to free.
uint64_t fpool_add_range(struct fpool *p, uint64_t pfn, uint64_t n);

// Marks frames pfn .. pfn+n-1 used, clipped to nframes. Returns how many frames
// changed from free to used.
uint64_t fpool_reserve_range(struct fpool *p, uint64_t pfn, uint64_t n);

// Takes the lowest free frame and stores its number in *pfn_out.
// Returns E_OK, or E_NOMEM when no frame is free (nothing changed, *pfn_out untouched).
int fpool_alloc(struct fpool *p, uint64_t *pfn_out);

// Returns frame pfn to the pool. Returns E_OK; E_RANGE if pfn >= nframes;
// E_INVAL if the frame is already free (a double free). Nothing changes on error.
int fpool_free(struct fpool *p, uint64_t pfn);

// True when frame pfn is free; false when used or pfn >= nframes.
bool fpool_is_free(const struct fpool *p, uint64_t pfn);

#endif
