// test_sort.c: host unit tests for lib/sort.c against libc's qsort.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/sort.h"

static int cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void check(uint64_t *a, size_t n)
{
	uint64_t *want = malloc((n + 1) * sizeof *want);
	memcpy(want, a, n * sizeof *a);
	qsort(want, n, sizeof *want, cmp);
	sort_u64(a, n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(a[i], want[i], "n=%zu: a[%zu] = %lu, want %lu", n, i, a[i], want[i]);
	free(want);
}

Test(sort, empty_and_one)
{
	uint64_t a[1] = { 7 };
	sort_u64(a, 0);
	sort_u64(a, 1);
	cr_assert_eq(a[0], 7);
}

Test(sort, every_order_of_small_arrays_with_duplicates)
{
	uint64_t a[64];
	for (size_t n = 2; n <= 64; n++)
		for (unsigned seed = 0; seed < 50; seed++) {
			srand(seed * 1000 + (unsigned)n);
			for (size_t i = 0; i < n; i++)
				a[i] = (uint64_t)(rand() % 8) << (rand() % 60);
			check(a, n);
		}
}

Test(sort, sorted_reversed_and_extremes)
{
	enum { N = 4096 };
	static uint64_t a[N];
	for (size_t i = 0; i < N; i++)
		a[i] = i;
	check(a, N);
	for (size_t i = 0; i < N; i++)
		a[i] = N - i;
	check(a, N);
	for (size_t i = 0; i < N; i++)
		a[i] = i % 2 ? UINT64_MAX : 0;
	check(a, N);
}
