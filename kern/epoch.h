// epoch.h: quiescent-state bookkeeping for lazy unmap. A snapshot records, for a set
// of CPUs, how many quiescent points each had passed; it has "passed" once every one
// of them has passed another. Pure: the kernel owns the per-CPU counters, reads them
// with atomic loads and passes them in as an array indexed by CPU id.
//
// What makes "passed" mean "no stale translation left" is the kernel's side:
//  - a CPU bumps its counter right after a flush that drops every translation of the
//    spaces it may be holding (a CR3 load without PCID, or a tick that flushes), with
//    no access to user memory between the flush and the bump;
//  - the kernel clears the PTEs, then reads the space's CPU set, then snapshots. A CPU
//    outside that set holds none of the space's translations (it joins only by loading
//    CR3 after the PTE write); one inside it must pass a quiescent point after the
//    snapshot, hence after the PTE write, before the range is reclaimed.
//  With PCID a CR3 load does not drop other PCIDs' entries, so only flushes that cover
//  the space may count.
#ifndef KERN_EPOCH_H
#define KERN_EPOCH_H
#include <stdint.h>
#include <stdbool.h>

#define EPOCH_MAX_CPUS 64  // one bit per CPU in a uint64_t set; the kernel's MAX_CPUS

// Invariant: seen[c] is 0 for every c not in cpus, so equal snapshots compare equal.
struct epoch_snap {
	uint64_t cpus;                   // bit c: CPU c must pass a quiescent point
	uint64_t seen[EPOCH_MAX_CPUS];   // counters[c] when the snapshot was taken
};

// Records counters[c] for every CPU c in cpuset into s. counters has
// EPOCH_MAX_CPUS entries (only those in cpuset are read).
void epoch_snapshot(struct epoch_snap *s, uint64_t cpuset, const uint64_t *counters);

// The CPUs of s that have not yet passed a quiescent point since the snapshot:
// those c in s->cpus with counters[c] <= s->seen[c]. 0 once the snapshot has passed.
uint64_t epoch_pending(const struct epoch_snap *s, const uint64_t *counters);

// True when every CPU in s->cpus has a counter above its snapshot (at once for an
// empty set). Counters only grow, so once true it stays true.
bool epoch_passed(const struct epoch_snap *s, const uint64_t *counters);

#endif
