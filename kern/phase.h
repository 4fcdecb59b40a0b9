// phase.h: the PHASE_STATS build (make bench boots it with bench=phase): where a
// 1-page protect that lowers rights spends its time. Each PHASE_MARK(p) says "phase p
// ends here": the TSC ticks since the previous mark (or the syscall entry) go to p.
// The syscall entry and exit (entry.S) open and close the record; bench.c reports the
// means. In every other build the marks are empty: the normal kernel pays nothing.
#ifndef KERN_PHASE_H
#define KERN_PHASE_H
#include <stdint.h>

enum phase {
	PH_ENTRY,   // syscall_entry to the handler: frame, dispatch, argument narrowing
	PH_LOOKUP,  // handle lookup, lock, lazy reclaim, vmmap coverage and rights checks
	PH_SCAN,    // the first PTE pass and the budget check (only when others hold the space)
	PH_PTE,     // the PTE edit through the leaf table's window, and the gather
	PH_LOCAL,   // the local invlpg (or full flush)
	PH_XCALL,   // posting the cross-call and waiting for its acks (only with targets)
	PH_EXIT,    // counters, unlock, return through dispatch and the scheduler, the register pops
	PH_COUNT
};
enum { PHASE_LOCAL, PHASE_ALL, PHASE_KINDS }; // no target / some target was cross-called

#ifdef PHASE_STATS
void phase_mark(enum phase p);
// Clears the means (bench.c, between runs of shootbench's sections).
void phase_reset(void);
// The mean ticks of phase p over the recorded calls of kind k (all CPUs), and their count.
uint64_t phase_mean(int k, enum phase p, uint64_t *calls);
#define PHASE_MARK(p) phase_mark(p)
#else
#define PHASE_MARK(p) ((void)0)
#endif

#endif
