// plat_pagoda.c: the runtime on pagoda. Each runtime vcpu is a pagoda vcpu whose
// upcall stack is also its scheduler stack; upcalls become the runtime's preemption
// and fault paths; idle vcpus sleep in notify_wait (inside the upcall, so it simply
// returns) with the vcpu timer as the deadline; memory comes from mem objects mapped
// in VA from libpagoda's allocator (pg_va_alloc), which never hands an address out
// twice: what the runtime gives back is unmapped lazily and stays unused.
#include "rt.h"
#include "plat.h"
#include <stdatomic.h>
#include "pagoda.h"

#define PAGE 4096UL
#define RT_ALIGN    (1UL << 21)  // reservations are 2 MiB-aligned (as hosted)
#define USTACK_GAP  (PG_UPCALL_STACK_SIZE + PAGE) // an unmapped page between upcall stacks

static handle_t idle_n = -1, exit_n = -1;
static _Atomic int exited;
static int nvcpus;
static uintptr_t ustacks; // vcpu i's upcall stack: [ustacks + i * USTACK_GAP + PAGE, + PG_UPCALL_STACK_SIZE)

uintptr_t plat_reserve(size_t bytes)
{
	long va = pg_va_alloc(bytes, RT_ALIGN);
	return va < 0 ? 0 : (uintptr_t)va;
}

int plat_map(uintptr_t va, size_t bytes) { return pg_va_map(va, bytes) == E_OK ? 0 : -1; }

uintptr_t plat_reserve_stacks(size_t bytes) { return plat_reserve(bytes); }

// One mem object for all n pages and one mapv: three calls, however many stacks.
int plat_map_pages(const uintptr_t *va, size_t n)
{
	struct pg_mapop ops[64];
	if (n == 0 || n > sizeof ops / sizeof ops[0])
		return -1;
	handle_t m = pg_mem_create(n * PAGE);
	if (m < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		ops[i] = (struct pg_mapop){ .op = MAPOP_MAP, .prot = PROT_READ | PROT_WRITE, .va = va[i], .len = PAGE,
					    .mem = m, .off = i * PAGE };
	int err = pg_mapv(H_SELF, ops, n, NULL);
	pg_handle_close(m); // the mappings hold the memory
	return err == E_OK ? 0 : -1;
}
const bool plat_stacks_grow_on_fault = true;

// The space's own stats, through a static buffer: the kernel's copy gets E_FAULT on a
// stack page not grown yet (it does not grow it), while this copy out of it does.
static int own_stats(struct space_stats *out)
{
	static struct space_stats st;
	static volatile uint32_t lock;
	pg_spin_lock(&lock);
	int err = pg_space_stats(H_SELF, &st);
	*out = st;
	pg_spin_unlock(&lock);
	return err;
}

uint64_t plat_memory_bytes(void)
{
	struct space_stats st;
	return own_stats(&st) == E_OK ? st.charged : 0;
}

void *plat_alloc(size_t bytes)
{
	long va = pg_va_alloc(bytes, PAGE);
	if (va < 0)
		return NULL;
	if (pg_va_map((uintptr_t)va, (bytes + PAGE - 1) & ~(PAGE - 1)) != E_OK) {
		pg_va_free_unmapped((uintptr_t)va, bytes);
		return NULL;
	}
	return (void *)va;
}

void plat_free(void *p, size_t bytes)
{
	if (pg_va_free((uintptr_t)p, bytes) != E_OK)
		plat_panic("plat_free of memory plat_alloc did not give");
}

size_t plat_xstate_max(void) { return PG_XSTATE_MAX; }
uint64_t plat_now_ns(void) { return pg_clock_ns(); }
void plat_puts(const char *s) { pg_debug_write(s, strlen(s)); }

void plat_panic(const char *what)
{
	pg_printf("rt: %s\n", what);
	__builtin_trap();
}

// Below where the kernel writes upcall frames (not that it writes one while the
// scheduler runs: that is inside an upcall).
uintptr_t plat_sched_stack(int i)
{
	return ustacks + (uintptr_t)i * USTACK_GAP + PAGE + PG_UPCALL_STACK_SIZE - sizeof(struct pg_upcall);
}

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
	pg_set_lock_hooks(rt_critical_enter, rt_critical_leave);
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

// A runtime vcpu that died of a fault in an upcall (the kernel stopped it, rt.c
// trapped on purpose) never exits: rather than wait for it forever, the program ends
// with the fault counted (exit status -1), its other vcpus stopped with it.
static void end_if_a_vcpu_faulted(void)
{
	struct space_stats st;
	if (own_stats(&st) == E_OK && st.faults) {
		pg_printf("rt: a vcpu stopped on a fault: the program ends\n");
		pg_space_delete(H_SELF);
	}
}

void plat_wait_vcpus(void)
{
	while (atomic_load(&exited) < nvcpus) {
		pg_vcpu_timer(100000000); // look at the fault count every 100 ms
		pg_notify_wait(exit_n);
		pg_vcpu_timer(0);
		end_if_a_vcpu_faulted();
	}
	// Until the last has stopped for good (the count goes before pg_exit).
	struct space_stats st;
	int err;
	do
		pg_yield();
	while ((err = own_stats(&st)) == E_OK && st.vcpus > 1);
	if (err != E_OK)
		__builtin_trap(); // a wrong count here would let the program end too early
}
