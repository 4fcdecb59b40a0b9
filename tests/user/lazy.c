// lazy.c: UNMAP_LAZY (SPEC §2): it sends no IPI, the VA stays busy (map over it gets
// E_BUSY) until every CPU that may hold the old translation passed a quiescent
// point, and only then are the VA and the frames reclaimed.
#include "tcommon.h"

#define REPEATS 20

static int ncpu;
static handle_t mem;

static void no_ipi_and_reclaimed(const char *n)
{
	(void)n;
	if (ncpu > 1) // keeps the space loaded on cpu1
		ASSERT_TRUE(tc_spin_start(1));
	struct space_stats st0 = tc_stats(H_SELF);
	int busy = 0, i;
	for (i = 0; i < REPEATS; i++) {
		int r = pg_unmap(H_SELF, TEST_VA, PAGE, UNMAP_LAZY);
		EXPECT_ERR(r, E_OK);
		if (r != E_OK)
			break;
		r = pg_map(H_SELF, TEST_VA, mem, 0, PAGE, PROT_READ | PROT_WRITE);
		if (r == E_BUSY) {
			busy++;
			EXPECT_TRUE(TC_WAIT((r = pg_map(H_SELF, TEST_VA, mem, 0, PAGE, PROT_READ | PROT_WRITE)) != E_BUSY, 5000));
		}
		EXPECT_ERR(r, E_OK);
		if (r != E_OK)
			break;
		*(volatile uint64_t *)TEST_VA = (uint64_t)i; // usable again
	}
	struct space_stats st = tc_stats(H_SELF);
	EXPECT_EQ(st.ipis_sent, st0.ipis_sent);
	EXPECT_EQ(st.lazy_pending, 0);
	EXPECT_EQ(st.lazy_reclaimed - st0.lazy_reclaimed, (uint64_t)i);
	EXPECT_EQ(i, REPEATS);
	if (ncpu > 1) // cpu1 holds the space: the range must have been busy for a while
		EXPECT_GT(busy, 0);
	if (ncpu > 1)
		EXPECT_TRUE(tc_spin_stop_all(1));
}

// The frames of a lazily unmapped mem object stay charged until reclaim.
static void frames_freed_after_reclaim(const char *n)
{
	if (ncpu > 1 && !UCHECK(n, tc_spin_start(1)))
		return;
	handle_t m = pg_mem_create(8 * PAGE);
	UCHECK(n, m >= 0);
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA + 16 * PAGE, m, 0, 8 * PAGE, PROT_READ | PROT_WRITE), E_OK);
	UCHECK_EQ(n, pg_handle_close(m), E_OK); // the mapping holds the memory now
	uint64_t charged = tc_stats(H_SELF).frames_charged;
	UCHECK_EQ(n, pg_unmap(H_SELF, TEST_VA + 16 * PAGE, 8 * PAGE, UNMAP_LAZY), E_OK);
	struct space_stats st = tc_stats(H_SELF);
	if (st.lazy_pending) // not reclaimed yet: nothing freed yet
		UCHECK_EQ(n, st.frames_charged, charged);
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).frames_charged == charged - 8, 5000));
	UCHECK_EQ(n, tc_stats(H_SELF).lazy_pending, 0);
	if (ncpu > 1)
		UCHECK(n, tc_spin_stop_all(1));
}

// On return the range is unmapped (here: the caller's CPU flushed itself).
static void unmapped_at_once_locally(const char *n)
{
	(void)n;
	ASSERT_OK(pg_unmap(H_SELF, TEST_VA, PAGE, UNMAP_LAZY));
	EXPECT_TRUE(tc_read_faults(TEST_VA, 0)); // on this CPU
}

static const struct utest_case cases[] = {
	{ "lazy_unmap_no_ipi_busy_then_reclaimed", no_ipi_and_reclaimed },
	{ "lazy_unmap_frames_freed_after_reclaim", frames_freed_after_reclaim },
	{ "lazy_unmap_unmapped_at_once_locally", unmapped_at_once_locally },
};

int main(uint64_t arg)
{
	(void)arg;
	ncpu = pg_cpu_count();
	mem = tc_map_new(TEST_VA, 1);
	if (mem < 0)
		return 1;
	return UTEST_RUN(cases);
}
