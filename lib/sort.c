// sort.c: heapsort of uint64_t keys (sort.h).
#include "lib/sort.h"

// Moves a[i] down until the heap a[0, n) holds again below i.
static void sift_down(uint64_t *a, size_t i, size_t n)
{
	uint64_t v = a[i];
	for (size_t c; (c = 2 * i + 1) < n; i = c) {
		if (c + 1 < n && a[c + 1] > a[c])
			c++;
		if (a[c] <= v)
			break;
		a[i] = a[c];
	}
	a[i] = v;
}

void sort_u64(uint64_t *a, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(a, i, n);
	while (n > 1) {
		uint64_t top = a[0];
		a[0] = a[--n];
		a[n] = top;
		sift_down(a, 0, n);
	}
}
