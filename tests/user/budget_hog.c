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

// Wake-ups are IPIs too: a waiter on cpu1 blocks in notify_wait, and each signal
// must wake it, but with one IPI a tick the hog gets at most about one wake-up IPI a
// tick; the others wait for cpu1's next tick. Every signal still arrives.
#define ROUNDS 40
static volatile uint64_t got;
static handle_t nt;

static void waiter(uint64_t arg)
{
	(void)arg;
	while (got < ROUNDS) {
		long bits = pg_notify_wait(nt);
		if (bits > 0)
			__atomic_fetch_add(&got, (uint64_t)__builtin_popcountll((uint64_t)bits), __ATOMIC_RELEASE);
	}
	pg_exit(0);
}

static void wakeups_budgeted(const char *n)
{
	if (pg_cpu_count() < 2)
		return; // no other CPU, no IPI
	nt = pg_notify_create();
	if (!UCHECK(n, nt > 0) || !UCHECK_EQ(n, tc_spawn(waiter, 0, 1, 0), E_OK))
		return;
	struct space_stats st0 = tc_stats(H_SELF);
	uint64_t t0 = pg_clock_ns();
	for (uint64_t i = 0; i < ROUNDS; i++) {
		for (uint64_t t = pg_clock_ns(); pg_clock_ns() - t < 2000000;)
			; // 2 ms: let the waiter block again
		UCHECK_EQ(n, pg_notify_signal(nt, 1), E_OK);
		if (!UCHECK(n, TC_WAIT(got == i + 1, 5000)))
			break;
	}
	uint64_t ms = (pg_clock_ns() - t0) / 1000000;
	struct space_stats st = tc_stats(H_SELF);
	uint64_t wakes = st.wake_ipis - st0.wake_ipis, deferred = st.ipis_deferred - st0.ipis_deferred;
	pg_printf("budget_hog: %d signals in %lu ms: %lu wake-up IPIs, %lu deferred to the tick\n", ROUNDS, ms,
		  wakes, deferred);
	UCHECK_EQ(n, got, ROUNDS);
	UCHECK(n, wakes <= ms / 10 + 2); // one token a 10 ms tick, and one in the bucket
	UCHECK(n, tc_spin_stop_all(1));
	pg_handle_close(nt);
}

static const struct utest_case cases[] = {
	{ "budget_hog_is_refused", hammer },
	{ "budget_hog_wakeups_budgeted", wakeups_budgeted },
};

int main(uint64_t arg)
{
	(void)arg;
	if (tc_map_new(TEST_VA, 1) < 0)
		return 1;
	return UTEST_RUN(cases);
}
