// xcall.c: cross-calls. Each CPU has an inbox of MAX_CPUS slots, one per possible
// sender, plus a pending bitmask. A sender has at most one request in flight (it waits
// for all acks before returning), so slot[sender] needs no lock: the sender writes it,
// then sets its bit in the target's pending mask; the target claims bits with an
// atomic exchange and runs each request exactly once. Waiters keep serving their own
// inbox, so CPUs cross-calling each other at the same time cannot deadlock.
#include <stddef.h>
#include "kern/xcall.h"
#include "kern/panic.h"
#include "kern/spinlock.h"
#include <arch/arch.h>

void xcall_poll(void)
{
	struct cpu *me = this_cpu();
	uint64_t p = atomic_exchange_explicit(&me->xcall_pending, 0, memory_order_acquire);
	while (p) {
		unsigned src = __builtin_ctzll(p);
		p &= p - 1;
		struct xcall_req *r = atomic_load_explicit(&me->xcall_slot[src], memory_order_relaxed);
		r->fn(r->arg);
		atomic_fetch_add_explicit(&me->xcalls_run, 1, memory_order_relaxed);
		// After this the sender may return and its stack-held request is gone.
		atomic_fetch_sub_explicit(&r->pending, 1, memory_order_release);
	}
}

static void post(struct cpu *me, struct cpu *t, struct xcall_req *r)
{
	atomic_store_explicit(&t->xcall_slot[me->id], r, memory_order_relaxed);
	uint64_t was = atomic_fetch_or_explicit(&t->xcall_pending, cpuset_of(me->id), memory_order_release);
	// If bits were already pending, an IPI is on its way and the target's exchange
	// has not happened yet, so it will see our bit too: no second IPI needed.
	if (was == 0) {
		arch_send_xcall(t->apic_id);
		atomic_fetch_add_explicit(&me->ipis_sent, 1, memory_order_relaxed);
	}
}

void xcall_send(struct xcall_req *r, cpuset_t targets, xcall_fn fn, void *arg)
{
	struct cpu *me = this_cpu();
	cpuset_t others = targets & ~cpuset_of(me->id) & cpuset_online();
	*r = (struct xcall_req){ .fn = fn, .arg = arg, .pending = cpuset_count(others) };
	KASSERT(!me->xcall_active); // slot[me] of each target holds at most one request
	me->xcall_active = true;
	for (cpuset_t s = others; s; s &= s - 1)
		post(me, cpus[__builtin_ctzll(s)], r);
}

void xcall_wait(struct xcall_req *r)
{
	struct cpu *me = this_cpu();
	KASSERT(me->xcall_active);
	while (atomic_load_explicit(&r->pending, memory_order_acquire) > 0) {
		xcall_poll();
		cpu_relax();
	}
	me->xcall_active = false;
}

void xcall_run(cpuset_t targets, xcall_fn fn, void *arg)
{
	struct xcall_req r;
	xcall_send(&r, targets, fn, arg);
	if (targets & cpuset_of(cpu_id())) {
		irq_save(); // remote targets run fn with interrupts off; so do we
		fn(arg);
		irq_restore();
	}
	xcall_wait(&r);
}

static void nop(void *arg) { (void)arg; }

void xcall_kick(cpuset_t targets) { xcall_run(targets, nop, NULL); }

void xcall_wake(cpuset_t targets)
{
	struct cpu *me = this_cpu();
	for (cpuset_t s = targets & ~cpuset_of(me->id) & cpuset_online(); s; s &= s - 1) {
		arch_send_xcall(cpus[__builtin_ctzll(s)]->apic_id);
		atomic_fetch_add_explicit(&me->ipis_sent, 1, memory_order_relaxed);
	}
}
