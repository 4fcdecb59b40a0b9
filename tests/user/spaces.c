// spaces.c: no leaks under churn (SPEC §2, "Nothing leaks"). Each round creates a
// space, maps a fresh mem into it twice, lowers rights on a page, lazily unmaps
// another, puts a dup of the mem handle into it, deletes it and closes everything;
// rounds vary the order (mem handle closed before or after the delete, the space's
// last handle closed without a delete). Afterwards this space's charged frames and
// mappings are exactly where they started, and every call returned E_OK.
// tests/kern/test_user.c checks the kernel side: heap, mem frames, page tables and
// (user_spaces_free_frames_exact) the free-frame count.
#include "tcommon.h"

#define ROUNDS 200
#define MPAGES 3
#define VA_A   TEST_VA                   // first mapping, in the new space
#define VA_B   (TEST_VA + 1024 * PAGE)   // second mapping: another page table

// Counts calls that did not return what they should; reports the first few.
static int bad_calls;

static bool ok(const char *n, int round, const char *what, long got, long want)
{
	if (got == want)
		return true;
	if (bad_calls++ < 10)
		UTEST_FAIL(n, "round %d: %s = %ld (%s), want %ld", round, what, got,
			   pg_strerror((int)got), want);
	return false;
}

// One round; variant picks the order of the closes. False when it went wrong.
static bool round_once(const char *n, int r, int variant)
{
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	if (!ok(n, r, "space_create", s > 0, 1))
		return false;
	handle_t m = pg_mem_create(MPAGES * PAGE);
	if (!ok(n, r, "mem_create", m > 0, 1))
		return false;
	bool good = true;
	good &= ok(n, r, "map A", pg_map(s, VA_A, m, 0, MPAGES * PAGE, PROT_READ | PROT_WRITE), E_OK);
	good &= ok(n, r, "map B", pg_map(s, VA_B, m, 0, MPAGES * PAGE, PROT_READ | PROT_WRITE), E_OK);
	good &= ok(n, r, "mappings", (long)tc_stats(s).mappings, 2 * MPAGES);
	good &= ok(n, r, "protect", pg_protect(s, VA_A + PAGE, PAGE, PROT_READ), E_OK);
	good &= ok(n, r, "lazy unmap", pg_unmap(s, VA_B + 2 * PAGE, PAGE, UNMAP_LAZY), E_OK);
	good &= ok(n, r, "mappings after unmap", (long)tc_stats(s).mappings, 2 * MPAGES - 1);

	handle_t sd = pg_handle_dup(s, R_READ | R_WRITE);
	good &= ok(n, r, "dup space", sd > 0, 1);
	handle_t md = pg_handle_dup(m, R_READ | R_MAP | R_TRANSFER);
	good &= ok(n, r, "dup mem", md > 0, 1);
	good &= ok(n, r, "transfer", pg_handle_transfer(md, s) >= 1, 1);
	good &= ok(n, r, "transferred handle gone", pg_mem_size(md), E_BADH);
	good &= ok(n, r, "map via dup", pg_map(sd, VA_A + 16 * PAGE, m, 0, PAGE, PROT_READ), E_OK);

	switch (variant) {
	case 0: // delete, then close everything
		good &= ok(n, r, "delete", pg_space_delete(s), E_OK);
		good &= ok(n, r, "mappings after delete", (long)tc_stats(sd).mappings, 0);
		good &= ok(n, r, "close sd", pg_handle_close(sd), E_OK);
		good &= ok(n, r, "close s", pg_handle_close(s), E_OK);
		good &= ok(n, r, "close m", pg_handle_close(m), E_OK);
		break;
	case 1: // close the mem first: the deleted space held the last references
		good &= ok(n, r, "close m", pg_handle_close(m), E_OK);
		good &= ok(n, r, "delete", pg_space_delete(s), E_OK);
		good &= ok(n, r, "delete again", pg_space_delete(s), E_NOENT);
		good &= ok(n, r, "close s", pg_handle_close(s), E_OK);
		good &= ok(n, r, "close sd", pg_handle_close(sd), E_OK);
		break;
	default: // no delete: the last handle to the space takes it down
		good &= ok(n, r, "close s", pg_handle_close(s), E_OK);
		good &= ok(n, r, "close m", pg_handle_close(m), E_OK);
		good &= ok(n, r, "close sd", pg_handle_close(sd), E_OK);
		break;
	}
	return good;
}

static void churn_no_leak(const char *n)
{
	struct space_stats st0 = tc_stats(H_SELF);
	uint64_t t0 = pg_clock_ns();
	int done = 0;
	for (int r = 0; r < ROUNDS; r++, done++) {
		if (!round_once(n, r, r % 3))
			break;
		// Every frame comes back when the last holder goes, not later.
		if (!ok(n, r, "frames charged", (long)tc_stats(H_SELF).frames_charged,
			(long)st0.frames_charged))
			break;
	}
	uint64_t ms = (pg_clock_ns() - t0) / 1000000;
	struct space_stats st = tc_stats(H_SELF);
	pg_printf("spaces: %d rounds in %lu ms, %lu frames charged (%lu at start)\n", done, ms,
		  st.frames_charged, st0.frames_charged);
	UCHECK_EQ(n, done, ROUNDS);
	UCHECK_EQ(n, bad_calls, 0);
	UCHECK_EQ(n, st.frames_charged, st0.frames_charged);
	UCHECK_EQ(n, st.mappings, st0.mappings);
	UCHECK_EQ(n, st.vcpus, 1);
}

// The handle table is back where it was: the same slot comes out of a dup.
static void churn_leaves_no_handle(const char *n)
{
	handle_t a = pg_handle_dup(H_SELF, R_READ);
	UCHECK(n, a > 0);
	UCHECK_EQ(n, pg_handle_close(a), E_OK);
	for (int r = 0; r < 10; r++)
		if (!round_once(n, r, r % 3))
			break;
	handle_t b = pg_handle_dup(H_SELF, R_READ);
	UCHECK_EQ(n, b, a);
	UCHECK_EQ(n, pg_handle_close(b), E_OK);
	UCHECK_EQ(n, bad_calls, 0);
}

// A space's handles to itself are weak: once its creator closes its last handle,
// it goes, with everything it maps (the kernel's leak check sees the rest).
static void self_handle_does_not_keep_alive(const char *n)
{
	uint64_t charged = tc_stats(H_SELF).frames_charged;
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET), m = pg_mem_create(4 * PAGE);
	UCHECK(n, s > 0 && m > 0);
	UCHECK_EQ(n, pg_map(s, TEST_VA, m, 0, 4 * PAGE, PROT_READ | PROT_WRITE), E_OK);
	handle_t d = pg_handle_dup(s, R_READ | R_TRANSFER);
	UCHECK(n, d > 0);
	UCHECK(n, pg_handle_transfer(d, s) > 0);   // s now names itself
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
	UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, charged + 4); // mapped in s
	UCHECK_EQ(n, pg_handle_close(s), E_OK);
	UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, charged);     // s went, and its mapping
}

// A chain of CHAIN spaces, each holding the only handle to the next; every fourth
// link also maps a mem and holds a notify. Closing the head must tear down the whole
// chain (the kernel side checks that heap, frames and tables are back) in bounded
// kernel stack: a teardown that recursed once per link overflowed its 16 KiB stack.
#define CHAIN 10000
// A space costs 12 KiB; one that maps a page 29 KiB (its tables and the records'
// reserve): 10,000 of them fit in 200 MiB of the test's quota.
#define CHAIN_QUOTA(i) ((i) % 4 == 0 ? 32UL << 10 : 16UL << 10)
static void chain_torn_down(const char *n)
{
	uint64_t charged = tc_stats(H_SELF).frames_charged;
	handle_t cur = pg_space_create(CHAIN_QUOTA(1), TC_CHILD_BUDGET);
	if (!UCHECK(n, cur > 0))
		return;
	for (int i = 1; i < CHAIN; i++) {
		handle_t next = pg_space_create(CHAIN_QUOTA(i), TC_CHILD_BUDGET);
		if (!UCHECK(n, next > 0))
			break;
		if (i % 4 == 0) {
			handle_t m = pg_mem_create(PAGE), nt = pg_notify_create();
			if (!UCHECK(n, m > 0 && nt > 0) ||
			    !UCHECK_EQ(n, pg_map(next, VA_A, m, 0, PAGE, PROT_READ), E_OK) ||
			    !UCHECK(n, pg_handle_transfer(nt, next) > 0) || !UCHECK(n, pg_handle_transfer(m, next) > 0))
				break;
		}
		// next now holds the only handle to cur; we hold only next.
		if (!UCHECK(n, pg_handle_transfer(cur, next) > 0))
			break;
		cur = next;
	}
	UCHECK_EQ(n, pg_handle_close(cur), E_OK);
	UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, charged); // the chain's mems are gone
}

// ---- The quota tree --------------------------------------------------------------

static long live_children(void)
{
	long k = 0;
	for (handle_t h; (h = pg_space_child(H_SELF, (size_t)k)) > 0; k++)
		pg_handle_close(h);
	return k;
}

// A child's quota and budget come out of its creator's, are listed, and go back.
static void quota_is_carved(const char *n)
{
	// The earlier cases' children go in the background: until their structs are freed
	// they hold quota, and "more than is left" would be measured against a moving charge.
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).children_quota == 0, 10000));
	struct space_stats me0 = tc_stats(H_SELF);
	long k0 = live_children();
	UCHECK_EQ(n, pg_space_create(me0.quota - me0.charged + 1, 1), E_NOMEM); // more than is left
	UCHECK_EQ(n, pg_space_create(4096, 1), E_NOMEM);             // less than a space costs
	UCHECK_EQ(n, pg_space_create(TC_CHILD_QUOTA, 0), E_INVAL);   // every child is budgeted
	UCHECK_EQ(n, pg_space_create(TC_CHILD_QUOTA, 1UL << 63), E_INVAL);
	UCHECK_EQ(n, tc_stats(H_SELF).charged, me0.charged);         // the failures took nothing
	handle_t a = pg_space_create(TC_CHILD_QUOTA, 5), b = pg_space_create(TC_CHILD_QUOTA, 7);
	if (!UCHECK(n, a > 0 && b > 0))
		return;
	struct space_stats me = tc_stats(H_SELF), sa = tc_stats(a);
	UCHECK_EQ(n, me.children_quota, me0.children_quota + 2 * TC_CHILD_QUOTA);
	UCHECK_EQ(n, me.charged, me0.charged + 2 * TC_CHILD_QUOTA);
	UCHECK_EQ(n, sa.quota, TC_CHILD_QUOTA);
	UCHECK_EQ(n, sa.budget_per_tick, 5);
	UCHECK_EQ(n, sa.charged, sa.kernel_bytes + sa.table_frames * PAGE);
	UCHECK_EQ(n, sa.table_frames, 1); // its root
	// Newest first, with full rights: the creator may set their budgets.
	UCHECK_EQ(n, live_children(), k0 + 2);
	handle_t c0 = pg_space_child(H_SELF, 0), c1 = pg_space_child(H_SELF, 1);
	UCHECK_EQ(n, tc_stats(c0).budget_per_tick, 7);
	UCHECK_EQ(n, tc_stats(c1).budget_per_tick, 5);
	UCHECK_EQ(n, pg_set_budget(c1, 3), E_OK);
	UCHECK_EQ(n, tc_stats(a).budget_per_tick, 3);
	UCHECK_EQ(n, pg_set_budget(c1, 0), E_INVAL);
	UCHECK_EQ(n, pg_set_budget(c1, 1UL << 63), E_INVAL); // tokens are signed
	UCHECK_EQ(n, tc_stats(a).budget_per_tick, 3);         // both changed nothing
	// Hostile lists: bad and wrong handles, no R_READ, an index far past the end.
	handle_t m = pg_mem_create(PAGE), nr = pg_handle_dup(a, R_ALL & ~R_READ);
	UCHECK_EQ(n, pg_space_child(m, 0), E_TYPE);
	UCHECK_EQ(n, pg_space_child(nr, 0), E_RIGHTS);
	UCHECK_EQ(n, pg_space_child(255, 0), E_BADH);
	UCHECK_EQ(n, pg_space_child(H_SELF, ~0UL), E_NOENT);
	UCHECK_EQ(n, pg_space_child(a, 0), E_NOENT); // a has no children
	// A deleted child is no longer listed; its share comes back once its last handle goes.
	UCHECK_EQ(n, pg_space_delete(a), E_OK);
	UCHECK_EQ(n, live_children(), k0 + 1);
	handle_t hs[] = { a, c1, nr, b, c0, m };
	for (unsigned i = 0; i < sizeof hs / sizeof hs[0]; i++)
		UCHECK_EQ(n, pg_handle_close(hs[i]), E_OK);
	me = tc_stats(H_SELF);
	UCHECK_EQ(n, me.children_quota, me0.children_quota);
	UCHECK_EQ(n, me.charged, me0.charged);
	UCHECK_EQ(n, live_children(), k0);
}

// A child that fills its quota gets E_NOMEM for itself only: its parent goes on
// mapping, and the child's protect and unmap of what it has still work (their
// record splits were paid for at map time).
static void quota_full_child(const char *n)
{
	handle_t c = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET), m = pg_mem_create(3 * PAGE);
	if (!UCHECK(n, c > 0 && m > 0))
		return;
	int maps = 0;
	long err;
	// Each map at a fresh 1 GiB region costs the child two tables and its records.
	while ((err = pg_map(c, TEST_VA + (uint64_t)maps * (1UL << 30), m, 0, 3 * PAGE, PROT_READ | PROT_WRITE)) == E_OK)
		maps++;
	UCHECK_EQ(n, err, E_NOMEM);
	UCHECK(n, maps > 2);
	struct space_stats full = tc_stats(c);
	UCHECK(n, full.charged <= full.quota);
	UCHECK_EQ(n, full.mappings, 3UL * maps);
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, m, 0, 3 * PAGE, PROT_READ), E_OK); // not the parent
	UCHECK_EQ(n, pg_unmap(H_SELF, TEST_VA, 3 * PAGE, 0), E_OK);
	for (int i = 0; i < maps; i++) {
		uint64_t va = TEST_VA + (uint64_t)i * (1UL << 30);
		UCHECK_EQ(n, pg_protect(c, va + PAGE, PAGE, PROT_READ), E_OK);
		UCHECK_EQ(n, pg_unmap(c, va + PAGE, PAGE, i % 2 ? UNMAP_LAZY : 0), E_OK); // splits
	}
	UCHECK_EQ(n, tc_stats(c).mappings, 2UL * maps);
	UCHECK(n, tc_stats(c).charged <= full.charged);
	UCHECK_EQ(n, pg_space_delete(c), E_OK);
	UCHECK_EQ(n, pg_handle_close(c), E_OK);
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
}

// Deleting a space whose vcpu runs on another CPU kicks that CPU with one IPI, paid
// by the deleter (kick_ipis). The child runs `jmp .` from a mem mapped into it.
#define CODE_VA  0x20000000UL
#define USTK_VA  0x20100000UL
static void delete_kick_is_charged(const char *n)
{
	if (pg_cpu_count() < 2)
		return;
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET), code = pg_mem_create(PAGE), stk = pg_mem_create(PG_UPCALL_STACK_SIZE);
	if (!UCHECK(n, s > 0 && code > 0 && stk > 0))
		return;
	UCHECK_EQ(n, pg_map(H_SELF, VA_A, code, 0, PAGE, PROT_READ | PROT_WRITE), E_OK);
	((volatile uint8_t *)VA_A)[0] = 0xeb; // jmp .
	((volatile uint8_t *)VA_A)[1] = 0xfe;
	UCHECK_EQ(n, pg_unmap(H_SELF, VA_A, PAGE, 0), E_OK);
	UCHECK_EQ(n, pg_map(s, CODE_VA, code, 0, PAGE, PROT_READ | PROT_EXEC), E_OK);
	UCHECK_EQ(n, pg_map(s, USTK_VA, stk, 0, PG_UPCALL_STACK_SIZE, PROT_READ | PROT_WRITE), E_OK);
	UCHECK_EQ(n, pg_vcpu_create(s, CODE_VA, USTK_VA + PG_UPCALL_STACK_SIZE, 0, 1), E_OK);
	UCHECK(n, TC_WAIT(tc_stats(s).vcpus == 1, 5000));
	for (uint64_t t = pg_clock_ns(); pg_clock_ns() - t < 20000000;)
		; // 20 ms: it runs on cpu1 now
	uint64_t kicks = tc_stats(H_SELF).kick_ipis;
	UCHECK_EQ(n, pg_space_delete(s), E_OK); // returns once it is torn down
	UCHECK_EQ(n, tc_stats(H_SELF).kick_ipis, kicks + 1);
	UCHECK_EQ(n, tc_stats(s).vcpus, 0);
	pg_handle_close(s);
	pg_handle_close(code);
	pg_handle_close(stk);
}

static const struct utest_case cases[] = {
	{ "spaces_self_handle_does_not_keep_alive", self_handle_does_not_keep_alive },
	{ "spaces_churn_no_leak", churn_no_leak },
	{ "spaces_churn_leaves_no_handle", churn_leaves_no_handle },
	{ "spaces_chain_of_10000_torn_down", chain_torn_down },
	{ "spaces_delete_kick_is_charged", delete_kick_is_charged },
	{ "spaces_quota_is_carved", quota_is_carved },
	{ "spaces_quota_full_child", quota_full_child },
};

int main(uint64_t arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}
