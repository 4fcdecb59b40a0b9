// sort.h: an in-place sort of 64-bit keys, shared by the kernel and libpagoda.
// Heapsort: O(n log n) in the worst case and no memory beyond the array, so a
// caller's vector cannot make the kernel slow or allocate (mapv sorts its entries'
// start addresses to find overlaps).
#ifndef LIB_SORT_H
#define LIB_SORT_H
#include <stddef.h>
#include <stdint.h>

void sort_u64(uint64_t *a, size_t n); // ascending

#endif
