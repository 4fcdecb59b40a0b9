// plat.h: what the runtime needs from the system under it. rt/plat_pagoda.c provides
// it with vcpus, upcalls, notifications and mem objects; rt/hosted/plat_linux.c with
// pthreads, SIGSEGV, futexes and mmap. Everything else in rt/ is the same source.
#ifndef PAGODA_RT_PLAT_H
#define PAGODA_RT_PLAT_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct pg_context;

// Starts vcpus 0..n-1; each enters rt_vcpu_main(i) with a scheduler stack (on pagoda:
// its upcall stack). Returns 0, or -1.
int plat_start_vcpus(int n);
void plat_wait_vcpus(void);          // returns once every vcpu has left rt_vcpu_main
__attribute__((noreturn)) void plat_vcpu_exit(void); // the calling vcpu leaves
// The top of vcpu i's scheduler stack: the runtime enters its scheduler there.
uintptr_t plat_sched_stack(int i);

// The most bytes an interrupted context's extended-state image (pg_context.xstate)
// takes here: the runtime keeps a copy of it for each preempted thread.
size_t plat_xstate_max(void);

uint64_t plat_now_ns(void);
// Sleeps the calling vcpu until plat_wake() or the deadline (0: none).
void plat_idle(uint64_t deadline_ns);
void plat_wake(void);                // wakes one sleeping vcpu (or the next to sleep)
// Interrupts the calling vcpu's thread after ns through rt_preempted (one shot).
void plat_slice(uint64_t ns);

// Memory: a VA range nothing uses (never handed out twice), and RW pages in it.
uintptr_t plat_reserve(size_t bytes);
int plat_map(uintptr_t va, size_t bytes);  // 0, or -1
// The VA of every thread stack (bytes of it): on pagoda a plat_reserve whose pages the
// runtime maps (stack_alloc) and grows on faults; hosted, demand-zero memory that
// Linux grows itself (one mapping: a guard page per stack would be two, and a process
// has at most 65,530), so there stack pages are never plat_map'ed.
uintptr_t plat_reserve_stacks(size_t bytes);
// One RW page at each of va[0, n) (page-aligned, unused; 0 < n <= 64), in one go: 0,
// or -1 (then none is mapped). Only where stacks grow on fault.
int plat_map_pages(const uintptr_t *va, size_t n);
extern const bool plat_stacks_grow_on_fault;
// What the program holds now, in bytes: on pagoda its space's charge (frames, page
// tables, kernel objects: space_stats.charged); hosted its resident set.
uint64_t plat_memory_bytes(void);
void *plat_alloc(size_t bytes);      // page-aligned, zeroed, for the runtime's own records
void plat_free(void *p, size_t bytes); // gives back plat_alloc(bytes)'s p; never handed out again
void plat_puts(const char *s);
__attribute__((noreturn)) void plat_panic(const char *what);

// Called by the platform.
__attribute__((noreturn)) void rt_vcpu_main(int i);
// An interrupted thread's context (preemption), its extended state included
// (ctx->xstate): if the runtime takes it, this does not return; if it returns, resume
// the context as it was.
// slice_end: the interruption is the end of a plat_slice.
void rt_preempted(int vcpu, const struct pg_context *ctx, bool slice_end);
// A fault: RT_FAULT_RETRY, RT_FAULT_YIELD (take the thread off the vcpu, as on a
// preemption, and retry later) or RT_FAULT_UNHANDLED.
int rt_fault(uintptr_t addr, uint64_t code);

#endif
