// thread.c: interim user threads: creation, exit, user faults and reaping.
// A user fault restarts the thread at its fault entry (rdi = arg, rsi = fault address,
// rdx = error code | vector << 32, fresh stack); without one the thread is killed
// and the space's fault count tells the holder. Upcalls will replace this.
#include <stddef.h>
#include "kern/thread.h"
#include "kern/space.h"
#include "kern/kheap.h"
#include "kern/console.h"
#include "kern/panic.h"
#include "include/pagoda/errors.h"
#include "uentry.h"
#include "paging.h"
#include "x86.h"

extern char ctx_thread_start[];
void sched_finish(void);

static bool cpu_ok(int cpu)
{
	return cpu == -1 || (cpu >= 0 && cpu < MAX_CPUS && (cpuset_online() & cpuset_of((uint32_t)cpu)));
}

// The new thread's first switch "returns" into ctx_thread_start with the user
// frame right above; six zeros stand for the callee-saved registers.
static void build_stack(struct thread *t)
{
	uintptr_t top = t->kstack_base + KSTACK_PAGES * PAGE_SIZE;
	struct trap_frame *f = (struct trap_frame *)top - 1;
	uentry_frame(f, t->entry, t->stack_top, t->arg);
	uintptr_t *sp = (uintptr_t *)f;
	*--sp = (uintptr_t)ctx_thread_start;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->ksp = (uintptr_t)sp;
}

int thread_create(struct space *s, uintptr_t entry, uintptr_t stack, uint64_t arg,
		  int cpu, uintptr_t fault_entry)
{
	if (!cpu_ok(cpu) || !user_range_ok(entry, 1) || !user_range_ok(stack - 1, 1) ||
	    (fault_entry && !user_range_ok(fault_entry, 1)))
		return E_INVAL;
	struct thread *t = kzalloc(sizeof *t);
	if (!t)
		return E_NOMEM;
	int err = kstack_alloc(&t->kstack_base);
	if (err != E_OK) {
		kfree(t);
		return err;
	}
	if ((err = space_thread_add(s)) != E_OK) {
		kstack_free(t->kstack_base);
		kfree(t);
		return err;
	}
	t->space = s;
	t->cpu = cpu == -1 ? sched_pick_cpu() : (uint32_t)cpu;
	t->entry = entry;
	t->stack_top = (stack & ~15UL) - 8; // as after a call: the C ABI's entry alignment
	t->arg = arg;
	t->fault_entry = fault_entry;
	build_stack(t);
	sched_enqueue(t);
	return E_OK;
}

// First code a new thread runs after its switch: finish the switch, drop the
// switcher's irq_save level (interrupts stay off until iretq), then go to user mode.
void thread_first_run(struct trap_frame *f)
{
	sched_finish();
	struct cpu *c = this_cpu();
	KASSERT(c->irq_depth == 1);
	c->irq_depth = 0;
	sched_user_return(f);
}

void thread_exit(int status)
{
	space_note_exit(current()->space, status);
	sched_exit();
}

void thread_user_fault(struct trap_frame *f)
{
	struct thread *t = current();
	uint64_t addr = f->vector == VEC_PF ? read_cr2() : f->rip;
	uint64_t code = f->error | f->vector << 32;
	// Raising rights sends no IPI, so a CPU may fault once on its old, narrower
	// entry; the fault dropped that entry, so retrying sees the new PTE.
	if (f->vector == VEC_PF && space_fault_spurious(t->space, addr, f->error))
		return;
	t->faults++;
	if (!t->fault_entry) {
		kprintf("user fault: vector %lu at rip %#lx addr %#lx err %#lx: thread killed\n",
			f->vector, f->rip, addr, f->error);
		space_note_fault(t->space);
		thread_exit(-1);
	}
	uentry_frame(f, t->fault_entry, t->stack_top, t->arg);
	f->rsi = addr;
	f->rdx = code;
}

void thread_reap(struct thread *t)
{
	struct space *s = t->space;
	kstack_free(t->kstack_base);
	kfree(t);
	space_thread_gone(s);
}
