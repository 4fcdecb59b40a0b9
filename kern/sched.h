// sched.h: per-CPU run queues and vcpu switching. The kernel multiplexes CPUs among
// vcpus (and each CPU's idle context, a kernel-only vcpu); that is its only
// scheduling policy. It is not preemptive in kernel mode: a vcpu is switched when it
// yields, blocks, stops, or returns to user mode with need_resched set (the timer).
#ifndef KERN_SCHED_H
#define KERN_SCHED_H
#include <stdint.h>
#include <stdbool.h>
#include "kern/percpu.h"

struct space;
struct trap_frame;
struct notify;

enum vcpu_state { V_RUNNABLE, V_RUNNING, V_BLOCKED, V_DEAD };

// Scheduling fields are written by the CPU running or queuing the vcpu, under that
// CPU's runq_lock while queued (vcpus never migrate). The upcall fields are set at
// creation; pending_* are written by the vcpu's own CPU (ticks, wake-ups) and, for
// notify bits, under the notify's lock (notify.c).
struct vcpu {
	uintptr_t ksp;          // saved kernel rsp while switched out
	uintptr_t kstack_base;  // stack: [kstack_base, kstack_base + KSTACK_PAGES pages), guard below
	struct space *space;    // NULL: a CPU's idle context, on the kernel-only tables
	struct vcpu *next;      // run queue link, or notify waiter link
	uint32_t cpu;           // the CPU whose queue holds it
	enum vcpu_state state;
	uintptr_t entry;        // upcall entry point
	uintptr_t upcall_top;   // upcall stack: [upcall_top - PG_UPCALL_STACK_SIZE, upcall_top)
	uint64_t arg;
	uint64_t timer_deadline;  // ns; 0: no timer armed
	bool timer_pending;       // expired, TIMER upcall not delivered yet
	bool preempted;           // the timer took the CPU: a PREEMPTED upcall is due
	uint64_t wake_bits;       // notify bits that ended a blocking wait
	uint64_t return_notify;   // non-zero: the current system call returns through a
	                          // NOTIFY upcall with these bits (own CPU only, vcpu.h)
	// The notify it blocks on: set and cleared under that notify's lock and then
	// wait_lock (in that order), so holding either keeps it stable; next is guarded
	// by the notify's lock.
	struct notify *waiting;
	struct spinlock wait_lock;
	struct vcpu *timer_next;  // this CPU's armed timers (cpu->timers)
	struct vcpu *space_next;  // its space's vcpus (space lock)
	// Its extended state (arch/fpu.h) while another vcpu's is in its CPU's registers;
	// fpu_mem is the allocation fpu is aligned in. NULL for idle contexts.
	void *fpu, *fpu_mem;
	struct object *reap;      // objects at zero refs that this thread will destroy (object.c)
	bool reaping;             // an obj_unref of this thread is draining reap
};

#define KSTACK_PAGES 4

void sched_init_cpu(void);            // the calling context becomes this CPU's idle vcpu
// Makes v runnable on its CPU's queue; wakes that CPU if it idles. From an
// interrupt handler only for a vcpu of the calling CPU.
void sched_enqueue(struct vcpu *v);
// The same, on behalf of payer (NULL: the kernel), which pays for the wake-up IPI if
// v's CPU is another one (and, over payer's budget, gets none sent).
void sched_enqueue_by(struct vcpu *v, struct space *payer);
void sched_yield(void);               // lets queued vcpus of this CPU run
// Switches away from the current vcpu, already marked V_BLOCKED and made findable
// by its waker; returns once it has been enqueued again (at once if it already was).
void sched_block(void);
__attribute__((noreturn)) void sched_exit(void); // current vcpu is done
void sched_idle_once(void);           // one idle step: run queued work or halt till an interrupt
void sched_tick(void);                // timer: preemption and lazy-unmap quiescent points
// Called just before returning to user mode, interrupts off.
void sched_user_return(struct trap_frame *f);
static inline struct vcpu *current(void) { return this_cpu()->current; }
uint32_t sched_pick_cpu(void);        // round-robin over online CPUs

int kstack_alloc(uintptr_t *base);    // from a cache of guarded stacks
void kstack_free(uintptr_t base);
uint64_t kstack_cached(void);         // stacks in the cache (leak tests)

#endif
