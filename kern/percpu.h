// percpu.h: each CPU's private state, reached through GS base (this_cpu()).
// Fields are written only by their own CPU unless marked otherwise; counters other
// CPUs read are atomics.
#ifndef KERN_PERCPU_H
#define KERN_PERCPU_H
#include <stdint.h>
#include <stdbool.h>
#include <stdatomic.h>
#include "cpu.h"

#define MAX_CPUS 64
typedef uint64_t cpuset_t; // bit i = CPU with dense id i

struct xcall_req;

struct cpu {
	struct cpu *self;        // gs:0, so this_cpu() is one load
	uint32_t id;             // dense index, 0 = BSP
	uint32_t apic_id;
	uintptr_t kstack_top;
	int irq_depth;           // nesting of irq_save(); see spinlock.c
	bool irq_was_on;         // interrupt state before the outermost irq_save()
	bool online;
	uint32_t kwin_used;      // bitmap of this CPU's temporary-window slots in use
	_Atomic uint64_t ticks;  // timer interrupts taken

	// Cross-call inbox (xcall.c): slot[s] is written by CPU s only, then s sets bit s
	// in pending; this CPU clears pending and runs the requests.
	_Atomic uint64_t xcall_pending;
	bool xcall_active;       // this CPU has a request of its own in flight
	struct xcall_req *_Atomic xcall_slot[MAX_CPUS];

	// Counters read by tests and benchmarks.
	_Atomic uint64_t ipis_sent;
	_Atomic uint64_t ipis_received;
	_Atomic uint64_t xcalls_run;

	struct arch_cpu arch;
};

extern struct cpu *cpus[MAX_CPUS];  // by dense id; set before the CPU starts
extern _Atomic uint32_t ncpus_online;
extern uint32_t ncpus;              // CPUs found by firmware tables (online or not)

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(c));
	return c;
}
static inline uint32_t cpu_id(void) { return this_cpu()->id; }
static inline cpuset_t cpuset_of(uint32_t id) { return (cpuset_t)1 << id; }
static inline int cpuset_count(cpuset_t s) { return __builtin_popcountll(s); }
cpuset_t cpuset_online(void);

#endif
