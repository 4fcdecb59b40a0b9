// shootbench.c: the shootdown benchmarks of `make bench` (issue: address spaces).
// Spinner threads on every other CPU keep reading the 64 pages under test, so their
// translations are live in those CPUs' TLBs when main (cpu0) lowers rights. Each
// metric is a mean over ITER timed calls after a warm-up; the untimed call between
// two timed ones restores the state (raise rights, or map again).
#include "tests/user/tcommon.h" // tc_spawn: vcpus running a function

#define AREA     0x10000000UL  // 64 pages: protect_*
#define UNMAPVA  0x20000000UL  // unmap_sync_1p: one page, not read by the spinners
#define LAZYVA   0x30000000UL  // unmap_lazy_1p: a fresh page each time
#define SCAT     0x50000000UL  // protect_*_1000p_scattered: every other page of 2,000
#define NSCAT    1000
#define NPAGES   64
#define PROT_RW  (PROT_READ | PROT_WRITE)

static volatile uint64_t stop, running, scat_live; // scat_live: the spinners read SCAT too
static int ncpu, iters;

static void spinner(uint64_t arg)
{
	(void)arg;
	__atomic_fetch_add(&running, 1, __ATOMIC_SEQ_CST);
	uint64_t sum = 0;
	while (!stop) {
		for (unsigned i = 0; i < NPAGES; i++)
			sum += *(volatile uint64_t *)(AREA + i * PAGE);
		for (unsigned i = 0; scat_live && i < 2 * NSCAT; i += 2)
			sum += *(volatile uint64_t *)(SCAT + i * PAGE);
	}
	__atomic_fetch_sub(&running, 1, __ATOMIC_SEQ_CST);
	pg_exit((int)(sum & 0)); // sum keeps the loads
}

static void fail(const char *what, int err)
{
	pg_printf("shootbench: %s failed: %s\n", what, pg_strerror(err));
	pg_exit(1);
}

static void check(const char *what, int err)
{
	if (err < 0)
		fail(what, err);
}

static void start_spinners(void)
{
	for (int c = 1; c < ncpu; c++)
		check("vcpu", tc_spawn(spinner, 0, c, 0));
	while (running < (uint64_t)(ncpu - 1))
		pg_yield();
}

static void stop_spinners(void)
{
	stop = 1;
	struct space_stats st;
	do {
		pg_yield();
		check("stats", pg_space_stats(H_SELF, &st));
	} while (st.vcpus > 1); // reaped: their CPUs have left the space
}

static uint64_t ipis(void)
{
	struct space_stats st;
	check("stats", pg_space_stats(H_SELF, &st));
	return st.ipis_sent;
}

static void report(const char *name, uint64_t total, uint64_t n, const char *unit)
{
	pg_printf("metric=%s smp=%d value=%lu.%lu unit=%s\n", name, ncpu, total / n, total % n * 10 / n, unit);
}

// The cheapest system call (cpu_id), timed as every call here is: the floor the
// others stand on (each sample also holds one clock_ns call, as theirs do).
static void bench_null(void)
{
	uint64_t ns = 0;
	for (int i = -iters / 10; i < iters; i++) {
		uint64_t t = pg_clock_ns();
		pg_cpu_id();
		if (i >= 0)
			ns += pg_clock_ns() - t;
	}
	report("syscall_null", ns, (uint64_t)iters, "ns");
}

// Mean ns of protect(RW -> R) over npages, and IPIs per call.
static void bench_protect(const char *name, const char *ipi_name, size_t npages)
{
	uint64_t ns = 0, i0 = 0;
	for (int i = -iters / 10; i < iters; i++) {
		if (i == 0)
			i0 = ipis();
		uint64_t t = pg_clock_ns();
		check("protect", pg_protect(H_SELF, AREA, npages * PAGE, PROT_READ));
		if (i >= 0)
			ns += pg_clock_ns() - t;
		check("protect back", pg_protect(H_SELF, AREA, npages * PAGE, PROT_RW));
	}
	report(name, ns, (uint64_t)iters, "ns");
	if (ipi_name)
		report(ipi_name, ipis() - i0, (uint64_t)iters, "count");
}

// A collector flipping 1,000 scattered pages the spinners keep live: one mapv call
// (one shootdown: a full flush past the threshold) against 1,000 protect calls (one
// shootdown each); the mean ns of the whole flip, and IPIs per flip. The raise back
// is one untimed batch (it needs no IPI).
static struct pg_mapop scat_ops[NSCAT];

static void scat_set(unsigned prot)
{
	for (unsigned i = 0; i < NSCAT; i++)
		scat_ops[i] = (struct pg_mapop){ .op = MAPOP_PROTECT, .prot = prot, .va = SCAT + 2 * i * PAGE, .len = PAGE };
}

static void bench_scattered(bool batch)
{
	int n = iters / 100 > 2 ? iters / 100 : 2;
	uint64_t ns = 0, i0 = 0;
	for (int i = -1; i < n; i++) {
		if (i == 0)
			i0 = ipis();
		scat_set(PROT_READ);
		uint64_t t = pg_clock_ns();
		if (batch)
			check("mapv", pg_mapv(H_SELF, scat_ops, NSCAT, NULL));
		for (unsigned p = 0; !batch && p < NSCAT; p++)
			check("protect", pg_protect(H_SELF, scat_ops[p].va, PAGE, PROT_READ));
		if (i >= 0)
			ns += pg_clock_ns() - t;
		scat_set(PROT_RW);
		check("mapv back", pg_mapv(H_SELF, scat_ops, NSCAT, NULL));
	}
	report(batch ? "protect_batch_1000p_scattered" : "protect_loop_1000p_scattered", ns, (uint64_t)n, "ns");
	report(batch ? "ipis_per_protect_batch_1000p_scattered" : "ipis_per_protect_loop_1000p_scattered",
	       ipis() - i0, (uint64_t)n, "count");
}

static void bench_unmap_sync(handle_t mem)
{
	uint64_t ns = 0;
	for (int i = -iters / 10; i < iters; i++) {
		check("map", pg_map(H_SELF, UNMAPVA, mem, 0, PAGE, PROT_RW));
		*(volatile uint64_t *)UNMAPVA = 1; // a live translation, here at least
		uint64_t t = pg_clock_ns();
		check("unmap", pg_unmap(H_SELF, UNMAPVA, PAGE, 0));
		if (i >= 0)
			ns += pg_clock_ns() - t;
	}
	report("unmap_sync_1p", ns, (uint64_t)iters, "ns");
}

static void bench_unmap_lazy(handle_t mem)
{
	uint64_t ns = 0;
	for (int i = -iters / 10; i < iters; i++) {
		uintptr_t va = LAZYVA + (uintptr_t)(i + iters) * PAGE; // busy until reclaimed
		check("map", pg_map(H_SELF, va, mem, 0, PAGE, PROT_RW));
		*(volatile uint64_t *)va = 1;
		uint64_t t = pg_clock_ns();
		check("unmap lazy", pg_unmap(H_SELF, va, PAGE, UNMAP_LAZY));
		if (i >= 0)
			ns += pg_clock_ns() - t;
	}
	report("unmap_lazy_1p", ns, (uint64_t)iters, "ns");
}

int main(uint64_t arg)
{
	(void)arg;
	ncpu = pg_cpu_count();
	iters = ncpu <= 2 ? 2000 : 300; // at smp 4 each IPI waits for a host time slice
	handle_t area = pg_mem_create(NPAGES * PAGE), one = pg_mem_create(PAGE);
	check("mem", area);
	check("mem", one);
	check("map area", pg_map(H_SELF, AREA, area, 0, NPAGES * PAGE, PROT_RW));
	handle_t scat = pg_mem_create(2 * NSCAT * PAGE);
	check("mem", scat);
	check("map scattered", pg_map(H_SELF, SCAT, scat, 0, 2 * NSCAT * PAGE, PROT_RW));
	bench_null();
	start_spinners();
	bench_protect("protect_1p_all", "ipis_per_protect_1p_all", 1);
	bench_protect("protect_64p_all", NULL, NPAGES);
	// The invlpg-or-full-flush threshold (kern/shootdown.h) was chosen from these.
	bench_protect("protect_8p_all", NULL, 8);
	bench_protect("protect_16p_all", NULL, 16);
	bench_protect("protect_32p_all", NULL, 32);
	bench_unmap_sync(one);
	bench_unmap_lazy(one);
	scat_live = 1; // only now: the other metrics keep the spinners' 64-page loop
	bench_scattered(true);
	bench_scattered(false);
	scat_live = 0;
	stop_spinners();
	bench_protect("protect_1p_local", "ipis_per_protect_1p_local", 1);
	return 0;
}
