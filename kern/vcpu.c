// vcpu.c: virtual processors and upcalls. Every event is delivered by rewriting the
// vcpu's user frame: the interrupted context is saved in a struct pg_upcall written
// at the top of the upcall stack, and the frame is pointed at the entry point. The
// runtime resumes a saved context itself (user/lib/context.S), so the common path
// needs no system call. While the vcpu's rsp is inside its upcall stack it is in an
// upcall: nothing is delivered then (abi.h says what happens instead).
#include <stddef.h>
#include "kern/vcpu.h"
#include "kern/space.h"
#include "kern/notify.h"
#include "kern/kheap.h"
#include "kern/console.h"
#include "kern/panic.h"
#include "lib/string.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include <arch/arch.h>
#include <arch/uaccess.h>
#include <arch/paging.h>
#include <arch/frame.h>
#include <arch/syscall.h>
#include <arch/fpu.h>

extern char ctx_thread_start[];
void sched_finish(void);

static bool cpu_ok(int cpu)
{
	return cpu == -1 || (cpu >= 0 && cpu < MAX_CPUS && (cpuset_online() & cpuset_of((uint32_t)cpu)));
}

static uint64_t now_ns(void) { return arch_now_ns(); }

// The new vcpu's first switch "returns" into ctx_thread_start with a user frame
// right above; seven zeros stand for the callee-saved registers and RFLAGS
// (interrupts off: they stay off until the iretq to user mode).
static void build_stack(struct vcpu *v)
{
	uintptr_t top = v->kstack_base + KSTACK_PAGES * PAGE_SIZE;
	struct trap_frame *f = (struct trap_frame *)top - 1;
	arch_frame_user_entry(f, v->entry, v->upcall_top, 0);
	uintptr_t *sp = (uintptr_t *)f;
	*--sp = (uintptr_t)ctx_thread_start;
	for (int i = 0; i < 7; i++)
		*--sp = 0;
	v->ksp = (uintptr_t)sp;
}

// What a vcpu costs its space: the struct, its extended-state area and kernel stack.
static size_t fpu_alloc_size(void) { return arch_fpu_size() + 63; } // room to align to 64
static uint64_t vcpu_cost(void)
{
	return kheap_cost(sizeof(struct vcpu)) + kheap_cost(fpu_alloc_size()) + KSTACK_PAGES * PAGE_SIZE;
}

static void vcpu_free(struct vcpu *v)
{
	if (v->kstack_base)
		kstack_free(v->kstack_base);
	kfree(v->fpu_mem);
	kfree(v);
}

int vcpu_create(struct space *s, uintptr_t entry, uintptr_t upcall_stack, uint64_t arg, int cpu,
		struct space *payer)
{
	if (!cpu_ok(cpu) || !user_range_ok(entry, 1) || upcall_stack < PG_UPCALL_STACK_SIZE ||
	    !user_range_ok(upcall_stack - PG_UPCALL_STACK_SIZE, PG_UPCALL_STACK_SIZE))
		return E_INVAL;
	if (space_charge(s, CHARGE_KERNEL, vcpu_cost()) != E_OK)
		return E_NOMEM;
	struct vcpu *v = kzalloc(sizeof *v);
	if (v)
		v->fpu_mem = kmalloc(fpu_alloc_size());
	int err = v && v->fpu_mem ? kstack_alloc(&v->kstack_base) : E_NOMEM;
	if (err != E_OK) {
		if (v)
			vcpu_free(v);
		space_uncharge(s, CHARGE_KERNEL, vcpu_cost());
		return err;
	}
	v->fpu = (void *)(((uintptr_t)v->fpu_mem + 63) & ~(uintptr_t)63);
	arch_fpu_init_state(v->fpu);
	spin_init(&v->wait_lock, "vcpu wait");
	v->space = s;
	v->cpu = cpu == -1 ? sched_pick_cpu() : (uint32_t)cpu;
	v->entry = entry;
	v->upcall_top = upcall_stack & ~63UL; // the frame, and so its xstate, 64-byte aligned
	v->arg = arg;
	build_stack(v);
	if ((err = space_vcpu_add(s, v)) != E_OK) {
		vcpu_free(v);
		space_uncharge(s, CHARGE_KERNEL, vcpu_cost());
		return err;
	}
	sched_enqueue_by(v, payer); // the creator pays for starting it on another CPU
	return E_OK;
}

static bool in_upcall(struct vcpu *v, uintptr_t rsp)
{
	return rsp > v->upcall_top - PG_UPCALL_STACK_SIZE && rsp <= v->upcall_top;
}

// The frame up to its extended-state image, which is copied separately (only the
// bytes the CPU uses).
#define UPCALL_HEAD offsetof(struct pg_upcall, xstate)

// Saves the interrupted context's extended state into the frame's image: the vcpu's
// registers are live (fpu_owner, sched.c), and go on unchanged into the upcall.
static int upcall_xstate(struct vcpu *v, struct pg_upcall *u, uintptr_t frame)
{
	KASSERT(this_cpu()->fpu_owner == v);
	arch_fpu_save(v->fpu);
	u->ctx.xstate = frame + UPCALL_HEAD;
	u->ctx.xsize = (uint16_t)arch_fpu_size();
	u->ctx.mxcsr = arch_fpu_mxcsr(v->fpu);
	u->ctx.fcw = arch_fpu_fcw(v->fpu);
	return copy_to_user(frame + UPCALL_HEAD, v->fpu, arch_fpu_size());
}

// Redirects f into an upcall. False (f untouched) if the vcpu is in an upcall
// already or its upcall stack cannot be written.
static bool upcall(struct trap_frame *f, struct pg_upcall *u)
{
	struct vcpu *v = current();
	if (u->reason != UPCALL_START && in_upcall(v, arch_frame_sp(f)))
		return false;
	u->arg = v->arg;
	u->cpu = v->cpu;
	uintptr_t sp = v->upcall_top - sizeof *u;
	if (u->reason != UPCALL_START) {
		arch_frame_save_context(f, &u->ctx);
		if (upcall_xstate(v, u, sp) != E_OK)
			return false;
	} else {
		u->ctx.mxcsr = arch_fpu_mxcsr(v->fpu);
		u->ctx.fcw = arch_fpu_fcw(v->fpu);
	}
	if (copy_to_user(sp, u, UPCALL_HEAD) != E_OK)
		return false;
	arch_frame_user_entry(f, v->entry, sp - 8, sp); // arg = the frame; sp as after a call
	return true;
}

// A vcpu that cannot take an event it must take (a fault) stops; the holder of the
// space's handle sees it in space_stats.faults.
__attribute__((noreturn)) static void stop_unhandled(struct trap_frame *f, const char *why, uint64_t addr)
{
	struct arch_fault flt;
	arch_frame_fault(f, &flt);
	kprintf("vcpu on cpu%u stopped: %s (vector %lu at rip %#lx, addr %#lx)\n", cpu_id(), why,
		flt.code >> 32, arch_frame_pc(f), addr);
	space_note_fault(current()->space);
	vcpu_exit(-1);
}

// First code a new vcpu runs after its switch: finish the switch, drop the
// switcher's irq_save level (interrupts stay off until iretq), enter START.
void vcpu_first_run(struct trap_frame *f)
{
	sched_finish();
	struct cpu *c = this_cpu();
	KASSERT(c->irq_depth == 1);
	c->irq_depth = 0;
	struct pg_upcall u = { .reason = UPCALL_START };
	if (!upcall(f, &u))
		stop_unhandled(f, "upcall stack not writable at start", current()->upcall_top);
	sched_user_return(f);
}

void vcpu_exit(int status)
{
	space_note_exit(current()->space, status);
	sched_exit();
}

bool vcpu_fault_spurious(uintptr_t addr, uint64_t pf_error)
{
	struct vcpu *v = current();
	return v && v->space && space_fault_spurious(v->space, addr, pf_error);
}

void vcpu_user_fault(struct trap_frame *f)
{
	struct arch_fault flt;
	arch_frame_fault(f, &flt);
	// Raising rights sends no IPI, so a CPU may fault once on its old, narrower
	// entry; the fault dropped that entry, so retrying sees the new PTE.
	if (flt.page && vcpu_fault_spurious(flt.addr, flt.pf_error))
		return;
	struct pg_upcall u = { .reason = UPCALL_FAULT, .fault_addr = flt.addr, .fault_code = flt.code };
	if (!upcall(f, &u))
		stop_unhandled(f, in_upcall(current(), arch_frame_sp(f)) ? "fault in an upcall" : "upcall stack not writable",
			       flt.addr);
}

void vcpu_user_return(struct trap_frame *f)
{
	struct vcpu *v = current();
	if (v->timer_pending) {
		struct pg_upcall u = { .reason = UPCALL_TIMER };
		if (upcall(f, &u))
			v->timer_pending = v->preempted = false;
	}
	if (v->preempted) {
		struct pg_upcall u = { .reason = UPCALL_PREEMPTED };
		upcall(f, &u); // in an upcall: it just goes on where it was
		v->preempted = false;
	}
}

void vcpu_return_notify(uint64_t bits)
{
	current()->return_notify = bits;
}

void vcpu_deliver_return_notify(struct trap_frame *f)
{
	struct vcpu *v = current();
	uint64_t bits = v->return_notify;
	v->return_notify = 0;
	arch_syscall_set_ret(f, (int64_t)bits); // what the context returns when the runtime resumes it
	struct pg_upcall u = { .reason = UPCALL_NOTIFY, .notify_bits = bits };
	upcall(f, &u); // in an upcall: notify_wait simply returns the bits
}

// This CPU's timer list is touched only by this CPU, with interrupts off.
static void timer_unlink(struct cpu *c, struct vcpu *v)
{
	for (struct vcpu **p = &c->timers; *p; p = &(*p)->timer_next)
		if (*p == v) {
			*p = v->timer_next;
			return;
		}
}

void vcpu_timer_set(uint64_t ns)
{
	irq_save();
	struct vcpu *v = current();
	struct cpu *c = this_cpu();
	timer_unlink(c, v);
	v->timer_deadline = ns ? now_ns() + ns : 0;
	v->timer_pending = false;
	if (ns) {
		v->timer_next = c->timers;
		c->timers = v;
	}
	irq_restore();
}

void vcpu_tick(void)
{
	struct cpu *c = this_cpu();
	if (!c->timers)
		return;
	uint64_t now = now_ns();
	for (struct vcpu **p = &c->timers; *p;) {
		struct vcpu *v = *p;
		if (v->timer_deadline > now) {
			p = &v->timer_next;
			continue;
		}
		*p = v->timer_next;
		v->timer_deadline = 0;
		v->timer_pending = true;
		if (v->state == V_BLOCKED)
			notify_cancel_wait(v, NULL); // the wait ends with E_TIMEOUT (this CPU: no IPI)
	}
}

void vcpu_reap(struct vcpu *v)
{
	struct space *s = v->space;
	timer_unlink(this_cpu(), v);
	space_vcpu_unlink(s, v);
	vcpu_free(v);
	space_uncharge(s, CHARGE_KERNEL, vcpu_cost());
	space_vcpu_gone(s); // last: a waiter may count the heap as soon as nvcpus drops
}
