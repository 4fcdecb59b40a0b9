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

static int tc_stacks __attribute__((unused));

// Starts fn(arg) on cpu (-1: any) with a fresh 16 KiB stack; fault (may be 0) is
// where a CPU exception restarts it. Returns E_OK or the failing call's error.
static inline int tc_spawn(void (*fn)(uint64_t), uint64_t arg, int cpu, void (*fault)(uint64_t, uint64_t, uint64_t))
{
	handle_t m = pg_mem_create(STACK_SZ);
	if (m < 0)
		return m;
	uintptr_t va = STACK_VA + (uintptr_t)tc_stacks++ * 16 * PAGE;
	int err = pg_map(H_SELF, va, m, 0, STACK_SZ, PROT_READ | PROT_WRITE);
	pg_handle_close(m); // the mapping keeps the memory
	if (err < 0)
		return err;
	return pg_thread_create(H_SELF, (uintptr_t)fn, va + STACK_SZ, arg, cpu, (uintptr_t)fault);
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
	return TC_WAIT(tc_stats(H_SELF).threads == keep, 10000);
}

#endif
