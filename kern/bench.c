// bench.c: the foundation's micro-benchmarks. Each is a mean over many iterations
// after a warm-up, timed with the TSC (calibrated against the PIT at boot).
// At smp 1 there is no other CPU: xcall_rtt_one/all then time a call to self, the
// path a cross-call takes when the caller is the only target.
#include "kern/bench.h"
#include "kern/console.h"
#include "kern/frame.h"
#include "kern/kwin.h"
#include "kern/xcall.h"
#include "kern/panic.h"
#include "include/pagoda/errors.h"
#include "arch.h"
#include "x86.h"

#define WARMUP 200

static void nop(void *arg) { (void)arg; }

static void report(const char *name, uint64_t ticks, uint64_t iters)
{
	uint64_t ns = tsc_to_ns(ticks, arch_tsc_hz());
	uint64_t per = ns / iters, frac = (ns % iters) * 10 / iters;
	kprintf("metric=%s smp=%u value=%lu.%lu unit=ns\n", name, ncpus_online, per, frac);
}

static void bench_xcall(const char *name, cpuset_t targets, uint64_t iters)
{
	for (int i = 0; i < WARMUP; i++)
		xcall_run(targets, nop, NULL);
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < iters; i++)
		xcall_run(targets, nop, NULL);
	report(name, rdtsc() - t0, iters);
}

static void bench_kwin(uint64_t iters)
{
	uint64_t pa;
	if (frame_alloc(&pa) != E_OK)
		panic("bench: no frame");
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < iters; i++) {
		volatile uint64_t *w = kwin_map(pa);
		w[0] = i; // touch it: the cost includes the TLB miss a real use pays
		kwin_unmap((void *)w);
	}
	report("kwin_map_unmap", rdtsc() - t0, iters);
	frame_free(pa);
}

static void bench_frames(uint64_t iters)
{
	uint64_t t0 = rdtsc();
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t pa;
		if (frame_alloc(&pa) != E_OK)
			panic("bench: no frame");
		frame_free(pa);
	}
	report("frame_alloc_free", rdtsc() - t0, iters);
}

void bench_run(void)
{
	cpuset_t me = cpuset_of(cpu_id()), others = cpuset_online() & ~me;
	cpuset_t one = others ? others & -others : me;
	bench_xcall("xcall_rtt_one", one, 5000);
	bench_xcall("xcall_rtt_all", others ? others : me, 5000);
	bench_kwin(100000);
	bench_frames(100000);
	kprintf("bench: done\n");
	arch_exit(EXIT_SUCCESS_CODE);
}
