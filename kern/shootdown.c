// shootdown.c: the TLB-shootdown protocol (docs/shootdown.md has the full argument).
//
// Why reading s->cpus once, after the PTE write, is enough: a CPU sets its bit
// (a locked, fully fenced RMW) before it loads s's root, so either our read sees the
// bit, or the CPU's CR3 load comes after our PTE write and it walks the new PTEs. A
// CPU clears its bit only after loading another root, which dropped s's entries: if
// we miss it, it holds nothing stale; if we see it, a request it no longer needs is
// harmless (the handler checks what the CPU has loaded now).
#include <stddef.h>
#include "kern/shootdown.h"
#include "kern/space.h"
#include "kern/xcall.h"
#include "kern/panic.h"
#include "kern/timer.h"
#include "kern/phase.h"
#include "include/pagoda/errors.h"
#include <arch/mmu.h>

struct flush_req {
	struct space *s;
	const struct tlb_range *r;
	uint32_t n;
	bool full;
};

// This CPU's flush of the request's ranges (or of everything).
static void flush_here(const struct flush_req *q)
{
	if (q->full) {
		arch_tlb_flush_all();
		return;
	}
	for (uint32_t i = 0; i < q->n; i++)
		arch_tlb_flush_range(q->r[i].va, q->r[i].npages);
}

// Runs on each target, interrupts off; takes no lock (xcall.h).
static void flush_remote(void *arg)
{
	struct flush_req *r = arg;
	struct cpu *c = this_cpu();
	atomic_fetch_add_explicit(&c->tlb_ipis, 1, memory_order_relaxed);
#ifdef SHOOTDOWN_SKIP_REMOTE_FLUSH
	(void)r;
#else
	// A CPU that switched away since the caller read the set lost s's entries then.
	if (c->loaded == r->s)
		flush_here(r);
#endif
	// The negative-control kernel (make test builds it) acks without flushing: the
	// coherence test must catch the stale entries it leaves.
}

// The cross-call goes out before the local flush, so the targets flush while the
// caller does (after Amit et al., EuroSys '20): each side's flush depends only on the
// PTE write and the fence before the read of cpus, and the call still returns only
// when both are done, so nothing any CPU may observe changes.
void shootdown(struct space *s, struct space *payer, const struct tlb_range *ranges, uint32_t nranges)
{
	spin_assert_held(&s->lock);
	PHASE_MARK(PH_PTE);
	struct cpu *me = this_cpu();
	struct space_counters *st = &(payer ? payer : s)->counters; // payer's lock not held: atomics
	size_t npages = 0;
	for (uint32_t i = 0; i < nranges; i++)
		npages += ranges[i].npages;
	bool full = arch_tlb_flush_is_full(npages);
	atomic_thread_fence(memory_order_seq_cst); // PTE writes before the read of cpus
	cpuset_t targets = atomic_load(&s->cpus) & ~cpuset_of(me->id);
	struct flush_req r = { s, ranges, nranges, full };
	struct xcall_req x;
	if (targets) {
		xcall_send(&x, targets, flush_remote, &r);
		PHASE_MARK(PH_XCALL);
	}
	if (me->loaded == s) {
		flush_here(&r);
		space_count(&st->local_flushes, 1);
		space_count(full ? &st->full_flushes : &st->pages_flushed, full ? 1 : npages);
	}
	PHASE_MARK(PH_LOCAL);
	if (!targets)
		return;
	xcall_wait(&x); // returns after every target acked
	PHASE_MARK(PH_XCALL);
	uint64_t n = (uint64_t)cpuset_count(targets);
	space_count(&st->ipis_sent, n);
	space_count(&st->remote_flushes, n);
	space_count(full ? &st->full_flushes : &st->pages_flushed, full ? n : n * npages);
}

int shootdown_budget_check(struct space *s, struct space *payer)
{
	cpuset_t targets = atomic_load(&s->cpus) & ~cpuset_of(cpu_id());
	int err = space_budget_take(payer, cpuset_count(targets));
	if (err != E_OK)
		space_count(&payer->counters.budget_denials, 1);
	return err;
}

int space_budget_take(struct space *payer, int64_t need)
{
	if (!payer || need == 0)
		return E_OK;
	int err = E_OK;
	spin_lock(&payer->budget_lock);
	if (payer->budget_per_tick) {
		// Its own share: what its children hold is theirs to spend (space.h). Tokens
		// stay in [0, rate], so any tick passed since the last refill fills them up.
		int64_t rate = (int64_t)(payer->budget_per_tick - payer->budget_carved);
		uint64_t now = timer_ticks(0);
		if (now != payer->budget_stamp || payer->budget_tokens > rate)
			payer->budget_tokens = rate;
		payer->budget_stamp = now;
		if (payer->budget_tokens < need)
			err = E_BUDGET;
		else
			payer->budget_tokens -= need;
	}
	spin_unlock(&payer->budget_lock);
	return err;
}
