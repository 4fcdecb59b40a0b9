// budget_victim.c: runs in its own space while budget_hog exhausts its budget, and
// measures its own progress: every one of its protect calls must succeed (a space
// pays only for its own shootdowns). Its rate is printed, not asserted.
#include "tcommon.h"

#define CALLS 3000

static void progress(const char *n)
{
	uint64_t t0 = pg_clock_ns(), done = 0;
	for (int i = 0; i < CALLS; i++) {
		if (!UCHECK_EQ(n, pg_protect(H_SELF, TEST_VA, PAGE, PROT_READ), E_OK) ||
		    !UCHECK_EQ(n, pg_protect(H_SELF, TEST_VA, PAGE, PROT_READ | PROT_WRITE), E_OK))
			break;
		done++;
	}
	uint64_t us = (pg_clock_ns() - t0) / 1000;
	struct space_stats st = tc_stats(H_SELF);
	pg_printf("budget_victim: %lu protect pairs in %lu us on cpu%d\n", done, us, pg_cpu_id());
	UCHECK_EQ(n, done, CALLS);
	UCHECK_EQ(n, st.budget_denials, 0);
	UCHECK_EQ(n, st.ipis_sent, 0);
}

static const struct utest_case cases[] = {
	{ "budget_victim_unaffected", progress },
};

int main(uint64_t arg)
{
	(void)arg;
	if (tc_map_new(TEST_VA, 1) < 0)
		return 1;
	return UTEST_RUN_QUIET(cases); // beside budget_hog: the kernel reports it
}
