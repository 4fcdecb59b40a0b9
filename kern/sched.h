// sched.h: per-CPU run queues and thread switching (interim: threads are created by
// the kernel per user program; vcpus will replace them, the switching stays).
// The kernel is not preemptive: a thread is switched only when it yields, exits, or
// returns to user mode with need_resched set (the timer sets it).
#ifndef KERN_SCHED_H
#define KERN_SCHED_H
#include <stdint.h>
#include <stdbool.h>
#include "kern/percpu.h"

struct space;
struct trap_frame;

enum thread_state { T_RUNNABLE, T_RUNNING, T_DEAD };

// Fields are written by the CPU running or queuing the thread, under its runq_lock
// while queued; user fields are set at creation and then only by the thread itself.
struct thread {
	uintptr_t ksp;          // saved kernel rsp while switched out
	uintptr_t kstack_base;  // stack: [kstack_base, kstack_base + KSTACK_SIZE), guard below
	struct space *space;    // NULL: a kernel thread, runs on the kernel-only tables
	struct thread *next;    // run queue link
	uint32_t cpu;           // the CPU whose queue holds it (threads do not migrate)
	enum thread_state state;
	// User thread: where it starts, and where a fault restarts it (0: fault kills it).
	uintptr_t entry, stack_top, fault_entry;
	uint64_t arg;
	uint64_t faults;
};

#define KSTACK_PAGES 4

void sched_init_cpu(void);            // the calling context becomes this CPU's idle thread
void sched_enqueue(struct thread *t); // on t->cpu's queue; wakes that CPU if it idles
void sched_yield(void);               // lets queued threads of this CPU run
__attribute__((noreturn)) void sched_exit(void); // current thread is done
void sched_idle_once(void);           // one idle step: run queued work or halt till an interrupt
void sched_tick(void);                // timer: preemption and lazy-unmap quiescent points
// Called just before returning to user mode, interrupts off.
void sched_user_return(struct trap_frame *f);
static inline struct thread *current(void) { return this_cpu()->current; }
uint32_t sched_pick_cpu(void);        // round-robin over online CPUs

int kstack_alloc(uintptr_t *base);    // from a cache of guarded stacks
void kstack_free(uintptr_t base);
uint64_t kstack_cached(void);         // stacks in the cache (leak tests)

#endif
