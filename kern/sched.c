// sched.c: per-CPU run queues, vcpu switching, the idle step and preemption.
// vcpus never migrate: a vcpu runs on the CPU whose queue it was put on.
// Switching happens with interrupts off and exactly one irq_save() level (the
// scheduler's own), which the next vcpu's return path undoes.
#include <stddef.h>
#include "kern/sched.h"
#include "kern/vcpu.h"
#include "kern/space.h"
#include "kern/xcall.h"
#include "kern/shootdown.h"
#include "kern/kheap.h"
#include "kern/kva.h"
#include "kern/panic.h"
#include "include/pagoda/errors.h"
#include <arch/paging.h>
#include <arch/mmu.h>
#include <arch/frame.h>
#include <arch/arch.h>
#include <arch/fpu.h>

void ctx_switch(uintptr_t *save_rsp, uintptr_t next_rsp);

// Free kernel stacks: the global region never shrinks, so stacks are reused. The
// link to the next free stack lives in the free stack itself.
// stack_lock protects: stack_free_list.   stacks_cached: atomic (changed under the
// lock, read without it by leak tests).
static struct spinlock stack_lock = SPINLOCK_INIT("kstack");
static uintptr_t stack_free_list GUARDED_BY(stack_lock);
static _Atomic uint64_t stacks_cached;

int kstack_alloc(uintptr_t *base)
{
	spin_lock(&stack_lock);
	uintptr_t s = stack_free_list;
	if (s) {
		stack_free_list = *(uintptr_t *)s;
		atomic_fetch_sub_explicit(&stacks_cached, 1, memory_order_relaxed);
	}
	spin_unlock(&stack_lock);
	if (s) {
		*base = s;
		return E_OK;
	}
	return kva_alloc_stack(KSTACK_PAGES, base);
}

void kstack_free(uintptr_t base)
{
	spin_lock(&stack_lock);
	*(uintptr_t *)base = stack_free_list;
	stack_free_list = base;
	atomic_fetch_add_explicit(&stacks_cached, 1, memory_order_relaxed);
	spin_unlock(&stack_lock);
}

uint64_t kstack_cached(void) { return atomic_load_explicit(&stacks_cached, memory_order_relaxed); }

void sched_init_cpu(void)
{
	struct cpu *c = this_cpu();
	struct vcpu *t = kzalloc(sizeof *t);
	if (!t)
		panic("no memory for cpu%u's idle vcpu", c->id);
	t->cpu = c->id;
	t->state = V_RUNNING;
	spin_init(&c->runq_lock, "runq");
	c->current = c->idle = t;
}

static void runq_push(struct cpu *c, struct vcpu *t)
{
	spin_lock(&c->runq_lock);
	t->next = NULL;
	if (c->runq_tail)
		c->runq_tail->next = t;
	else
		atomic_store_explicit(&c->runq_head, t, memory_order_release);
	c->runq_tail = t;
	c->runq_len++;
	spin_unlock(&c->runq_lock);
}

static struct vcpu *runq_pop(struct cpu *c)
{
	spin_lock(&c->runq_lock);
	struct vcpu *t = atomic_load_explicit(&c->runq_head, memory_order_relaxed);
	if (t) {
		atomic_store_explicit(&c->runq_head, t->next, memory_order_relaxed);
		if (!t->next)
			c->runq_tail = NULL;
		c->runq_len--;
	}
	spin_unlock(&c->runq_lock);
	return t;
}

void sched_enqueue_by(struct vcpu *t, struct space *payer)
{
	t->state = V_RUNNABLE;
	runq_push(cpus[t->cpu], t);
	if (t->cpu == cpu_id())
		return;
	// Waking another CPU (it may halt in idle) is an IPI that interrupts whatever
	// runs there, so the space that caused it pays. Over its budget no IPI is sent:
	// that CPU finds t at its next timer tick, at most 1/TIMER_HZ later.
	if (space_budget_take(payer, 1) != E_OK) {
		space_count(&payer->counters.ipis_deferred, 1);
		return;
	}
	xcall_wake(cpuset_of(t->cpu)); // device interrupts wake vcpus too (notify_signal)
	if (payer)
		space_count(&payer->counters.wake_ipis, 1);
}

void sched_enqueue(struct vcpu *t) { sched_enqueue_by(t, NULL); }

// Runs right after every switch, on the incoming vcpu: the outgoing one, if it
// exited, is off its stack and its CPU left its space, so it can be freed.
void sched_finish(void)
{
	struct cpu *c = this_cpu();
	struct vcpu *z = c->zombie;
	if (z) {
		c->zombie = NULL;
		vcpu_reap(z);
	}
}

// Eager switching, deferred past the idle context: the kernel never touches these
// registers, so they stay a vcpu's until another user vcpu comes in; only then are
// they saved and the newcomer's loaded (docs/vcpus.md says why eager, not lazy).
static void fpu_switch(struct cpu *c, struct vcpu *next)
{
	if (!next->fpu || c->fpu_owner == next)
		return;
	if (c->fpu_owner)
		arch_fpu_save(c->fpu_owner->fpu);
	arch_fpu_load(next->fpu);
	c->fpu_owner = next;
}

// Interrupts off, one irq_save() level.
static void switch_to(struct vcpu *next)
{
	struct cpu *c = this_cpu();
	struct vcpu *prev = c->current;
	KASSERT(c->irq_depth == 1 && !irq_enabled());
	fpu_switch(c, next);
	space_switch(next->space);
	c->current = next;
	next->state = V_RUNNING;
	if (next->kstack_base) {
		c->kstack_top = next->kstack_base + KSTACK_PAGES * PAGE_SIZE;
		c->arch.tss.rsp[0] = c->kstack_top;
	}
	bool was_on = c->irq_was_on; // the interrupt state belongs to the vcpu
	ctx_switch(&prev->ksp, next->ksp);
	this_cpu()->irq_was_on = was_on;
	sched_finish();
}

void sched_yield(void)
{
	irq_save();
	struct cpu *c = this_cpu();
	struct vcpu *next = runq_pop(c);
	if (next) {
		struct vcpu *me = c->current;
		if (me != c->idle) {
			me->state = V_RUNNABLE;
			runq_push(c, me);
		}
		switch_to(next);
	}
	irq_restore();
}

void sched_block(void)
{
	irq_save();
	struct cpu *c = this_cpu();
	struct vcpu *me = c->current, *next = runq_pop(c);
	if (next == me) // woken before it could switch away
		me->state = V_RUNNING;
	else
		switch_to(next ? next : c->idle);
	irq_restore();
}

void sched_exit(void)
{
	irq_save();
	struct cpu *c = this_cpu();
	struct vcpu *me = c->current, *next = runq_pop(c);
	KASSERT(me != c->idle && !c->zombie);
	me->state = V_DEAD;
	c->zombie = me;
	if (c->fpu_owner == me)
		c->fpu_owner = NULL; // its state dies with it: nothing to save
	switch_to(next ? next : c->idle);
	panic("dead vcpu resumed");
}

void sched_idle_once(void)
{
	irq_disable();
	// No lock: an enqueue after this read sends the wake-up IPI that ends the hlt.
	if (atomic_load_explicit(&this_cpu()->runq_head, memory_order_acquire)) {
		irq_enable();
		sched_yield();
		return;
	}
	arch_wait_for_interrupt(); // an enqueue's wake-up IPI ends the hlt
}

void sched_tick(void)
{
	struct cpu *c = this_cpu();
	vcpu_tick();
	if (atomic_load_explicit(&c->runq_head, memory_order_relaxed)) // a miss waits a tick
		c->need_resched = true;
	// A quiescent point for lazy unmaps (epoch.h): drop this space's translations.
	struct space *s = c->loaded;
	if (s && space_lazy_waiting(s)) {
		arch_tlb_flush_all();
		atomic_fetch_add(&c->qs_count, 1);
	}
}

void sched_user_return(struct trap_frame *f)
{
	struct cpu *c = this_cpu();
	if (c->need_resched) {
		c->need_resched = false;
		c->current->preempted = true; // it learns of it through an upcall
		sched_yield();
	}
	struct vcpu *v = this_cpu()->current;
	// No lock: a delete that lands just after this read kicks this CPU (space_delete
	// cross-calls the CPUs in s->cpus), so the vcpu stops on its next way back.
	if (space_dead(v->space))
		vcpu_exit(0);
	vcpu_user_return(f);
	arch_frame_user_sanitize(f);
}

uint32_t sched_pick_cpu(void)
{
	static _Atomic uint32_t rr;
	cpuset_t online = cpuset_online();
	uint32_t n = (uint32_t)cpuset_count(online), k = atomic_fetch_add(&rr, 1) % n;
	for (cpuset_t s = online;; s &= s - 1)
		if (k-- == 0)
			return (uint32_t)__builtin_ctzll(s);
}
