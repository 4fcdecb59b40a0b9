// phase.c: the PHASE_STATS build's accumulators (phase.h): per CPU, the current
// system call's ticks per phase and, for the calls recorded (SYS_PROTECT of one page
// to PROT_READ, as shootbench times it), their sums. Own CPU only while calls run;
// bench.c reads them once the benchmark has finished.
#ifdef PHASE_STATS
#include "kern/phase.h"
#include "kern/percpu.h"
#include "include/pagoda/abi.h"
#include "lib/string.h"
#include <arch/arch.h>
#include <arch/paging.h>
#include <arch/syscall.h>

// Called by syscall_entry (entry.S) with interrupts off, once the frame is saved.
void phase_syscall_enter(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	c->phase_stamp = arch_cycles();
	memset(c->phase_cur, 0, sizeof c->phase_cur);
	c->phase_marked = 0;
	c->phase_track = arch_syscall_nr(f) == SYS_PROTECT && arch_syscall_arg(f, 2) == PAGE_SIZE &&
			 arch_syscall_arg(f, 3) == PROT_READ;
}

void phase_mark(enum phase p)
{
	struct cpu *c = this_cpu();
	uint64_t now = arch_cycles();
	c->phase_cur[p] += now - c->phase_stamp;
	c->phase_stamp = now;
	c->phase_marked |= 1u << p;
}

// Called by syscall_entry on the way out, interrupts off, just before the return to
// user mode. A vcpu that blocked or was preempted in the call records its own CPU's
// time since its last mark, which is what it waited: only protects are recorded, and
// shootbench's do not block.
void phase_syscall_exit(void)
{
	struct cpu *c = this_cpu();
	if (!c->phase_track)
		return;
	phase_mark(PH_EXIT);
	if (!(c->phase_marked & (1u << PH_LOCAL)))
		return; // lowered nothing (the page was read-only already): not a shootdown
	int k = c->phase_marked & (1u << PH_XCALL) ? PHASE_ALL : PHASE_LOCAL;
	for (int p = 0; p < PH_COUNT; p++)
		c->phase_sum[k][p] += c->phase_cur[p];
	c->phase_calls[k]++;
	c->phase_track = false;
}

void phase_reset(void)
{
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		if (cpus[i]) {
			memset(cpus[i]->phase_sum, 0, sizeof cpus[i]->phase_sum);
			memset(cpus[i]->phase_calls, 0, sizeof cpus[i]->phase_calls);
		}
}

uint64_t phase_mean(int k, enum phase p, uint64_t *calls)
{
	uint64_t sum = 0, n = 0;
	for (uint32_t i = 0; i < MAX_CPUS; i++)
		if (cpus[i]) {
			sum += cpus[i]->phase_sum[k][p];
			n += cpus[i]->phase_calls[k];
		}
	*calls = n;
	return n ? sum / n : 0;
}
#endif
