// plat_pagoda.c: the runtime on pagoda. Each runtime vcpu is a pagoda vcpu whose
// upcall stack is also its scheduler stack; upcalls become the runtime's preemption
// and fault paths; idle vcpus sleep in notify_wait (inside the upcall, so it simply
// returns) with the vcpu timer as the deadline; memory comes from mem objects.
#include "rt.h"
#include "plat.h"
#include <stdatomic.h>
#include "pagoda.h"

#define PAGE 4096UL
#define RT_VA_BASE  0x100000000000UL  // the runtime's VA: never reused
#define USTACK_GAP  (PG_UPCALL_STACK_SIZE + PAGE) // an unmapped page between upcall stacks

static _Atomic uintptr_t va_next = RT_VA_BASE;
static handle_t idle_n = -1, exit_n = -1;
static _Atomic int exited;
static int nvcpus;
static uintptr_t ustacks; // vcpu i's upcall stack: [ustacks + i * USTACK_GAP + PAGE, + PG_UPCALL_STACK_SIZE)

uintptr_t plat_reserve(size_t bytes)
{
	bytes = (bytes + (1UL << 21) - 1) & ~((1UL << 21) - 1);
	return atomic_fetch_add(&va_next, bytes);
}

int plat_map(uintptr_t va, size_t bytes)
{
	handle_t m = pg_mem_create(bytes);
	if (m < 0)
		return -1;
	int err = pg_map(H_SELF, va, m, 0, bytes, PROT_READ | PROT_WRITE);
	pg_handle_close(m); // the mapping holds the memory
	return err < 0 ? -1 : 0;
}

void *plat_alloc(size_t bytes)
{
	bytes = (bytes + PAGE - 1) & ~(PAGE - 1);
	uintptr_t va = plat_reserve(bytes);
	return plat_map(va, bytes) == 0 ? (void *)va : NULL;
}

uint64_t plat_now_ns(void) { return pg_clock_ns(); }
void plat_puts(const char *s) { pg_debug_write(s, strlen(s)); }

void plat_panic(const char *what)
{
	pg_printf("rt: %s\n", what);
	__builtin_trap();
}

uintptr_t plat_sched_stack(int i) { return ustacks + (uintptr_t)i * USTACK_GAP + PAGE + PG_UPCALL_STACK_SIZE - 256; }

void plat_idle(uint64_t deadline)
{
	if (deadline) {
		uint64_t now = pg_clock_ns();
		if (deadline <= now)
			return;
		pg_vcpu_timer(deadline - now);
	}
	pg_notify_wait(idle_n); // in the upcall: returns the bits, or E_TIMEOUT
	if (deadline)
		pg_vcpu_timer(0);
}

void plat_wake(void) { pg_notify_signal(idle_n, 1); }
void plat_slice(uint64_t ns) { pg_vcpu_timer(ns); }

void plat_vcpu_exit(void)
{
	atomic_fetch_add(&exited, 1);
	pg_notify_signal(exit_n, 1);
	pg_exit(0);
}

__attribute__((noreturn)) static void upcall(struct pg_upcall *u)
{
	int i = (int)u->arg;
	switch (u->reason) {
	case UPCALL_START:
		rt_vcpu_main(i);
	case UPCALL_PREEMPTED:
	case UPCALL_TIMER:
		rt_preempted(i, &u->ctx, u->reason == UPCALL_TIMER); // returns if left be
		break;
	case UPCALL_FAULT:
		switch (rt_fault(u->fault_addr, u->fault_code)) {
		case RT_FAULT_RETRY:
			break;
		case RT_FAULT_YIELD:
			rt_preempted(i, &u->ctx, false); // returns if the thread cannot leave now
			break;
		default:
			pg_printf("rt: unhandled fault at %#lx (code %#lx, rip %#lx)\n", u->fault_addr,
				  u->fault_code, u->ctx.rip);
			__builtin_trap(); // in the upcall: the kernel stops the vcpu and reports it
		}
		break;
	}
	pg_context_resume(&u->ctx);
}

int plat_start_vcpus(int n)
{
	nvcpus = n;
	idle_n = pg_notify_create();
	exit_n = pg_notify_create();
	ustacks = plat_reserve((size_t)n * USTACK_GAP);
	if (idle_n < 0 || exit_n < 0 || !ustacks)
		return -1;
	int ncpu = pg_cpu_count();
	for (int i = 0; i < n; i++) {
		uintptr_t lo = ustacks + (uintptr_t)i * USTACK_GAP + PAGE;
		if (plat_map(lo, PG_UPCALL_STACK_SIZE) != 0 ||
		    pg_vcpu_create(H_SELF, (uintptr_t)upcall, lo + PG_UPCALL_STACK_SIZE, (uint64_t)i, i % ncpu) != E_OK)
			return -1;
	}
	return 0;
}

void plat_wait_vcpus(void)
{
	while (atomic_load(&exited) < nvcpus)
		pg_notify_wait(exit_n);
	// Until the last has stopped for good (the count goes before pg_exit).
	static struct space_stats st; // not on the stack: a kernel copy gets E_FAULT on a
	                              // stack page not grown yet, it does not grow it
	int err;
	do
		pg_yield();
	while ((err = pg_space_stats(H_SELF, &st)) == E_OK && st.vcpus > 1);
	if (err != E_OK)
		__builtin_trap(); // a wrong count here would let the program end too early
}
