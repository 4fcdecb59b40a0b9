// linuxbench.c: the Linux side of `make compare` (tools/compare.py). It runs as the
// benchmark of a tiny initramfs under Debian's kernel, in the same QEMU configuration
// as pagoda's `make bench`, and mirrors user/prog/shootbench.c step for step:
// spinner threads pinned to every CPU but 0 keep reading the 64 pages under test while
// the main thread (pinned to CPU 0) lowers rights; each metric is a mean over ITER
// timed calls after ITER/10 warm-up calls (and "_p50", the median call); the untimed
// call between two timed ones restores the state (raise rights, or map/touch again).
// Then, for the thread-runtime comparison, all on CPU 0: SIGSEGV round trip, pthread
// spawn+join, futex switch, a ring of 1,000 threads, blocked threads' memory and a
// pthread skynet, sized to what a 512 MB guest allows (threads-max).
//
// Output: "metric=linux_<name> smp=N value=X unit=U", like pagoda's bench.
// Iterations: 2000 at smp <= 2, 300 above (as shootbench), or argv[1] / the
// environment variable LINUXBENCH_ITERS (QUICK runs pass it on the kernel command line,
// which the kernel hands to init, and init to us, as an environment variable).
//
// Build: gcc -static -O2 -pthread -o linuxbench linuxbench.c
#define _GNU_SOURCE
#include <errno.h>
#include <x86intrin.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE    4096UL
#define NPAGES  64
#define UNMAPVA ((void *)0x20000000UL) // munmap_1p: one page, not read by the spinners
#define ADVVA   ((void *)0x30000000UL) // madvise_dontneed_1p: one page, kept mapped
#define FAULTVA ((void *)0x50000000UL) // sigsegv_rtt
#define OWNVA   ((void *)0x60000000UL) // protect_1p_*_ownvma: a 1-page VMA of its own
#define OWN64VA ((void *)0x61000000UL) // protect_64p_all_ownvma: a 64-page VMA of its own
#define RW      (PROT_READ | PROT_WRITE)

static int ncpu, iters;
static volatile char *area; // 64 pages, the protect_* target
// What the spinners read: area's 64 pages, or an own-VMA target. One pointer to a
// range that never changes once set, read once a round, so a spinner never pairs one
// range's address with another's length; it picks a change up at its next round,
// well within a benchmark's warm-up calls.
struct spin_range {
	volatile char *p;
	unsigned npages;
};
static struct spin_range spin_area, spin_own, spin_own64, spin_scat;
static const struct spin_range *volatile spin_at;
static volatile int stop;
static int running;

static void die(const char *what)
{
	fprintf(stderr, "linuxbench: %s: %s\n", what, strerror(errno));
	exit(1);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Intervals are timed with rdtsc, as pagoda's are (its clock is the TSC too). QEMU's
// TCG CPU is an AMD CPU without an invariant TSC, so with more than one CPU Linux marks
// the TSC unstable and keeps time with the HPET: clock_gettime would be a system call
// plus an emulated MMIO read added to every sample. TCG's guest TSC follows the host's,
// at a constant rate; that rate is measured against CLOCK_MONOTONIC once, on CPU 0,
// where every interval is timed.
static double tsc_per_ns = 1.0;

static uint64_t now_tsc(void)
{
	return __rdtsc();
}

static void calibrate(void)
{
	uint64_t m0 = mono_ns(), t0 = now_tsc(), m1, t1;
	do {
		m1 = mono_ns();
		t1 = now_tsc();
	} while (m1 - m0 < 200000000u); // 200 ms
	tsc_per_ns = (double)(t1 - t0) / (double)(m1 - m0);
	printf("info=tsc %.0f MHz (against CLOCK_MONOTONIC)\n", tsc_per_ns * 1000.0);
}

// The CPUs this process may run on (in the guest: all of them), so that it also runs
// on a host whose cpuset does not start at CPU 0 (`make bench-hosted`).
static int cpus[256];

static void find_cpus(void)
{
	cpu_set_t s;
	ncpu = 0;
	if (sched_getaffinity(0, sizeof s, &s))
		die("sched_getaffinity");
	for (int c = 0; c < CPU_SETSIZE && ncpu < 256; c++)
		if (CPU_ISSET(c, &s))
			cpus[ncpu++] = c;
	if (!ncpu)
		die("no CPU");
}

// Pins the calling thread to the idx-th CPU it may use.
static void pin(int idx)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpus[idx], &s);
	if (sched_setaffinity(0, sizeof s, &s)) // 0: the calling thread
		die("sched_setaffinity");
}

// TLB-shootdown IPIs received so far, summed over CPUs: the "TLB:" line of
// /proc/interrupts (x86: "TLB shootdowns").
static uint64_t tlb_ipis(void)
{
	FILE *f = fopen("/proc/interrupts", "r");
	if (!f)
		die("/proc/interrupts");
	char line[4096];
	uint64_t sum = 0;
	while (fgets(line, sizeof line, f)) {
		char *p = line;
		while (*p == ' ')
			p++;
		if (strncmp(p, "TLB:", 4))
			continue;
		p += 4;
		for (;;) { // one column per online CPU, then the text "TLB shootdowns"
			char *end;
			unsigned long long v = strtoull(p, &end, 10);
			if (end == p)
				break;
			sum += v;
			p = end;
		}
	}
	fclose(f);
	return sum;
}

// Counts get two decimals (rounded), times one, in ns.
static void report(const char *name, uint64_t total, uint64_t n, const char *unit)
{
	int count = strcmp(unit, "ns") != 0;
	double v = (double)total / (double)n;
	if (!count)
		v /= tsc_per_ns; // total is in TSC ticks
	printf("metric=linux_%s smp=%d value=%.*f unit=%s\n", name, ncpu, count ? 2 : 1, v, unit);
	fflush(stdout);
}

// Every timed call's duration is also kept, for the median: on a shared host a few
// calls wait milliseconds for a vCPU thread to be scheduled, and move the mean (the
// paired number, as pagoda reports means) far more than the median.
static uint64_t *samples;
static int nsamples;

static uint64_t sample(uint64_t t0)
{
	uint64_t d = now_tsc() - t0;
	if (nsamples < iters)
		samples[nsamples++] = d;
	return d;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

// "metric=linux_<name>" (mean) and "metric=linux_<name>_p50" (median) of the samples.
static void report_time(const char *name, uint64_t ticks)
{
	char p50[96];
	report(name, ticks, (uint64_t)iters, "ns");
	if (!nsamples)
		return;
	qsort(samples, (size_t)nsamples, sizeof *samples, cmp_u64);
	snprintf(p50, sizeof p50, "%s_p50", name);
	report(p50, samples[nsamples / 2], 1, "ns");
	nsamples = 0;
}

#define SCATTERED 1000   // bench_protect_scattered's pages, every other one of scat
static volatile char *scat;

static void *spinner(void *arg)
{
	pin((int)(intptr_t)arg);
	__atomic_fetch_add(&running, 1, __ATOMIC_SEQ_CST);
	uint64_t sum = 0;
	while (!stop) {
		const struct spin_range *r = spin_at;
		for (unsigned i = 0; i < r->npages; i++)
			sum += *(volatile uint64_t *)(r->p + i * PAGE);
	}
	return (void *)(uintptr_t)(sum & 0); // sum keeps the loads
}

static pthread_t spinners[256];

// The spinners read r from their next round on.
static void spin_on(const struct spin_range *r)
{
	__atomic_store_n(&spin_at, r, __ATOMIC_RELEASE);
}

static void start_spinners(void)
{
	stop = 0;
	spin_on(&spin_area);
	for (int c = 1; c < ncpu; c++)
		if (pthread_create(&spinners[c], NULL, spinner, (void *)(intptr_t)c))
			die("pthread_create");
	while (__atomic_load_n(&running, __ATOMIC_SEQ_CST) < ncpu - 1)
		sched_yield();
}

static void stop_spinners(void)
{
	stop = 1;
	for (int c = 1; c < ncpu; c++)
		pthread_join(spinners[c], NULL);
	running = 0;
}

// Mean time of mprotect(RW -> R) of npages at p; then TLB IPIs per call. The timed
// loop is left undisturbed: /proc/interrupts is read around the whole loop (IPIs per
// RW -> R -> RW cycle: Linux flushes when rights go up too), and around each
// lowering only in a second, untimed pass (IPIs per protect, as pagoda counts them).
static void bench_protect(const char *name, const char *ipi_name, volatile char *p, size_t npages)
{
	uint64_t ticks = 0, i0 = 0;
	for (int i = -iters / 10; i < iters; i++) {
		if (i == 0)
			i0 = tlb_ipis();
		uint64_t t = now_tsc();
		if (mprotect((void *)p, npages * PAGE, PROT_READ))
			die("mprotect");
		if (i >= 0)
			ticks += sample(t);
		if (mprotect((void *)p, npages * PAGE, RW))
			die("mprotect back");
	}
	uint64_t cycle = tlb_ipis() - i0;
	report_time(name, ticks);
	if (!ipi_name)
		return;
	int n = iters < 200 ? iters : 200;
	uint64_t down = 0;
	for (int i = 0; i < n; i++) {
		uint64_t a = tlb_ipis();
		if (mprotect((void *)p, npages * PAGE, PROT_READ))
			die("mprotect");
		down += tlb_ipis() - a;
		if (mprotect((void *)p, npages * PAGE, RW))
			die("mprotect back");
	}
	char cname[96];
	snprintf(cname, sizeof cname, "ipis_per_protect_cycle%s", strstr(ipi_name, "_protect") + 8);
	report(ipi_name, down, (uint64_t)n, "count");
	report(cname, cycle, (uint64_t)iters, "count");
}

// 1,000 mprotect calls (RW -> R) on every other page of a 2,000-page mapping the
// spinners keep live, timed as one: Linux has no vectored mprotect, so this is what a
// collector flipping scattered pages pays there (pagoda: protect_batch_1000p_scattered
// with one mapv call, protect_loop_1000p_scattered with 1,000 protect calls).
static void bench_protect_scattered(void)
{
	uint64_t ticks = 0;
	int n = iters / 100 > 2 ? iters / 100 : 2;
	for (int i = -1; i < n; i++) {
		uint64_t t = now_tsc();
		for (int p = 0; p < SCATTERED; p++)
			if (mprotect((void *)(scat + 2 * p * PAGE), PAGE, PROT_READ))
				die("mprotect scattered");
		if (i >= 0)
			ticks += now_tsc() - t;
		for (int p = 0; p < SCATTERED; p++)
			if (mprotect((void *)(scat + 2 * p * PAGE), PAGE, RW))
				die("mprotect scattered back");
	}
	report("protect_loop_1000p_scattered", ticks, (uint64_t)n, "ns");
}

// npages of fresh anonymous memory at p, a VMA of its own, every page written.
static volatile char *own_vma(void *p, unsigned npages)
{
	volatile char *m = mmap(p, npages * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (m != p)
		die("mmap own VMA");
	for (unsigned i = 0; i < npages; i++)
		m[i * PAGE] = 1;
	return m;
}

// munmap of one touched page; the mmap and the touch are untimed (unmap_sync_1p).
static void bench_munmap(void)
{
	uint64_t ticks = 0, i0 = 0;
	for (int i = -iters / 10; i < iters; i++) {
		if (i == 0)
			i0 = tlb_ipis();
		void *p = mmap(UNMAPVA, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
		if (p != UNMAPVA)
			die("mmap");
		*(volatile uint64_t *)p = 1; // a live translation, here at least
		uint64_t t = now_tsc();
		if (munmap(p, PAGE))
			die("munmap");
		if (i >= 0)
			ticks += sample(t);
	}
	uint64_t n = tlb_ipis() - i0;
	report_time("munmap_1p", ticks);
	report("ipis_per_munmap_1p", n, (uint64_t)iters, "count");
}

// madvise(MADV_DONTNEED) of one touched page: the frame goes, the range stays mapped
// (the next touch gets a fresh zero page). The touch is untimed (unmap_lazy_1p).
static void bench_madvise(void)
{
	void *p = mmap(ADVVA, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != ADVVA)
		die("mmap");
	uint64_t ticks = 0, i0 = 0;
	for (int i = -iters / 10; i < iters; i++) {
		if (i == 0)
			i0 = tlb_ipis();
		*(volatile uint64_t *)p = 1;
		uint64_t t = now_tsc();
		if (madvise(p, PAGE, MADV_DONTNEED))
			die("madvise");
		if (i >= 0)
			ticks += sample(t);
	}
	uint64_t n = tlb_ipis() - i0;
	report_time("madvise_dontneed_1p", ticks);
	report("ipis_per_madvise_dontneed_1p", n, (uint64_t)iters, "count");
	munmap(p, PAGE);
}

// SIGSEGV round trip, the same loop as pagoda's fault_upcall_rtt (user/prog/rtbench.c):
// a write to a read-only page faults, the handler makes the page RW (a raise: no
// shootdown), sigreturn retries the write, then the page is made read-only again
// (one thread: a local flush only). Each timed iteration is all of that.
static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	void *page = (void *)((uintptr_t)si->si_addr & ~(PAGE - 1));
	if (page != FAULTVA || mprotect(page, PAGE, RW))
		_exit(3);
}

static void bench_sigsegv(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO;
	if (sigaction(SIGSEGV, &sa, NULL))
		die("sigaction");
	void *p = mmap(FAULTVA, PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (p != FAULTVA)
		die("mmap");
	*(volatile uint64_t *)p = 0; // populated: the fault is the protection fault only
	if (mprotect(p, PAGE, PROT_READ))
		die("mprotect read");
	uint64_t ticks = 0;
	for (int i = -iters / 10; i < iters; i++) {
		uint64_t t = now_tsc();
		*(volatile uint64_t *)p = (uint64_t)i;
		if (mprotect(p, PAGE, PROT_READ))
			die("mprotect read");
		if (i >= 0)
			ticks += sample(t);
	}
	report_time("sigsegv_rtt", ticks);
	signal(SIGSEGV, SIG_DFL);
	munmap(p, PAGE);
}

static void *nothing(void *arg)
{
	return arg;
}

// pthread_create + pthread_join of a thread that returns at once, on CPU 0 (the new
// thread inherits the affinity), as a user-level thread runs on its creator's vcpu.
static void bench_spawn_join(void)
{
	uint64_t ticks = 0;
	for (int i = -iters / 10; i < iters; i++) {
		pthread_t t;
		uint64_t t0 = now_tsc();
		if (pthread_create(&t, NULL, nothing, NULL))
			die("pthread_create");
		pthread_join(t, NULL);
		if (i >= 0)
			ticks += sample(t0);
	}
	report_time("pthread_spawn_join", ticks);
}

// Futex ping-pong between two threads pinned to CPU 0: each hand-off is a wake of the
// other thread and a wait of this one, i.e. one switch.
static int turn;

static void futex_wait(int *w, int v)
{
	syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake(int *w)
{
	syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

static int rounds;

static void pingpong(int me)
{
	for (int i = 0; i < rounds; i++) {
		int v;
		while ((v = __atomic_load_n(&turn, __ATOMIC_ACQUIRE)) != me)
			futex_wait(&turn, v);
		__atomic_store_n(&turn, 1 - me, __ATOMIC_RELEASE);
		futex_wake(&turn);
	}
}

static void *ponger(void *arg)
{
	(void)arg;
	pingpong(1);
	return NULL;
}

static void bench_futex(void)
{
	for (int pass = 0; pass < 2; pass++) { // pass 0: warm-up
		rounds = pass ? iters : iters / 10;
		if (!rounds)
			continue;
		turn = 0;
		pthread_t t;
		if (pthread_create(&t, NULL, ponger, NULL))
			die("pthread_create");
		uint64_t t0 = now_tsc();
		pingpong(0);
		pthread_join(t, NULL);
		uint64_t ticks = now_tsc() - t0;
		if (pass)
			report("futex_switch", ticks, 2 * (uint64_t)rounds, "ns");
	}
}

// The thread ring with pthreads: RING threads pinned to CPU 0 (as the others here),
// each blocked in FUTEX_WAIT on a word of its own; a token carrying the hops left goes
// round, each thread that gets it hands it to the next (a store and a FUTEX_WAKE),
// decremented. 1,000 threads, not the 10^6 goroutines or uthreads of the other
// rings: 10^6 kernel threads do not fit (threads-max, kernel stacks). The thread that
// gets 0 must be hops mod RING. ns per hop, each hop one switch; setup untimed.
#define RING 1000
struct ring_slot {
	int word; // 0: empty; v > 0: the token, v - 1 hops left; -1: stop
	char pad[60];
};
static struct ring_slot *ring;
static volatile int ring_last = -1;

static void *ring_thread(void *arg)
{
	int i = (int)(intptr_t)arg;
	int *in = &ring[i].word, *out = &ring[(i + 1) % RING].word;
	for (;;) {
		int v;
		while ((v = __atomic_load_n(in, __ATOMIC_ACQUIRE)) == 0)
			futex_wait(in, 0);
		__atomic_store_n(in, 0, __ATOMIC_RELAXED);
		if (v < 0) { // stop: pass it on, except back to thread 0
			if (i < RING - 1) {
				__atomic_store_n(out, -1, __ATOMIC_RELEASE);
				futex_wake(out);
			}
			return NULL;
		}
		if (v == 1) { // no hops left: tell main
			__atomic_store_n(&ring_last, i, __ATOMIC_RELEASE);
			futex_wake((int *)&ring_last);
			continue;
		}
		__atomic_store_n(out, v - 1, __ATOMIC_RELEASE);
		futex_wake(out);
	}
}

static void bench_ring(void)
{
	int hops = iters * 50 > 2 * RING ? iters * 50 : 2 * RING; // 100,000 at 2000 iterations
	static pthread_t ts[RING];
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 * 1024);
	ring = calloc(RING, sizeof *ring);
	if (!ring)
		die("calloc ring");
	for (int i = 0; i < RING; i++)
		if (pthread_create(&ts[i], &a, ring_thread, (void *)(intptr_t)i))
			die("pthread_create ring");
	ring_last = -1;
	uint64_t t0 = now_tsc();
	__atomic_store_n(&ring[0].word, hops + 1, __ATOMIC_RELEASE);
	futex_wake(&ring[0].word);
	int last;
	while ((last = __atomic_load_n(&ring_last, __ATOMIC_ACQUIRE)) < 0)
		futex_wait((int *)&ring_last, -1);
	uint64_t ticks = now_tsc() - t0;
	__atomic_store_n(&ring[0].word, -1, __ATOMIC_RELEASE);
	futex_wake(&ring[0].word);
	for (int i = 0; i < RING; i++)
		pthread_join(ts[i], NULL);
	pthread_attr_destroy(&a);
	free(ring);
	if (last != hops % RING) {
		fprintf(stderr, "linuxbench: ring: token ended at thread %d, not %d\n", last, hops % RING);
		exit(1);
	}
	report("pthread_ring_hop", ticks, (uint64_t)hops, "ns");
}

// Resident memory (statm) and the kernel's own memory for threads (KernelStack, Slab
// and PageTables of /proc/meminfo), in bytes.
static uint64_t rss_bytes(void)
{
	unsigned long size, res;
	FILE *f = fopen("/proc/self/statm", "r");
	if (!f || fscanf(f, "%lu %lu", &size, &res) != 2)
		die("/proc/self/statm");
	fclose(f);
	return res * PAGE;
}

static uint64_t kernel_bytes(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		die("/proc/meminfo");
	char line[256];
	uint64_t sum = 0;
	unsigned long kb;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "KernelStack: %lu kB", &kb) == 1 || sscanf(line, "Slab: %lu kB", &kb) == 1 ||
		    sscanf(line, "PageTables: %lu kB", &kb) == 1)
			sum += kb * 1024;
	fclose(f);
	return sum;
}

// How many threads the kernel lets this machine have (a 512 MB guest: some 3,900).
static long threads_max(void)
{
	long n = 0;
	FILE *f = fopen("/proc/sys/kernel/threads-max", "r");
	if (!f || fscanf(f, "%ld", &n) != 1)
		n = 4000;
	if (f)
		fclose(f);
	return n;
}

// Threads that are alive and blocked, each in FUTEX_WAIT on a word of its own: the
// resident memory they add, per thread, once all have started (and one more wait).
static int blk_started;

static void *blocked_thread(void *arg)
{
	int *w = arg;
	__atomic_fetch_add(&blk_started, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(w, __ATOMIC_ACQUIRE) == 0)
		futex_wait(w, 0);
	return NULL;
}

static void bench_blocked(size_t stack, const char *name, const char *kname)
{
	// 10,000 threads (fewer with fewer iterations), at most half of threads-max.
	long n = iters * 5L < 10000 ? iters * 5L : 10000;
	if (n > threads_max() / 2)
		n = threads_max() / 2;
	pthread_t *ts = calloc((size_t)n, sizeof *ts);
	struct ring_slot *w = calloc((size_t)n, sizeof *w);
	if (!ts || !w)
		die("calloc blocked");
	pthread_attr_t a;
	pthread_attr_init(&a);
	if (stack)
		pthread_attr_setstacksize(&a, stack);
	blk_started = 0;
	uint64_t r0 = rss_bytes(), k0 = kernel_bytes();
	for (long i = 0; i < n; i++)
		if (pthread_create(&ts[i], &a, blocked_thread, &w[i].word))
			die("pthread_create blocked");
	while (__atomic_load_n(&blk_started, __ATOMIC_ACQUIRE) < n)
		sched_yield();
	usleep(20000); // the last ones into their wait
	uint64_t r1 = rss_bytes(), k1 = kernel_bytes();
	for (long i = 0; i < n; i++) {
		__atomic_store_n(&w[i].word, 1, __ATOMIC_RELEASE);
		futex_wake(&w[i].word);
	}
	for (long i = 0; i < n; i++)
		pthread_join(ts[i], NULL);
	pthread_attr_destroy(&a);
	free(ts);
	free(w);
	printf("info=linuxbench %s: %ld threads\n", name, n);
	report(name, r1 > r0 ? r1 - r0 : 0, (uint64_t)n, "bytes");
	if (kname)
		report(kname, k1 > k0 ? k1 - k0 : 0, (uint64_t)n, "bytes");
}

// Skynet with pthreads: a tree with fan-out 10 down to `leaves` leaves (10^4; 10^3
// where threads-max is below 50,000, as in a 512 MB guest: all 11,111 may be alive at
// once), each node a thread that creates its 10 children and joins them, adding up
// what they return; the leaves return their number. The sum must be leaves*(leaves-1)/2.
// ms per tree, the mean of 3 after one warm-up (the name says the leaves).
struct sky {
	long num, size;
};

static void *sky_node(void *arg)
{
	struct sky *me = arg;
	if (me->size == 1)
		return (void *)(intptr_t)me->num;
	struct sky kids[10];
	pthread_t ts[10];
	long sum = 0;
	for (int i = 0; i < 10; i++) {
		kids[i] = (struct sky){ me->num + i * (me->size / 10), me->size / 10 };
		if (pthread_create(&ts[i], NULL, sky_node, &kids[i]))
			die("pthread_create skynet");
	}
	for (int i = 0; i < 10; i++) {
		void *r;
		pthread_join(ts[i], &r);
		sum += (long)(intptr_t)r;
	}
	return (void *)(intptr_t)sum;
}

static void bench_skynet(void)
{
	long leaves = threads_max() >= 50000 ? 10000 : 1000;
	uint64_t ticks = 0;
	for (int r = -1; r < 3; r++) {
		struct sky root = { 0, leaves };
		uint64_t t0 = now_tsc();
		long sum = (long)(intptr_t)sky_node(&root);
		if (r >= 0)
			ticks += now_tsc() - t0;
		if (sum != leaves * (leaves - 1) / 2) {
			fprintf(stderr, "linuxbench: skynet: sum %ld, want %ld\n", sum, leaves * (leaves - 1) / 2);
			exit(1);
		}
	}
	char name[64];
	snprintf(name, sizeof name, "pthread_skynet_%ldk", leaves / 1000);
	printf("metric=linux_%s smp=%d value=%.1f unit=ms\n", name, ncpu, (double)ticks / 3 / tsc_per_ns / 1e6);
	fflush(stdout);
}

// malloc + free of small objects on glibc: the same workload as pagoda's
// malloc_free_small (user/prog/vabench.c), step for step: 4096 slots; each step picks
// one with the same xorshift; an empty one gets malloc(16 .. 511 bytes) with its first
// and last byte written, a full one is freed; then every slot is emptied. ns per free.
#define MSLOTS 4096
#define MSTEPS 400000
static void bench_malloc(void)
{
	static char *slot[MSLOTS];
	uint64_t x = 12345, frees = 0, t0 = now_tsc();
	for (uint64_t s = 0; s < MSTEPS + MSLOTS; s++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t i = s < MSTEPS ? x % MSLOTS : s - MSTEPS;
		if (slot[i]) {
			free(slot[i]);
			slot[i] = NULL;
			frees++;
		} else if (s < MSTEPS) {
			size_t len = 16 + (x >> 20) % 496;
			slot[i] = malloc(len);
			if (!slot[i])
				die("malloc");
			slot[i][0] = slot[i][len - 1] = (char)s;
		}
	}
	report("malloc_free_small", now_tsc() - t0, frees, "ns");
}

int main(int argc, char **argv)
{
	find_cpus();
	iters = ncpu <= 2 ? 2000 : 300; // as shootbench
	const char *env = getenv("LINUXBENCH_ITERS");
	if (argc > 1)
		env = argv[1];
	if (env && atoi(env) > 0)
		iters = atoi(env);
	setvbuf(stdout, NULL, _IOLBF, 0);
	samples = calloc((size_t)iters, sizeof *samples);
	if (!samples)
		die("calloc");
	pin(0);
	calibrate();
	area = mmap(NULL, NPAGES * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (area == MAP_FAILED)
		die("mmap area");
	for (unsigned i = 0; i < NPAGES; i++)
		area[i * PAGE] = 1; // written: present and writable before the spinners start
	scat = mmap(NULL, 2 * SCATTERED * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (scat == MAP_FAILED)
		die("mmap scattered");
	for (unsigned i = 0; i < 2 * SCATTERED; i++)
		scat[i * PAGE] = 1;
	// Each protect also on a VMA of its own (_ownvma): a mapping at a fixed address with
	// nothing next to it, so mprotect changes the whole VMA and has no neighbour to merge
	// with: no split, no merge, Linux's best case (compare.py pairs pagoda with both).
	// Protecting 1 page of area splits its VMA (and the raise merges it back); area,
	// placed by the kernel, may also have been merged with a neighbour at mmap time.
	volatile char *own = own_vma(OWNVA, 1), *own64 = own_vma(OWN64VA, NPAGES);
	spin_area = (struct spin_range){ area, NPAGES };
	spin_own = (struct spin_range){ own, 1 };
	spin_own64 = (struct spin_range){ own64, NPAGES };
	spin_scat = (struct spin_range){ scat, 2 * SCATTERED };
	printf("linuxbench: smp=%d iters=%d\n", ncpu, iters);
	start_spinners();
	bench_protect("protect_1p_all", "ipis_per_protect_1p_all", area, 1);
	bench_protect("protect_64p_all", "ipis_per_protect_64p_all", area, NPAGES);
	spin_on(&spin_own);
	bench_protect("protect_1p_all_ownvma", NULL, own, 1);
	spin_on(&spin_own64);
	bench_protect("protect_64p_all_ownvma", NULL, own64, NPAGES);
	spin_on(&spin_area);
	bench_munmap();
	bench_madvise();
	spin_on(&spin_scat); // every page of scat: the spinners keep the 1,000 under test live
	bench_protect_scattered();
	spin_on(&spin_area);
	stop_spinners();
	bench_protect("protect_1p_local", "ipis_per_protect_1p_local", area, 1);
	bench_protect("protect_1p_local_ownvma", NULL, own, 1);
	// For the thread-runtime comparison: no spinners, everything on CPU 0.
	bench_sigsegv();
	bench_spawn_join();
	bench_futex();
	bench_ring();
	bench_blocked(0, "pthread_blocked_bytes", "pthread_blocked_kernel_bytes");
	bench_blocked(PTHREAD_STACK_MIN > 16384 ? PTHREAD_STACK_MIN : 16384, "pthread_blocked_bytes_minstack", NULL);
	bench_skynet();
	bench_malloc();
	printf("linuxbench: done\n");
	return 0;
}
