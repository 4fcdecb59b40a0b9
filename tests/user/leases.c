// leases.c: lend and lease_return (SPEC §2 "Leases"): the lender loses its write
// right coherently (a writer on another CPU faults from the moment lend returns, and
// what the borrower sees never changes), both ranges are pinned (E_BUSY) until the
// lease ends, the end gives the rights back and signals, the frames outlive a dead
// lender, and every bad argument changes nothing. The last case leaves leases held at
// exit: the runner's leak checks see that teardown ends them.
#include "tcommon.h"

#define A    TEST_VA              // the lender's range
#define B    (TEST_VA + 0x100000) // where the borrower gets it
#define C    (TEST_VA + 0x200000) // scratch
#define NPG  2
#define LEN  (NPG * PAGE)
#define BIT  (1ULL << 5)

static int ncpu;
static handle_t note; // the lender's notify

static int other_cpu(void) { return ncpu > 1 ? 1 : 0; }

static void fill(uintptr_t va, uint64_t seed, size_t len)
{
	for (size_t i = 0; i < len / 8; i++)
		((volatile uint64_t *)va)[i] = seed * 1000003 + i;
}

static bool holds(uintptr_t va, uint64_t seed, size_t len)
{
	for (size_t i = 0; i < len / 8; i++)
		if (((volatile uint64_t *)va)[i] != seed * 1000003 + i)
			return false;
	return true;
}

// A write of va from a fresh vcpu on cpu: true if it faulted there.
static volatile uint64_t w_done, w_addr;

static void w_probe(uint64_t va)
{
	*(volatile uint64_t *)va = 0x5a5a5a5a;
	w_done = 1;
	pg_exit(0);
}

static void w_fault(uint64_t va, uint64_t addr, uint64_t code)
{
	(void)va, (void)code;
	w_addr = addr;
	w_done = 2;
	pg_exit(0);
}

static bool write_faults(uintptr_t va, int cpu)
{
	w_done = w_addr = 0;
	if (tc_spawn(w_probe, va, cpu, w_fault) != E_OK || !TC_WAIT(w_done != 0, 5000))
		return false;
	return w_done == 2 && w_addr == va;
}

// A fresh lender range at A holding seed's pattern; its mem handle.
static handle_t lender_range(uint64_t seed)
{
	handle_t m = tc_map_new(A, NPG);
	if (m >= 0)
		fill(A, seed, LEN);
	return m;
}

static void lender_drop(handle_t m)
{
	pg_unmap(H_SELF, A, LEN, 0);
	pg_handle_close(m);
}

static void read_lease_round_trip(const char *n)
{
	(void)n;
	handle_t m = lender_range(1);
	ASSERT_GE(m, 0);
	handle_t l = pg_lend(H_SELF, A, LEN, B, 0);
	ASSERT_GT(l, 0);
	EXPECT_TRUE(holds(B, 1, LEN));           // the borrower sees the frames
	EXPECT_TRUE(write_faults(A, other_cpu())); // the lender cannot write them
	EXPECT_TRUE(write_faults(B, 0));         // nor can the borrower (read-only lease)
	EXPECT_FALSE(tc_read_faults(A, other_cpu())); // but the lender still reads
	EXPECT_TRUE(holds(A, 1, LEN));
	EXPECT_OK(pg_lease_return(l, note, BIT));
	EXPECT_EQ(pg_notify_wait(note), (long)BIT);
	EXPECT_FALSE(write_faults(A, other_cpu())); // write right back
	EXPECT_TRUE(tc_read_faults(B, 0));        // the borrower's view is gone
	EXPECT_ERR(pg_lease_return(l, note, BIT), E_BADH); // once
	lender_drop(m);
}

static void ranges_pinned_while_lent(const char *n)
{
	(void)n;
	handle_t m = lender_range(2);
	ASSERT_GE(m, 0);
	handle_t l = pg_lend(H_SELF, A, LEN, B, 0);
	ASSERT_GT(l, 0);
	for (uintptr_t va = A; va <= B; va += B - A) { // the lender's range, then the borrower's
		EXPECT_ERR(pg_unmap(H_SELF, va, PAGE, 0), E_BUSY);
		EXPECT_ERR(pg_unmap(H_SELF, va + PAGE, PAGE, UNMAP_LAZY), E_BUSY);
		EXPECT_ERR(pg_protect(H_SELF, va, LEN, PROT_READ), E_BUSY);
		EXPECT_ERR(pg_protect(H_SELF, va, LEN, PROT_READ | PROT_WRITE), E_BUSY);
		EXPECT_ERR(pg_remap(H_SELF, va, LEN, C), E_BUSY);
		struct pg_mapop op = { .op = MAPOP_UNMAP, .va = va, .len = PAGE };
		uint64_t bad = 99;
		EXPECT_ERR(pg_mapv(H_SELF, &op, 1, &bad), E_BUSY);
		EXPECT_EQ(bad, 0);
		op = (struct pg_mapop){ .op = MAPOP_PROTECT, .prot = PROT_READ, .va = va, .len = PAGE };
		EXPECT_ERR(pg_mapv(H_SELF, &op, 1, &bad), E_BUSY);
	}
	EXPECT_ERR(pg_lend(H_SELF, A, LEN, C, 0), E_BUSY);        // lent already
	EXPECT_ERR(pg_lend(H_SELF, A + PAGE, PAGE, C, 0), E_BUSY); // part of it too
	EXPECT_ERR(pg_lend(H_SELF, B, PAGE, C, 0), E_BUSY);        // and what was borrowed
	EXPECT_TRUE(holds(B, 2, LEN));
	EXPECT_OK(pg_lease_return(l, note, 0));
	EXPECT_OK(pg_protect(H_SELF, A, LEN, PROT_READ | PROT_WRITE)); // free again
	EXPECT_OK(pg_remap(H_SELF, A, LEN, C));
	EXPECT_OK(pg_remap(H_SELF, C, LEN, A));
	EXPECT_TRUE(holds(A, 2, LEN));
	lender_drop(m);
}

// A receive buffer: the lender loses every right, the borrower writes, the lender
// reads what it wrote once the lease is back.
static void exclusive_lease_round_trip(const char *n)
{
	(void)n;
	handle_t m = lender_range(3);
	ASSERT_GE(m, 0);
	handle_t l = pg_lend(H_SELF, A, LEN, B, LEND_EXCL);
	ASSERT_GT(l, 0);
	EXPECT_TRUE(tc_read_faults(A, other_cpu()));
	EXPECT_TRUE(holds(B, 3, LEN));
	fill(B, 4, LEN);
	EXPECT_OK(pg_lease_return(l, note, BIT));
	EXPECT_EQ(pg_notify_wait(note), (long)BIT);
	EXPECT_TRUE(holds(A, 4, LEN));
	EXPECT_FALSE(write_faults(A, 0));
	lender_drop(m);
}

// A writer on another CPU keeps storing to the lent page: from the moment lend
// returns its stores fault (TCG's per-vCPU software TLB would let a stale entry
// through if the shootdown were missing), the borrower's view never changes, and once
// the lease is back the writer carries on.
static volatile uint64_t wr_count, wr_stop, wr_faulted, wr_released;

static void writer(uint64_t va)
{
	while (!wr_stop) {
		*(volatile uint64_t *)va = ++wr_count;
		__asm__ volatile("" ::: "memory");
	}
	pg_exit(0);
}

static void writer_fault(uint64_t va, uint64_t addr, uint64_t code)
{
	(void)code;
	wr_faulted = addr;
	while (!wr_released && !wr_stop)
		pg_yield();
	writer(va); // the store that faulted is simply made again
}

static void writer_faults_frame_stays(const char *n)
{
	(void)n;
	if (ncpu < 2)
		return; // needs a second CPU
	handle_t m = lender_range(5);
	ASSERT_GE(m, 0);
	wr_count = wr_stop = wr_faulted = wr_released = 0;
	ASSERT_OK(tc_spawn(writer, A, 1, writer_fault));
	ASSERT_TRUE(TC_WAIT(wr_count > 1000, 5000));
	handle_t l = pg_lend(H_SELF, A, LEN, B, 0);
	ASSERT_GT(l, 0);
	uint64_t seen = *(volatile uint64_t *)B, changed = 0;
	uint64_t t0 = pg_clock_ns();
	while (pg_clock_ns() - t0 < 50 * 1000000ULL)
		changed += *(volatile uint64_t *)B != seen;
	EXPECT_EQ(changed, 0);
	EXPECT_TRUE(TC_WAIT(wr_faulted != 0, 5000));
	EXPECT_EQ(wr_faulted, A);
	EXPECT_EQ(*(volatile uint64_t *)A, seen);
	EXPECT_OK(pg_lease_return(l, note, 0));
	wr_released = 1;
	EXPECT_TRUE(TC_WAIT(wr_count > seen + 1000, 5000)); // writing again
	wr_stop = 1;
	EXPECT_TRUE(TC_WAIT(tc_stats(H_SELF).vcpus == 1, 5000));
	lender_drop(m);
}

static void bad_arguments_change_nothing(const char *n)
{
	(void)n;
	handle_t m = lender_range(6);
	ASSERT_GE(m, 0);
	handle_t nolend = pg_handle_dup(H_SELF, R_ALL & ~R_LEND & ~R_BUDGET);
	ASSERT_GT(nolend, 0);
	EXPECT_ERR(pg_lend(H_SELF, A, LEN, B, 2), E_INVAL);           // unknown flag
	EXPECT_ERR(pg_lend(H_SELF, A, LEN, B, 1u << 31), E_INVAL);
	EXPECT_ERR(pg_lend(H_SELF, A + 8, LEN, B, 0), E_INVAL);       // misaligned
	EXPECT_ERR(pg_lend(H_SELF, A, LEN - 8, B, 0), E_INVAL);
	EXPECT_ERR(pg_lend(H_SELF, A, LEN, B + 8, 0), E_INVAL);
	EXPECT_ERR(pg_lend(H_SELF, A, 0, B, 0), E_INVAL);
	EXPECT_ERR(pg_lend(H_SELF, A, (LEND_MAX_PAGES + 1) * PAGE, B, 0), E_RANGE);
	EXPECT_ERR(pg_lend(H_SELF, A, LEN, 0xffff800000000000UL, 0), E_RANGE); // kernel half
	EXPECT_ERR(pg_lend(H_SELF, A, LEN, USER_TOP - PAGE, 0), E_RANGE);
	EXPECT_ERR(pg_lend(H_SELF, 0xffff800000000000UL, LEN, B, 0), E_RANGE);
	EXPECT_ERR(pg_lend(nolend, A, LEN, B, 0), E_RIGHTS);
	EXPECT_ERR(pg_lend(m, A, LEN, B, 0), E_TYPE);
	EXPECT_ERR(pg_lend(note, A, LEN, B, 0), E_TYPE);
	EXPECT_ERR(pg_lend(9999, A, LEN, B, 0), E_BADH);
	EXPECT_ERR(pg_lend(-1, A, LEN, B, 0), E_BADH);
	EXPECT_ERR(pg_lend(H_SELF, C, LEN, B, 0), E_NOENT);          // nothing mapped
	EXPECT_ERR(pg_lend(H_SELF, A + PAGE, LEN, B, 0), E_NOENT);   // half mapped
	// The borrower's range taken: the lender's rights come back, no pin is left.
	handle_t m2 = tc_map_new(C, 1);
	ASSERT_GE(m2, 0);
	EXPECT_ERR(pg_lend(H_SELF, A, LEN, C, 0), E_EXISTS);
	EXPECT_ERR(pg_lend(H_SELF, A, LEN, C - PAGE, 0), E_EXISTS);  // overlaps its start
	EXPECT_FALSE(write_faults(A, other_cpu()));
	EXPECT_OK(pg_protect(H_SELF, A, LEN, PROT_READ | PROT_WRITE));
	// Two mappings side by side are two records: one lease covers one.
	EXPECT_ERR(pg_lend(H_SELF, C - LEN, LEN, B, 0), E_NOENT);
	ASSERT_OK(pg_map(H_SELF, A + LEN, m2, 0, PAGE, PROT_READ | PROT_WRITE));
	EXPECT_ERR(pg_lend(H_SELF, A + PAGE, LEN, B, 0), E_RANGE);
	EXPECT_OK(pg_unmap(H_SELF, A + LEN, PAGE, 0));
	// A read-only mapping can be lent for reading, never exclusively (the borrower
	// would write what the lender's mem handle does not let it write).
	handle_t ro = pg_handle_dup(m2, R_ALL & ~R_WRITE);
	ASSERT_GT(ro, 0);
	ASSERT_OK(pg_map(H_SELF, C + PAGE, ro, 0, PAGE, PROT_READ));
	EXPECT_ERR(pg_lend(H_SELF, C + PAGE, PAGE, B, LEND_EXCL), E_RIGHTS);
	handle_t l = pg_lend(H_SELF, C + PAGE, PAGE, B, 0);
	EXPECT_GT(l, 0);
	EXPECT_ERR(pg_protect(H_SELF, B, PAGE, PROT_READ | PROT_WRITE), E_BUSY);
	// lease_return's own checks leave the lease as it was.
	EXPECT_ERR(pg_lease_return(m2, note, BIT), E_TYPE);
	EXPECT_ERR(pg_lease_return(note, note, BIT), E_TYPE);
	EXPECT_ERR(pg_lease_return(9999, note, BIT), E_BADH);
	EXPECT_ERR(pg_lease_return(l, note, 1ULL << 63), E_INVAL);
	EXPECT_ERR(pg_lease_return(l, m2, BIT), E_TYPE);
	EXPECT_ERR(pg_lease_return(l, 9999, BIT), E_BADH);
	handle_t nosig = pg_handle_dup(note, R_WAIT | R_DUP);
	EXPECT_ERR(pg_lease_return(l, nosig, BIT), E_RIGHTS);
	EXPECT_ERR(pg_unmap(H_SELF, B, PAGE, 0), E_BUSY); // still lent
	// A lease has one holder: it cannot be copied or moved.
	EXPECT_ERR(pg_handle_dup(l, R_READ), E_RIGHTS);
	handle_t child = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	EXPECT_GT(child, 0);
	EXPECT_ERR(pg_handle_transfer(l, child), E_RIGHTS);
	EXPECT_OK(pg_lease_return(l, 9999, 0)); // no bits: the notify is not looked at
	EXPECT_OK(pg_unmap(H_SELF, C, 2 * PAGE, 0));
	EXPECT_OK(pg_space_delete(child));
	pg_handle_close(child);
	pg_handle_close(nosig);
	pg_handle_close(ro);
	pg_handle_close(m2);
	pg_handle_close(nolend);
	lender_drop(m);
}

// Closing the handle ends the lease as lease_return would (without a signal).
static void close_ends_lease(const char *n)
{
	(void)n;
	handle_t m = lender_range(7);
	ASSERT_GE(m, 0);
	handle_t l = pg_lend(H_SELF, A, LEN, B, LEND_EXCL);
	ASSERT_GT(l, 0);
	EXPECT_OK(pg_handle_close(l));
	EXPECT_FALSE(write_faults(A, other_cpu()));
	EXPECT_TRUE(tc_read_faults(B, 0));
	EXPECT_OK(pg_protect(H_SELF, A, LEN, PROT_READ));
	EXPECT_OK(pg_protect(H_SELF, A, LEN, PROT_READ | PROT_WRITE));
	lender_drop(m);
}

// The lender is another space, which dies while the lease lasts: the frames live
// until it ends, and the end is as usual (nothing to give back to).
static void lender_dies_frames_live(const char *n)
{
	(void)n;
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	ASSERT_GT(s, 0);
	handle_t m = tc_map_new(C, NPG);
	ASSERT_GE(m, 0);
	fill(C, 8, LEN);
	ASSERT_OK(pg_map(s, A, m, 0, LEN, PROT_READ | PROT_WRITE));
	ASSERT_OK(pg_unmap(H_SELF, C, LEN, 0));
	ASSERT_OK(pg_handle_close(m)); // the child's mapping holds the only reference
	handle_t nolend = pg_handle_dup(s, R_ALL & ~R_LEND);
	EXPECT_ERR(pg_lend(nolend, A, LEN, B, 0), E_RIGHTS);
	handle_t l = pg_lend(s, A, LEN, B, 0);
	ASSERT_GT(l, 0);
	EXPECT_ERR(pg_unmap(s, A, LEN, 0), E_BUSY); // the lender's own range, by its parent
	EXPECT_OK(pg_space_delete(s));
	EXPECT_TRUE(holds(B, 8, LEN));
	EXPECT_OK(pg_lease_return(l, note, BIT));
	EXPECT_EQ(pg_notify_wait(note), (long)BIT);
	EXPECT_TRUE(tc_read_faults(B, 0));
	EXPECT_ERR(pg_lend(s, A, LEN, B, 0), E_NOENT); // a dead lender lends nothing
	pg_handle_close(nolend);
	pg_handle_close(s);
}

// Many leases at once, some from a child: each is its own, and they end in any order.
static void many_leases_any_order(const char *n)
{
	(void)n;
	enum { K = 64 };
	handle_t m = tc_map_new(A, K);
	ASSERT_GE(m, 0);
	fill(A, 9, K * PAGE);
	handle_t l[K];
	for (int i = 0; i < K; i++) {
		l[i] = pg_lend(H_SELF, A + (uintptr_t)i * PAGE, PAGE, B + (uintptr_t)i * PAGE, i % 2 ? LEND_EXCL : 0);
		EXPECT_GT(l[i], 0);
	}
	EXPECT_TRUE(holds(B, 9, K * PAGE)); // side by side, one page each
	for (int i = 0; i < K; i += 2)       // every other one first
		EXPECT_OK(pg_lease_return(l[i], note, BIT));
	for (int i = 1; i < K; i += 2)
		EXPECT_OK(pg_handle_close(l[i]));
	EXPECT_EQ(pg_notify_wait(note), (long)BIT);
	EXPECT_OK(pg_unmap(H_SELF, A, K * PAGE, 0));
	EXPECT_TRUE(tc_read_faults(B + 3 * PAGE, 0));
	pg_handle_close(m);
}

// Last: leases still held when the program ends, one from itself and one from a
// child it never deletes. Teardown ends them; the runner checks nothing leaked.
static void held_at_exit(const char *n)
{
	(void)n;
	handle_t m = lender_range(10);
	ASSERT_GE(m, 0);
	EXPECT_GT(pg_lend(H_SELF, A, LEN, B, LEND_EXCL), 0);
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	ASSERT_GT(s, 0);
	ASSERT_OK(pg_map(s, A, m, 0, LEN, PROT_READ | PROT_WRITE));
	EXPECT_GT(pg_lend(s, A, LEN, C, 0), 0);
	pg_handle_close(m);
}

static const struct utest_case cases[] = {
	{ "lease_read_round_trip", read_lease_round_trip },
	{ "lease_ranges_pinned_while_lent", ranges_pinned_while_lent },
	{ "lease_exclusive_round_trip", exclusive_lease_round_trip },
	{ "lease_writer_faults_frame_stays", writer_faults_frame_stays },
	{ "lease_bad_arguments_change_nothing", bad_arguments_change_nothing },
	{ "lease_close_ends_lease", close_ends_lease },
	{ "lease_lender_dies_frames_live", lender_dies_frames_live },
	{ "lease_many_any_order", many_leases_any_order },
	{ "lease_held_at_exit", held_at_exit },
};

int main(uint64_t arg)
{
	(void)arg;
	ncpu = pg_cpu_count();
	note = pg_notify_create();
	if (note < 0)
		return 1;
	return UTEST_RUN(cases);
}
