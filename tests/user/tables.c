// tables.c: page tables go when they hold nothing (issue 13): a sync unmap frees
// the tables it emptied after its shootdown, a lazy one once its epoch has passed,
// and a space that maps and unmaps across ever-new addresses keeps a flat table
// count. table_frames (space_stats) counts the frames the kernel really holds for
// the space: it drops only when mmu_free_list freed them.
#include "tcommon.h"

#define CHURN_VA  0x020000000000UL // a 512 GiB slot no other test uses: PDPT, PD and leaf are new (below PG_VA_BASE)
#define TWO_MIB   (2UL << 20)
#define ONE_GIB   (1UL << 30)
#define CHURN     1000000          // map/unmap cycles at fresh 2 MiB-aligned addresses

static int ncpu;
static unsigned churn = CHURN;    // main's arg, when not 0 (the failure-injection sweep's short run)
static handle_t mem; // 2 pages, mapped and unmapped over and over

static uint64_t tables(void) { return tc_stats(H_SELF).table_frames; }

// The first page in a fresh 512 GiB slot takes three tables; its unmap gives them back.
static void sync_unmap_frees_the_tables_it_emptied(const char *n)
{
	(void)n;
	uint64_t t0 = tables();
	ASSERT_OK(pg_map(H_SELF, CHURN_VA, mem, 0, PAGE, PROT_READ | PROT_WRITE));
	*(volatile uint64_t *)CHURN_VA = 7;
	EXPECT_EQ(tables(), t0 + 3);
	ASSERT_OK(pg_unmap(H_SELF, CHURN_VA, PAGE, 0));
	EXPECT_EQ(tables(), t0);
}

// A table goes only when nothing at all is left in it: a neighbour's mapping keeps
// it, and so does a page with no access (its entry still names the frame).
static void a_table_with_anything_left_stays(const char *n)
{
	(void)n;
	uintptr_t a = CHURN_VA + 5 * TWO_MIB, b = a + PAGE;
	uint64_t t0 = tables();
	ASSERT_OK(pg_map(H_SELF, a, mem, 0, 2 * PAGE, PROT_READ | PROT_WRITE));
	*(volatile uint64_t *)b = 0xb0b;
	ASSERT_OK(pg_protect(H_SELF, b, PAGE, 0)); // no access
	ASSERT_OK(pg_unmap(H_SELF, a, PAGE, 0));
	EXPECT_EQ(tables(), t0 + 3);
	ASSERT_OK(pg_protect(H_SELF, b, PAGE, PROT_READ));
	EXPECT_EQ(*(volatile uint64_t *)b, 0xb0b); // the page is where it was
	ASSERT_OK(pg_unmap(H_SELF, b, PAGE, 0));
	EXPECT_EQ(tables(), t0);
}

// A range over several 2 MiB and 1 GiB regions frees every table it emptied and
// none it did not: a mapping just past its end keeps its own.
static void a_wide_unmap_frees_each_level(const char *n)
{
	(void)n;
	uint64_t t0 = tables();
	handle_t m = pg_mem_create(4 * PAGE);
	ASSERT_TRUE(m >= 0);
	uintptr_t g = CHURN_VA + 3 * ONE_GIB;
	// One page at the end of one GiB and three at the start of the next.
	ASSERT_OK(pg_map(H_SELF, g + ONE_GIB - PAGE, m, 0, 4 * PAGE, PROT_READ | PROT_WRITE));
	ASSERT_OK(pg_map(H_SELF, g + ONE_GIB + 8 * TWO_MIB, mem, 0, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_EQ(tables(), t0 + 1 + 2 + 3); // PDPT, two PDs, three leaves
	ASSERT_OK(pg_unmap(H_SELF, g + ONE_GIB - PAGE, 4 * PAGE, 0));
	EXPECT_EQ(tables(), t0 + 3); // the neighbour's PDPT, PD and leaf
	*(volatile uint64_t *)(g + ONE_GIB + 8 * TWO_MIB) = 1;
	ASSERT_OK(pg_unmap(H_SELF, g + ONE_GIB + 8 * TWO_MIB, PAGE, 0));
	EXPECT_EQ(tables(), t0);
	EXPECT_OK(pg_handle_close(m));
}

// A lazy unmap detaches the tables at once but frees them only with its range:
// each snapshot of the counters (one stats call, one lock) that still has the range
// pending still has its tables.
static void lazy_unmap_frees_tables_when_reclaimed(const char *n)
{
	(void)n;
	if (ncpu > 1)
		ASSERT_TRUE(tc_spin_start(1)); // holds the space: the epoch takes a while
	uint64_t t0 = tables();
	uintptr_t va = CHURN_VA + 7 * ONE_GIB;
	ASSERT_OK(pg_map(H_SELF, va, mem, 0, PAGE, PROT_READ | PROT_WRITE));
	ASSERT_OK(pg_unmap(H_SELF, va, PAGE, UNMAP_LAZY));
	struct space_stats st;
	uint64_t t1 = pg_clock_ns();
	while ((st = tc_stats(H_SELF)).lazy_pending && pg_clock_ns() - t1 < 5000000000UL) {
		EXPECT_EQ(st.table_frames, t0 + 3);
		if (st.table_frames != t0 + 3)
			break;
		pg_yield();
	}
	EXPECT_EQ(st.lazy_pending, 0);
	EXPECT_EQ(st.table_frames, t0);
	if (ncpu > 1)
		EXPECT_TRUE(tc_spin_stop_all(1));
}

// A reader on another CPU keeps using a page while it is unmapped and its tables
// freed and handed out again as tables of fresh mappings: it must fault on the old
// address, never read through what the freed tables became.
static volatile uint64_t reader_go, reader_seen, reader_fault_addr, reader_reads;

static void reader(uint64_t va)
{
	while (!reader_go)
		;
	for (;;) {
		uint64_t v = *(volatile uint64_t *)va;
		if (v != 0x5eed)
			reader_seen = v; // anything else is a read through a stale or reused table
		reader_reads++;
	}
}

static void reader_fault(uint64_t arg, uint64_t addr, uint64_t code)
{
	(void)arg, (void)code;
	reader_fault_addr = addr;
	pg_exit(0);
}

static void freed_tables_are_not_walked(const char *n)
{
	(void)n;
	if (ncpu < 2)
		return; // needs a second CPU to hold the translations
	uintptr_t va = CHURN_VA + 9 * ONE_GIB;
	handle_t m = pg_mem_create(PAGE);
	ASSERT_TRUE(m >= 0);
	ASSERT_OK(pg_map(H_SELF, va, m, 0, PAGE, PROT_READ | PROT_WRITE));
	*(volatile uint64_t *)va = 0x5eed;
	ASSERT_OK(tc_spawn(reader, va, 1, reader_fault));
	reader_go = 1;
	ASSERT_TRUE(TC_WAIT(reader_reads > 1000, 5000));
	uint64_t t0 = tables();
	ASSERT_OK(pg_unmap(H_SELF, va, PAGE, 0));
	EXPECT_EQ(tables(), t0 - 3);
	// Take the freed frames back as tables (and fill pages with a look-alike value).
	handle_t f = pg_mem_create(PAGE);
	ASSERT_TRUE(f >= 0);
	for (unsigned i = 0; i < 8; i++) {
		uintptr_t x = CHURN_VA + (20 + i) * ONE_GIB;
		ASSERT_OK(pg_map(H_SELF, x, f, 0, PAGE, PROT_READ | PROT_WRITE));
		*(volatile uint64_t *)x = 0xbad;
	}
	EXPECT_TRUE(TC_WAIT(reader_fault_addr != 0, 5000));
	EXPECT_EQ(reader_fault_addr, va);
	EXPECT_EQ(reader_seen, 0);
	for (unsigned i = 0; i < 8; i++)
		EXPECT_OK(pg_unmap(H_SELF, CHURN_VA + (20 + i) * ONE_GIB, PAGE, 0));
	EXPECT_OK(pg_handle_close(f));
	EXPECT_OK(pg_handle_close(m));
	EXPECT_TRUE(tc_spin_stop_all(1));
}

// The test: 10^6 map/unmap cycles at fresh 2 MiB-aligned addresses (sync and
// lazy in turn) leave the table count where it started, once the lazy ranges are in.
static void churn_leaves_no_tables(const char *n)
{
	(void)n;
	uintptr_t base = CHURN_VA + 64 * ONE_GIB;
	uint64_t t0 = tables(), most = 0;
	for (unsigned i = 0; i < churn; i++) {
		uintptr_t va = base + (uintptr_t)i * TWO_MIB;
		int err = pg_map(H_SELF, va, mem, 0, PAGE, PROT_READ | PROT_WRITE);
		if (err == E_OK)
			err = pg_unmap(H_SELF, va, PAGE, i % 2 ? UNMAP_LAZY : 0);
		if (err != E_OK) {
			EXPECT_ERR(err, E_OK);
			break;
		}
		if (i % 65536 == 0) {
			uint64_t t = tables();
			most = t > most ? t : most;
		}
	}
	EXPECT_TRUE(TC_WAIT(tc_stats(H_SELF).lazy_pending == 0, 10000));
	EXPECT_EQ(tables(), t0);
	EXPECT_LT(most, t0 + 64); // bounded along the way, not only at the end
}

static const struct utest_case cases[] = {
	{ "tables_sync_unmap_frees_what_it_emptied", sync_unmap_frees_the_tables_it_emptied },
	{ "tables_with_anything_left_stay", a_table_with_anything_left_stays },
	{ "tables_wide_unmap_frees_each_level", a_wide_unmap_frees_each_level },
	{ "tables_lazy_unmap_frees_when_reclaimed", lazy_unmap_frees_tables_when_reclaimed },
	{ "tables_freed_are_not_walked", freed_tables_are_not_walked },
	{ "tables_churn_of_1m_leaves_none", churn_leaves_no_tables },
};

int main(uint64_t arg)
{
	if (arg && arg < CHURN)
		churn = (unsigned)arg;
	ncpu = pg_cpu_count();
	mem = pg_mem_create(2 * PAGE);
	if (mem < 0)
		return 1;
	return UTEST_RUN(cases);
}
