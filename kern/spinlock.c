// spinlock.c: ticket locks and the interrupt-disable nesting they rely on.
#include "kern/spinlock.h"
#include "kern/percpu.h"
#include "kern/panic.h"
#include "kern/xcall.h"
#include <arch/arch.h>

void spin_init(struct spinlock *l, const char *name)
{
	atomic_store(&l->next, 0);
	atomic_store(&l->owner, 0);
	l->cpu = -1;
	l->name = name;
}

// Nested, interrupts are off already: the only code that turns them on while the depth
// is above 0 is irq_window, for one nop, and the interrupt it lets in runs with them
// off and leaves the depth as it found it. So a nested save only counts (reading
// RFLAGS is a slow instruction to emulate, and kernel paths nest many saves).
void irq_save(void)
{
	struct cpu *c = this_cpu();
	if (c->irq_depth > 0) {
		c->irq_depth++;
		return;
	}
	bool on = irq_enabled();
	irq_disable();
	if (c->irq_depth++ == 0) {
		c->irq_was_on = on;
#ifdef IRQOFF_STATS
		c->irqoff_start = arch_cycles();
		c->irqoff_lock = NULL;
		c->irqoff_from = (uintptr_t)__builtin_return_address(0);
#endif
	}
}

#ifdef IRQOFF_STATS
// The outermost section that started at irqoff_start ends now.
static void irqoff_account(struct cpu *c, uintptr_t to)
{
	uint64_t d = arch_cycles() - c->irqoff_start;
	if (d > c->irqoff_max) {
		c->irqoff_max = d;
		c->irqoff_max_sys = c->cur_sys;
		c->irqoff_max_lock = c->irqoff_lock;
		c->irqoff_max_from = c->irqoff_from;
		c->irqoff_max_to = to;
	}
}
#endif

void irq_window(void)
{
	xcall_poll();
	struct cpu *c = this_cpu();
	if (c->irq_depth != 1 || !c->irq_was_on)
		return;
#ifdef IRQOFF_STATS
	irqoff_account(c, (uintptr_t)__builtin_return_address(0));
#endif
	arch_irq_window();
#ifdef IRQOFF_STATS
	c->irqoff_start = arch_cycles();
	c->irqoff_from = (uintptr_t)__builtin_return_address(0);
#endif
}

void irq_restore(void)
{
	struct cpu *c = this_cpu();
	KASSERT(c->irq_depth > 0);
	if (c->irq_depth > 1) { // nested: see irq_save
		c->irq_depth--;
		return;
	}
	KASSERT(!irq_enabled());
	if (--c->irq_depth == 0 && c->irq_was_on) {
#ifdef IRQOFF_STATS
		irqoff_account(c, (uintptr_t)__builtin_return_address(0));
#endif
		irq_enable();
	}
}

bool spin_holding(struct spinlock *l)
{
	return l->cpu == (int32_t)cpu_id() &&
	       atomic_load_explicit(&l->owner, memory_order_relaxed) !=
		       atomic_load_explicit(&l->next, memory_order_relaxed);
}

// The primitives themselves: the analysis takes their word (spinlock.h).
void spin_lock(struct spinlock *l) NO_LOCK_ANALYSIS
{
	irq_save();
#ifdef IRQOFF_STATS
	struct cpu *c = this_cpu();
	if (c->irq_depth == 1) {
		c->irqoff_lock = l->name;
		c->irqoff_from = (uintptr_t)__builtin_return_address(0);
	}
#endif
	KASSERT(!spin_holding(l));
	uint32_t me = atomic_fetch_add_explicit(&l->next, 1, memory_order_relaxed);
	while (atomic_load_explicit(&l->owner, memory_order_acquire) != me) {
		// Serve cross-calls: the holder may be waiting for our ack (see header).
		xcall_poll();
		cpu_relax();
	}
	l->cpu = (int32_t)cpu_id();
}

void spin_unlock(struct spinlock *l) NO_LOCK_ANALYSIS
{
	KASSERT(spin_holding(l));
	l->cpu = -1;
	atomic_fetch_add_explicit(&l->owner, 1, memory_order_release);
	irq_restore();
}
