// targeting.c: shootdowns reach only the CPUs that may hold the space's translations
// (SPEC principle 4). Read per-CPU shootdown counters (pg_cpu_tlb_ipis) and the
// space's own accounting around many protect calls.
#include "tcommon.h"

#define ROUNDS 500

static int ncpu;
static uint64_t tlb0[64];

static void snap_cpus(void)
{
	for (int k = 0; k < ncpu; k++)
		tlb0[k] = (uint64_t)pg_cpu_tlb_ipis(k);
}

static uint64_t cpu_delta(int k) { return (uint64_t)pg_cpu_tlb_ipis(k) - tlb0[k]; }

// n rounds of RW->R->RW on the test page; false if a call failed.
static bool flip(const char *name, int n)
{
	for (int i = 0; i < n; i++) {
		if (!UCHECK_EQ(name, pg_protect(H_SELF, TEST_VA, PAGE, PROT_READ), E_OK) ||
		    !UCHECK_EQ(name, pg_protect(H_SELF, TEST_VA, PAGE, PROT_READ | PROT_WRITE), E_OK))
			return false;
	}
	return true;
}

// Only this thread, on cpu0: no IPI at all, on any CPU.
static void local_protect_sends_no_ipi(const char *n)
{
	uint64_t ipis = tc_stats(H_SELF).ipis_sent;
	snap_cpus();
	flip(n, ROUNDS);
	UCHECK_EQ(n, tc_stats(H_SELF).ipis_sent, ipis);
	for (int k = 0; k < ncpu; k++)
		UCHECK_EQ(n, cpu_delta(k), 0);
}

// A spinner on cpu1: each lowering interrupts cpu1 once, raising never, and CPUs
// that never ran the space are never interrupted.
static void only_running_cpus_are_targets(const char *n)
{
	if (ncpu < 2) {
		local_protect_sends_no_ipi(n); // one CPU: nothing else to target
		return;
	}
	if (!UCHECK(n, tc_spin_start(1)))
		return;
	struct space_stats st0 = tc_stats(H_SELF);
	snap_cpus();
	flip(n, ROUNDS);
	struct space_stats st = tc_stats(H_SELF);
	UCHECK_EQ(n, st.ipis_sent - st0.ipis_sent, ROUNDS);
	UCHECK_EQ(n, st.remote_flushes - st0.remote_flushes, ROUNDS);
	UCHECK_EQ(n, cpu_delta(1), ROUNDS);
	for (int k = 2; k < ncpu; k++)
		UCHECK_EQ(n, cpu_delta(k), 0);
	UCHECK_EQ(n, cpu_delta(0), 0); // the caller flushes itself, no IPI
	UCHECK(n, tc_spin_stop_all(1));
}

// Once the spinner is gone its CPU has left the set: no more IPIs to it.
static void left_cpus_are_not_targets(const char *n)
{
	if (ncpu >= 2) { // run on cpu1 once more so that it was in the set before
		UCHECK(n, tc_spin_start(1));
		UCHECK(n, tc_spin_stop_all(1));
	}
	uint64_t ipis = tc_stats(H_SELF).ipis_sent;
	snap_cpus();
	flip(n, ROUNDS);
	UCHECK_EQ(n, tc_stats(H_SELF).ipis_sent, ipis);
	for (int k = 0; k < ncpu; k++)
		UCHECK_EQ(n, cpu_delta(k), 0);
}

static const struct utest_case cases[] = {
	{ "targeting_local_protect_sends_no_ipi", local_protect_sends_no_ipi },
	{ "targeting_only_running_cpus_are_targets", only_running_cpus_are_targets },
	{ "targeting_left_cpus_are_not_targets", left_cpus_are_not_targets },
};

int main(uint64_t arg)
{
	(void)arg;
	ncpu = pg_cpu_count();
	if (ncpu > 64)
		ncpu = 64;
	if (tc_map_new(TEST_VA, 1) < 0)
		return 1;
	return UTEST_RUN(cases);
}
