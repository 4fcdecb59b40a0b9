// tcommon.h: helpers shared by the user test programs: threads with their own
// stacks, bounded waits, and fixed test addresses. Header-only (each program is one
// .c file).
#ifndef TESTS_USER_TCOMMON_H
#define TESTS_USER_TCOMMON_H
#include "utest.h"

#define PAGE 4096UL
#define TEST_VA   0x10000000UL  // regions under test
#define STACK_VA  0x40000000UL  // worker stacks, 64 KiB apart
#define STACK_SZ  (4 * PAGE)

#define TC_MAX_VCPUS 128
// What the tests give a child space: room for its tables, records and a few vcpus
// (a space costs about 12 KiB, a vcpu about 17 KiB), out of the test's 1 GiB.
#define TC_CHILD_QUOTA  (256UL << 10)
#define TC_CHILD_BUDGET 1000

// What a test vcpu runs: fn(arg) on its own stack; a fault restarts it at
// fault(arg, addr, code) on a fresh stack (or, without one, is left unhandled).
struct tc_vcpu {
	void (*fn)(uint64_t);
	void (*fault)(uint64_t, uint64_t, uint64_t);
	uint64_t arg;
	uintptr_t stack_top;
};
static struct tc_vcpu tc_vcpus[TC_MAX_VCPUS] __attribute__((unused));
static int tc_stacks __attribute__((unused));

__attribute__((noreturn)) static inline void tc_enter(uintptr_t rip, uintptr_t stack_top, uint64_t a0, uint64_t a1, uint64_t a2)
{
	struct pg_context c;
	memset(&c, 0, sizeof c);
	c.rip = rip;
	c.rsp = stack_top - 8; // as after a call
	c.rdi = a0, c.rsi = a1, c.rdx = a2;
	c.rflags = 0x202;
	pg_context_resume(&c);
}

// The upcall handler of every test vcpu: the thin layer that turns upcalls into
// "run fn, restart at fault on a fault".
__attribute__((noreturn)) static inline void tc_upcall(struct pg_upcall *u)
{
	struct tc_vcpu *t = &tc_vcpus[u->arg];
	if (u->reason == UPCALL_START)
		tc_enter((uintptr_t)t->fn, t->stack_top, t->arg, 0, 0);
	if (u->reason == UPCALL_FAULT) {
		if (!t->fault)
			__builtin_trap(); // unhandled: the kernel stops the vcpu and counts it
		tc_enter((uintptr_t)t->fault, t->stack_top, t->arg, u->fault_addr, u->fault_code);
	}
	pg_context_resume(&u->ctx); // preempted, timer, notify: carry on
}

// Starts fn(arg) in a new vcpu on cpu (-1: any) with a fresh 16 KiB stack and an
// upcall stack; fault (may be 0) is where a CPU exception restarts it. Returns E_OK
// or the failing call's error.
static inline int tc_spawn(void (*fn)(uint64_t), uint64_t arg, int cpu, void (*fault)(uint64_t, uint64_t, uint64_t))
{
	if (tc_stacks >= TC_MAX_VCPUS)
		return E_NOMEM;
	handle_t m = pg_mem_create(STACK_SZ + PG_UPCALL_STACK_SIZE);
	if (m < 0)
		return m;
	int i = tc_stacks++;
	uintptr_t va = STACK_VA + (uintptr_t)i * 16 * PAGE;
	int err = pg_map(H_SELF, va, m, 0, STACK_SZ + PG_UPCALL_STACK_SIZE, PROT_READ | PROT_WRITE);
	pg_handle_close(m); // the mapping keeps the memory
	if (err < 0)
		return err;
	tc_vcpus[i] = (struct tc_vcpu){ fn, fault, arg, va + STACK_SZ };
	return pg_vcpu_create(H_SELF, (uintptr_t)tc_upcall, va + STACK_SZ + PG_UPCALL_STACK_SIZE, (uint64_t)i, cpu);
}

// A fresh RW mapping of n pages at va; returns the mem handle (still open).
static inline handle_t tc_map_new(uintptr_t va, size_t n)
{
	handle_t m = pg_mem_create(n * PAGE);
	if (m < 0)
		return m;
	int err = pg_map(H_SELF, va, m, 0, n * PAGE, PROT_READ | PROT_WRITE);
	return err < 0 ? err : m;
}

// Waits until *flag is non-zero, yielding; false after timeout_ms.
#define TC_WAIT(cond, timeout_ms)                                                        \
	__extension__({                                                                  \
		uint64_t t0_ = pg_clock_ns();                                            \
		bool ok_ = true;                                                         \
		while (!(cond)) {                                                        \
			if (pg_clock_ns() - t0_ > (uint64_t)(timeout_ms) * 1000000) {    \
				ok_ = (cond);                                            \
				break;                                                   \
			}                                                                \
			pg_yield();                                                      \
		}                                                                        \
		ok_;                                                                     \
	})

static inline struct space_stats tc_stats(handle_t s)
{
	struct space_stats st;
	memset(&st, 0, sizeof st);
	pg_space_stats(s, &st);
	return st;
}

// tc_read_faults: a read of va from a fresh vcpu on cpu (-1: any); true if it faulted,
// at va.
static volatile uint64_t tc_probe_addr __attribute__((unused)), tc_probe_done __attribute__((unused));

static inline void tc_probe(uint64_t va)
{
	(void)*(volatile uint64_t *)va;
	tc_probe_done = 1; // the read succeeded
	pg_exit(0);
}

static inline void tc_probe_fault(uint64_t va, uint64_t addr, uint64_t code)
{
	(void)va, (void)code;
	tc_probe_addr = addr;
	tc_probe_done = 2;
	pg_exit(0);
}

static inline bool tc_read_faults(uintptr_t va, int cpu)
{
	tc_probe_done = tc_probe_addr = 0;
	if (tc_spawn(tc_probe, va, cpu, tc_probe_fault) != E_OK || !TC_WAIT(tc_probe_done != 0, 5000))
		return false;
	return tc_probe_done == 2 && tc_probe_addr == va;
}

// A thread that only spins, keeping the space loaded on its CPU (shootdown target).
static volatile uint64_t tc_spin_stop __attribute__((unused)), tc_spin_count __attribute__((unused));

static inline void tc_spinner(uint64_t arg)
{
	(void)arg;
	__atomic_fetch_add(&tc_spin_count, 1, __ATOMIC_SEQ_CST);
	while (!tc_spin_stop)
		__asm__ volatile("" ::: "memory");
	pg_exit(0);
}

// Starts a spinner on cpu and waits until it runs.
static inline bool tc_spin_start(int cpu)
{
	uint64_t n = tc_spin_count;
	tc_spin_stop = 0;
	return tc_spawn(tc_spinner, 0, cpu, 0) == E_OK && TC_WAIT(tc_spin_count > n, 10000);
}

// Stops every spinner and waits until only `keep` threads are left in the space
// (reaped: their CPUs have left the space's CPU set).
static inline bool tc_spin_stop_all(uint64_t keep)
{
	tc_spin_stop = 1;
	return TC_WAIT(tc_stats(H_SELF).vcpus == keep, 10000);
}

#endif
