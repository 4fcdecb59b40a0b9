// budget_hog.c: runs with a shootdown budget of 1 IPI a tick (tests/kern/
// test_user.c sets it) and hammers protect on a page that a spinner keeps live on
// cpu1. It must be refused with E_BUDGET, and a refused call must change nothing.
// budget_victim runs in another space at the same time and must not notice.
#include "tcommon.h"

#define CALLS 3000

static void hammer(const char *n)
{
	int ncpu = pg_cpu_count();
	if (ncpu > 1 && !UCHECK(n, tc_spin_start(1)))
		return;
	volatile uint64_t *p = (volatile uint64_t *)TEST_VA;
	uint64_t ok = 0, denied = 0;
	for (int i = 0; i < CALLS; i++) {
		int r = pg_protect(H_SELF, TEST_VA, PAGE, PROT_READ);
		if (r == E_BUDGET) {
			denied++;
			*p = (uint64_t)i; // still writable: the refused call changed nothing
			continue;
		}
		if (!UCHECK_EQ(n, r, E_OK) ||
		    !UCHECK_EQ(n, pg_protect(H_SELF, TEST_VA, PAGE, PROT_READ | PROT_WRITE), E_OK))
			break;
		ok++;
	}
	struct space_stats st = tc_stats(H_SELF);
	pg_printf("budget_hog: %lu protects done, %lu refused, %lu IPIs sent\n", ok, denied, st.ipis_sent);
	UCHECK_EQ(n, st.budget_denials, denied);
	if (ncpu > 1) {
		UCHECK(n, denied > 0);
		UCHECK_EQ(n, st.ipis_sent, ok); // one target per successful lowering
		UCHECK(n, tc_spin_stop_all(1));
	} else {
		UCHECK_EQ(n, denied, 0); // one CPU: no IPI needed, so no budget spent
	}
}

static const struct utest_case cases[] = {
	{ "budget_hog_is_refused", hammer },
};

int main(uint64_t arg)
{
	(void)arg;
	if (tc_map_new(TEST_VA, 1) < 0)
		return 1;
	return UTEST_RUN(cases);
}
