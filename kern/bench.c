// bench.c: the foundation's micro-benchmarks. Each is a mean over many iterations
// after a warm-up, timed with the TSC (calibrated against the PIT at boot).
// At smp 1 there is no other CPU: xcall_rtt_one/all then time a call to self, the
// path a cross-call takes when the caller is the only target.
// Cross-call targets are kept busy (spinning in a job, interrupts on), as a CPU
// running a space is when a shootdown reaches it; xcall_rtt_one_idle times the same
// call to a CPU asleep in hlt, which TCG is slow to wake (shootdowns never target
// idle CPUs: they have left every space's CPU set).
#include "kern/bench.h"
#include "kern/console.h"
#include "kern/frame.h"
#include "kern/kwin.h"
#include "kern/xcall.h"
#include "kern/panic.h"
#include "kern/idle.h"
#include "kern/uprog.h"
#include "kern/phase.h"
#include "lib/fmt.h"
#include "include/pagoda/errors.h"
#include "include/pagoda/abi.h"
#include "kern/boot.h"
#include "lib/string.h"
#include <arch/arch.h>
#include <arch/fpu.h>

#define WARMUP 200

static void report(const char *name, uint64_t ticks, uint64_t iters)
{
	uint64_t ns = tsc_to_ns(ticks, arch_tsc_hz());
	uint64_t per = ns / iters, frac = (ns % iters) * 10 / iters;
	kprintf("metric=%s smp=%u value=%lu.%lu unit=ns\n", name, ncpus_online, per, frac);
}

static void bench_xcall(const char *name, cpuset_t targets, uint64_t iters)
{
	for (int i = 0; i < WARMUP; i++)
		xcall_kick(targets);
	uint64_t t0 = arch_cycles();
	for (uint64_t i = 0; i < iters; i++)
		xcall_kick(targets);
	report(name, arch_cycles() - t0, iters);
}

static void bench_kwin(uint64_t iters)
{
	uint64_t pa;
	if (frame_alloc(&pa) != E_OK)
		panic("bench: no frame");
	uint64_t t0 = arch_cycles();
	for (uint64_t i = 0; i < iters; i++) {
		volatile uint64_t *w = kwin_map(pa);
		w[0] = i; // touch it: the cost includes the TLB miss a real use pays
		kwin_unmap((void *)w);
	}
	report("kwin_map_unmap", arch_cycles() - t0, iters);
	frame_free(pa);
}

static void bench_frames(uint64_t iters)
{
	uint64_t t0 = arch_cycles();
	for (uint64_t i = 0; i < iters; i++) {
		uint64_t pa;
		if (frame_alloc(&pa) != E_OK)
			panic("bench: no frame");
		frame_free(pa);
	}
	report("frame_alloc_free", arch_cycles() - t0, iters);
}

static _Atomic bool busy_done;
static _Atomic uint32_t busy_ready;

static void busy_xcalls(void *arg)
{
	cpuset_t *one = arg;
	atomic_fetch_add(&busy_ready, 1);
	if (cpu_id() != 0) {
		while (!atomic_load(&busy_done))
			cpu_relax();
		return;
	}
	while (atomic_load(&busy_ready) < ncpus_online) // every target is spinning
		cpu_relax();
	cpuset_t others = cpuset_online() & ~cpuset_of(0);
	bench_xcall("xcall_rtt_one", *one, 5000);
	bench_xcall("xcall_rtt_all", others ? others : cpuset_of(0), 5000);
	atomic_store(&busy_done, true);
}

// The IRQOFF_STATS build, booted with bench=irqoff: the longest interrupts-off
// section any CPU had while user/prog/irqhog made the longest calls it can think of
// (whole-range edits of 16,384 pages, 16,384 records, a lazy unmap of them all, a
// child's teardown), and the call it was in.
#ifdef IRQOFF_STATS
static void bench_irqoff(void)
{
	static const char *const names[SYS_COUNT] = {
#define SYSCALL(nr, NAME, name, ...) [nr] = #name,
#include "include/pagoda/syscalls.def"
#undef SYSCALL
	};
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		if (cpus[i])
			cpus[i]->irqoff_max = 0, cpus[i]->cur_sys = cpus[i]->irqoff_max_sys = -1,
			cpus[i]->irqoff_max_lock = NULL;
	struct uprog_result r;
	int err = uprog_run("irqhog", 0, 0, &r);
	if (err != E_OK || r.status || r.faults)
		panic("bench: irqhog failed (%d, status %d, %u faults)", err, r.status, r.faults);
	uint64_t max = 0;
	int64_t sys = -1;
	struct cpu *w = NULL;
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		if (cpus[i] && cpus[i]->irqoff_max > max)
			max = cpus[i]->irqoff_max, sys = cpus[i]->irqoff_max_sys, w = cpus[i];
	uint64_t ns = tsc_to_ns(max, arch_tsc_hz());
	kprintf("bench: longest interrupts-off section %lu us, in %s, under lock %s, from %p to %p\n",
		ns / 1000, sys >= 0 && sys < SYS_COUNT ? names[sys] : "the kernel (no system call)",
		w && w->irqoff_max_lock ? w->irqoff_max_lock : "(none)", w ? (void *)w->irqoff_max_from : NULL,
		w ? (void *)w->irqoff_max_to : NULL);
	kprintf("metric=max_irqoff_us smp=%u value=%lu.%lu unit=us\n", ncpus_online, ns / 1000, ns % 1000 / 100);
}
#endif

// The PHASE_STATS build, booted with bench=phase: shootbench's 1-page protects that
// lower rights (protect_1p_all while spinners hold the space on every other CPU,
// protect_1p_local after they left; at smp 1 both are local), phase by phase
// (kern/phase.h), means in ns at the TSC rate the clock uses (calibrated at boot).
#ifdef PHASE_STATS
static void bench_phases(void)
{
	static const char *const names[PH_COUNT] = { "entry", "lookup", "scan", "pte", "local", "xcall", "exit" };
	static const char *const kinds[PHASE_KINDS] = { "protect_1p_local", "protect_1p_all" };
	phase_reset();
	struct uprog_result r;
	int err = uprog_run("shootbench", 0, 0, &r);
	if (err != E_OK || r.status || r.faults)
		panic("bench: shootbench failed (%d, status %d, %u faults)", err, r.status, r.faults);
	for (int k = 0; k < PHASE_KINDS; k++) {
		uint64_t calls, total = 0;
		for (int p = 0; p < PH_COUNT; p++) {
			uint64_t ticks = phase_mean(k, (enum phase)p, &calls);
			if (!calls)
				break;
			total += ticks;
			char name[64];
			fmt_snprintf(name, sizeof name, "phase_%s_%s", kinds[k], names[p]);
			report(name, ticks, 1);
		}
		if (calls) {
			char name[64];
			fmt_snprintf(name, sizeof name, "phase_%s_kernel", kinds[k]);
			report(name, total, 1);
		}
	}
}
#endif

void bench_run(void)
{
	KASSERT(cpu_id() == 0);
	char which[16] = "";
	boot_arg("bench", which, sizeof which);
	if (strcmp(which, "irqoff") == 0) {
#ifdef IRQOFF_STATS
		bench_irqoff();
		kprintf("bench: done\n");
		arch_exit(EXIT_SUCCESS_CODE);
#else
		panic("bench=irqoff needs the IRQOFF_STATS build (make bench builds it)");
#endif
	}
	if (strcmp(which, "phase") == 0) {
#ifdef PHASE_STATS
		bench_phases();
		kprintf("bench: done\n");
		arch_exit(EXIT_SUCCESS_CODE);
#else
		panic("bench=phase needs the PHASE_STATS build (make bench builds it)");
#endif
	}
	// The runtime with a million threads at once (rtbench's arg 1): the 6 GiB boot,
	// all of its memory but 256 MiB.
	if (strcmp(which, "million") == 0) {
		struct uprog_result r;
		struct uprog_spec spec = { "rtbench", 1, 0, 0, frame_free_count() * 4096 - (256ull << 20) };
		int err = uprog_run_group(&spec, 1, &r);
		if (err != E_OK || r.status || r.faults)
			panic("bench: rtbench million failed (%d, status %d, %u faults)", err, r.status, r.faults);
		kprintf("bench: done\n");
		arch_exit(EXIT_SUCCESS_CODE);
	}
	cpuset_t others = cpuset_online() & ~cpuset_of(0);
	cpuset_t one = others ? others & -others : cpuset_of(0);
	job_run(cpuset_online(), busy_xcalls, &one);
	if (others)
		bench_xcall("xcall_rtt_one_idle", one, 500);
	// Eager or lazy extended-state switching (docs/vcpus.md): what each costs. They
	// use this CPU's registers, which hold no vcpu's state yet: no program has run.
	KASSERT(!this_cpu()->fpu_owner);
	report("fpu_save_load", arch_fpu_bench_save_load(20000), 20000);
	report("fpu_lazy_trap", arch_fpu_bench_lazy_trap(20000), 20000);
	bench_kwin(100000);
	bench_frames(100000);
	// The shootdown metrics come from a user program: it needs threads in a space.
	struct uprog_result r;
	int err = uprog_run("shootbench", 0, 0, &r);
	if (err != E_OK || r.status || r.faults)
		panic("bench: shootbench failed (%d, status %d, %u faults)", err, r.status, r.faults);
	err = uprog_run("rtbench", 0, 0, &r);
	if (err != E_OK || r.status || r.faults)
		panic("bench: rtbench failed (%d, status %d, %u faults)", err, r.status, r.faults);
	err = uprog_run("kmembench", 0, 0, &r);
	if (err != E_OK || r.status || r.faults)
		panic("bench: kmembench failed (%d, status %d, %u faults)", err, r.status, r.faults);
	kprintf("bench: done\n");
	arch_exit(EXIT_SUCCESS_CODE);
}
