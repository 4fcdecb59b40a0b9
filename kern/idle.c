// idle.c: the idle loop and per-CPU jobs. A CPU waits in hlt; job_run() stores the job
// in the CPU's slot and wakes it with an empty cross-call. The check-then-halt runs
// with interrupts off and "sti; hlt" re-enables them atomically, so a wake-up IPI
// cannot slip in between the check and the halt.
#include <stddef.h>
#include "kern/idle.h"
#include "kern/xcall.h"
#include "kern/sched.h"
#include "kern/panic.h"
#include <arch/arch.h>

struct job {
	job_fn fn;
	void *arg;
	_Atomic int pending;
};

static struct job *_Atomic slots[MAX_CPUS]; // written by job_run, cleared by the CPU

static void run_mine(void)
{
	struct job *j = atomic_exchange(&slots[cpu_id()], NULL);
	if (!j)
		return;
	j->fn(j->arg);
	atomic_fetch_sub_explicit(&j->pending, 1, memory_order_release);
}

void idle_loop(void)
{
	for (;;) {
		irq_disable();
		if (atomic_load(&slots[cpu_id()])) {
			irq_enable();
			run_mine();
			continue;
		}
		sched_idle_once(); // runs queued threads, or halts until an interrupt
	}
}

void job_run(cpuset_t set, job_fn fn, void *arg)
{
	uint32_t me = cpu_id();
	set &= cpuset_online();
	struct job j = { .fn = fn, .arg = arg, .pending = cpuset_count(set) };
	for (cpuset_t s = set & ~cpuset_of(me); s; s &= s - 1) {
		struct job *expected = NULL;
		if (!atomic_compare_exchange_strong(&slots[__builtin_ctzll(s)], &expected, &j))
			panic("job_run: cpu%d is busy", __builtin_ctzll(s));
	}
	xcall_kick(set & ~cpuset_of(me)); // wake them
	if (set & cpuset_of(me)) {
		fn(arg);
		atomic_fetch_sub(&j.pending, 1);
	}
	while (atomic_load_explicit(&j.pending, memory_order_acquire) > 0) {
		xcall_poll();
		cpu_relax();
	}
}
