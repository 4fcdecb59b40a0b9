// memmap.h: turns the firmware's memory map into the list of usable, page-aligned
// physical ranges the frame pool is seeded from. Pure bookkeeping: it never touches
// physical memory, allocates nothing, and does not lock (the kernel calls it once at
// boot, or wraps it in its own spinlock).
#ifndef KERN_MEMMAP_H
#define KERN_MEMMAP_H
#include <stdint.h>
#include <stddef.h>

#define MMAP_USABLE 1u  // the only firmware type we hand out; all others are reserved

// One firmware map entry, as reported: may be unaligned, unsorted, overlapping,
// empty, or run past 2^64.
struct mmap_entry {
	uint64_t base, len;
	uint32_t type;  // MMAP_USABLE, or anything else = reserved
};

// A physical range [base, base+len).
struct mrange {
	uint64_t base, len;
};

// Builds the usable physical ranges into out: page-aligned, sorted, non-overlapping,
// not adjacent (touching ranges are merged), none empty. A page is reported only
// when usable entries (together) cover all of it and no byte of it is covered by a
// non-usable entry (reserved wins on overlap) or by an exclusion range (kernel image,
// boot modules, low memory). Entries and exclusions with len 0 are ignored; those
// whose end passes 2^64 are clipped there. The top page of the address space is
// never reported, so base+len never overflows for callers.
// Returns the number of ranges written, or E_RANGE if more than max_out are needed
// (out contents then unspecified; out may be NULL when max_out is 0).
// Cost is O(k * n^2) for n entries and k output ranges: fine for firmware maps.
int memmap_usable(const struct mmap_entry *in, size_t nin,
                  const struct mrange *excl, size_t nexcl,
                  struct mrange *out, size_t max_out);

// Sum of the lengths of r[0..n-1].
uint64_t memmap_total(const struct mrange *r, size_t n);

#endif
