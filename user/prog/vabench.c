// vabench.c: libpagoda's VA allocator and malloc (make bench; docs/memory.md quotes
// the numbers). va_alloc_free_*: ns per pg_va_alloc + pg_va_free_unmapped pair (the
// books alone, no system call) with 10^3 and 10^6 ranges live, each pair freeing a
// random live range; va_bytes_per_range_*: the allocator's own memory (its table, as
// backed, and its state; pg_va_get_stats) per live range after that churn.
// malloc_free_small: ns per malloc + free pair in a fixed workload of small objects
// (the same loop as linux_malloc_free_small, tools/compare/linuxbench.c, on glibc);
// malloc_syscalls_per_free: system calls made inside free in that workload (a second,
// untimed pass), three decimals.
#include <stdbool.h>

#include "pagoda.h"

#define PAGE 4096UL

static int ncpu;

static void report(const char *name, uint64_t total, uint64_t n, const char *unit, int decimals)
{
	uint64_t scale = decimals == 3 ? 1000 : 10;
	pg_printf("metric=%s smp=%d value=%lu.%0*lu unit=%s\n", name, ncpu, total / n, decimals,
		  total % n * scale / n, unit);
}

static void must(const char *what, long r)
{
	if (r < 0) {
		pg_printf("vabench: %s failed: %s\n", what, pg_strerror((int)r));
		pg_exit(1);
	}
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13, rnd_state ^= rnd_state >> 7, rnd_state ^= rnd_state << 17;
	return rnd_state;
}

// `live` one-page ranges, then `pairs` free-a-random-one + alloc pairs, then `pairs`
// more, timed.
static void bench_va(const char *time_name, const char *bytes_name, uint64_t live, uint64_t pairs)
{
	uintptr_t *va = malloc(live * sizeof *va);
	if (!va)
		must("malloc", E_NOMEM);
	for (uint64_t i = 0; i < live; i++) {
		long a = pg_va_alloc(PAGE, 0);
		must("pg_va_alloc", a);
		va[i] = (uintptr_t)a;
	}
	uint64_t t0 = 0;
	// Warm-up pairs first: the table reaches its steady size (and compacts) untimed.
	for (uint64_t k = 0; k < 2 * pairs; k++) {
		if (k == pairs)
			t0 = pg_clock_ns();
		uint64_t i = rnd() % live;
		must("pg_va_free_unmapped", pg_va_free_unmapped(va[i], PAGE));
		long a = pg_va_alloc(PAGE, 0);
		must("pg_va_alloc", a);
		va[i] = (uintptr_t)a;
	}
	report(time_name, pg_clock_ns() - t0, pairs, "ns", 1);
	struct pg_va_stats st;
	pg_va_get_stats(&st);
	// st.live counts this program's few other ranges too (the slot array, malloc's runs).
	report(bytes_name, st.bytes, st.live, "bytes", 1);
	for (uint64_t i = 0; i < live; i++)
		must("pg_va_free_unmapped", pg_va_free_unmapped(va[i], PAGE));
	free(va);
}

// The malloc workload, step for step as linuxbench.c's: 4096 slots; each step picks
// one; an empty one gets malloc(16 .. 511 bytes) with its first and last byte written,
// a full one is freed. Returns the frees made; *free_calls: system calls inside free
// (when counting).
#define SLOTS 4096
#define STEPS 400000
static uint64_t workload(bool count, uint64_t *free_calls)
{
	static char *slot[SLOTS];
	uint64_t x = 12345, frees = 0;
	for (uint64_t s = 0; s < STEPS + SLOTS; s++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t i = s < STEPS ? x % SLOTS : s - STEPS; // then every slot, emptied
		if (slot[i]) {
			uint64_t c0 = count ? pg_va_syscalls() : 0;
			free(slot[i]);
			if (count)
				*free_calls += pg_va_syscalls() - c0;
			slot[i] = NULL;
			frees++;
		} else if (s < STEPS) {
			size_t len = 16 + (x >> 20) % 496;
			slot[i] = malloc(len);
			if (!slot[i])
				must("malloc", E_NOMEM);
			slot[i][0] = slot[i][len - 1] = (char)s;
		}
	}
	return frees;
}

int main(uint64_t arg)
{
	(void)arg;
	ncpu = pg_cpu_count();
	bench_va("va_alloc_free_1k", "va_bytes_per_range_1k", 1000, 200000);
	bench_va("va_alloc_free_1m", "va_bytes_per_range_1m", 1000000, 500000);
	uint64_t calls = 0, t0 = pg_clock_ns();
	uint64_t frees = workload(false, &calls);
	report("malloc_free_small", pg_clock_ns() - t0, frees, "ns", 1);
	frees = workload(true, &calls);
	report("malloc_syscalls_per_free", calls, frees, "count", 3);
	return 0;
}
