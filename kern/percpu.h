// percpu.h: each CPU's private state, reached through GS base (this_cpu()).
// Fields are written only by their own CPU unless marked otherwise; counters other
// CPUs read are atomics.
#ifndef KERN_PERCPU_H
#define KERN_PERCPU_H
#include <stdint.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <arch/arch.h>
#include <arch/cpu.h>
#include "kern/spinlock.h"
#include "kern/phase.h"

#define MAX_CPUS 64
typedef uint64_t cpuset_t; // bit i = CPU with dense id i

struct xcall_req;
struct vcpu;
struct space;

struct cpu {
	struct cpu *self;        // gs:0, so this_cpu() is one load
	uint32_t id;             // dense index, 0 = BSP
	uint32_t apic_id;
	uintptr_t kstack_top;    // gs:16: the running thread's kernel stack top (syscall entry)
	uintptr_t user_rsp;      // gs:24: scratch for the syscall entry
	int irq_depth;           // nesting of irq_save(); see spinlock.c
	// The IRQOFF_STATS build (make bench): the longest interrupts-off section the
	// outermost irq_save/irq_restore made, in TSC ticks, and the system call it was
	// in (-1: none). Own CPU only; bench.c reads them once the CPUs are quiet.
	uint64_t irqoff_start, irqoff_max;
	int64_t cur_sys, irqoff_max_sys;
	const char *irqoff_lock, *irqoff_max_lock; // the outermost lock of the section (NULL: none)
	uintptr_t irqoff_from, irqoff_max_from, irqoff_max_to; // where it began and ended (code)
	bool irq_was_on;         // interrupt state before the outermost irq_save()
	_Atomic bool online;     // set (release) by the CPU itself once it is up
	uint32_t kwin_used;      // bitmap of this CPU's temporary-window slots in use
	uint64_t kwin_kept;      // the PTE the kept slot holds (kwin.c), 0: none
	_Atomic uint64_t ticks;  // timer interrupts taken
	// The vcpu whose extended state the registers hold (NULL: none), so a switch saves
	// and loads only when another user vcpu comes in (sched.c). Own CPU, interrupts off.
	struct vcpu *fpu_owner;

	// Cross-call inbox (xcall.c): slot[s] is written by CPU s only, then s sets bit s
	// in pending; this CPU clears pending and runs the requests.
	_Atomic uint64_t xcall_pending;
	bool xcall_active;       // this CPU has a request of its own in flight
	struct xcall_req *_Atomic xcall_slot[MAX_CPUS];

	// Counters read by tests and benchmarks.
	_Atomic uint64_t ipis_sent;
	_Atomic uint64_t ipis_received;
	_Atomic uint64_t xcalls_run;

	// Scheduling (sched.c). runq_lock protects runq_head/runq_tail/runq_len; the
	// rest is written by this CPU only. runq_head is also read without the lock (is
	// anything queued?), hence atomic.
	struct vcpu *current;
	struct vcpu *idle;         // this CPU's boot context, runs idle_loop
	struct vcpu *zombie;       // exited thread whose stack the next thread frees
	struct vcpu *_Atomic runq_head;
	struct vcpu *runq_tail;
	uint32_t runq_len;
	struct spinlock runq_lock;
	bool need_resched;           // set by the timer, acted on at return to user
	struct vcpu *timers;         // vcpus of this CPU with a timer armed (vcpu.c)

	// Address space whose tables CR3 holds (NULL: kernel-only tables). Written by
	// this CPU only, read by shootdown targets running on it.
	struct space *loaded;
	// Quiescent points: CR3 loads and flushing ticks; lazy unmap waits for them (epoch.h).
	_Atomic uint64_t qs_count;
	_Atomic uint64_t tlb_ipis;   // shootdown requests this CPU ran for others

	struct arch_cpu arch;
#ifdef PHASE_STATS
	// kern/phase.c: the current call's ticks per phase, and the recorded calls' sums.
	uint64_t phase_stamp, phase_cur[PH_COUNT], phase_sum[PHASE_KINDS][PH_COUNT], phase_calls[PHASE_KINDS];
	uint32_t phase_marked;
	bool phase_track;
#endif
};
_Static_assert(__builtin_offsetof(struct cpu, kstack_top) == 16, "entry.S uses gs:16");
_Static_assert(__builtin_offsetof(struct cpu, user_rsp) == 24, "entry.S uses gs:24");

extern struct cpu *cpus[MAX_CPUS];  // by dense id; set before the CPU starts
extern _Atomic uint32_t ncpus_online;
extern uint32_t ncpus;              // CPUs found by firmware tables (online or not)

static inline struct cpu *this_cpu(void) { return arch_this_cpu(); }
static inline uint32_t cpu_id(void) { return this_cpu()->id; }
static inline cpuset_t cpuset_of(uint32_t id) { return (cpuset_t)1 << id; }
static inline int cpuset_count(cpuset_t s) { return __builtin_popcountll(s); }
cpuset_t cpuset_online(void);

#endif
