// epoch.c: quiescent-state snapshots for lazy unmap: copy the counters of a CPU set,
// later compare. O(CPUs in the set) per call, no state of its own; the ordering that
// makes it sound is the kernel's and is spelled out in epoch.h.
#include "kern/epoch.h"

void epoch_snapshot(struct epoch_snap *s, uint64_t cpuset, const uint64_t *counters)
{
	s->cpus = cpuset;
	for (unsigned c = 0; c < EPOCH_MAX_CPUS; c++)
		s->seen[c] = (cpuset >> c) & 1 ? counters[c] : 0;
}

uint64_t epoch_pending(const struct epoch_snap *s, const uint64_t *counters)
{
	uint64_t left = 0;
	for (uint64_t set = s->cpus; set != 0; set &= set - 1) {
		unsigned c = (unsigned)__builtin_ctzll(set);
		if (counters[c] <= s->seen[c])
			left |= 1ull << c;
	}
	return left;
}

bool epoch_passed(const struct epoch_snap *s, const uint64_t *counters)
{
	return epoch_pending(s, counters) == 0;
}
