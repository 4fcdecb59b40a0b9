// handles.c: handle semantics from user space (SPEC §2): duplication with fewer
// rights, close, transfer to another space, and the four distinct errors (E_BADH,
// E_TYPE, E_RIGHTS, E_INVAL) for bad handles; cross-space mapping into a created
// space and its deletion; a full handle table. Every failing call is followed by a
// check that it changed nothing: the handle still works, the mappings and charges
// are where they were.
#include "tcommon.h"
#include "syscall.h"

#define XVA (TEST_VA + 64 * PAGE) // where maps into other spaces go

// Snapshot of what a failed call must not change.
struct snap {
	uint64_t mappings, frames;
	handle_t next; // the index the next new handle gets
};

static handle_t next_handle(void)
{
	handle_t h = pg_handle_dup(H_SELF, R_READ);
	if (h >= 0)
		pg_handle_close(h);
	return h;
}

static struct snap take(void)
{
	struct space_stats st = tc_stats(H_SELF);
	return (struct snap){ st.mappings, st.frames_charged, next_handle() };
}

#define SAME(n, s0)                                                                      \
	do {                                                                             \
		struct snap s1_ = take();                                                \
		UCHECK_EQ(n, s1_.mappings, (s0).mappings);                               \
		UCHECK_EQ(n, s1_.frames, (s0).frames);                                   \
		UCHECK_EQ(n, s1_.next, (s0).next);                                       \
	} while (0)

// ---- Duplication --------------------------------------------------------------------

static void dup_reduces_rights(const char *n)
{
	handle_t m = pg_mem_create(PAGE);
	if (!UCHECK(n, m > 0))
		return;
	handle_t r = pg_handle_dup(m, R_READ | R_MAP);
	UCHECK(n, r > 0 && r != m);
	struct snap s0 = take();
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, r, 0, PAGE, PROT_READ | PROT_WRITE), E_RIGHTS);
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, r, 0, PAGE, PROT_WRITE), E_RIGHTS);
	SAME(n, s0);
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, r, 0, PAGE, PROT_READ), E_OK);
	UCHECK_EQ(n, tc_stats(H_SELF).mappings, s0.mappings + 1);
	UCHECK_EQ(n, *(volatile uint64_t *)TEST_VA, 0); // fresh memory reads as zeros
	// The mapping remembers the handle's rights: no protect can make it writable.
	UCHECK_EQ(n, pg_protect(H_SELF, TEST_VA, PAGE, PROT_READ | PROT_WRITE), E_RIGHTS);
	UCHECK_EQ(n, pg_protect(H_SELF, TEST_VA, PAGE, PROT_WRITE), E_RIGHTS);
	UCHECK_EQ(n, pg_protect(H_SELF, TEST_VA, PAGE, 0), E_OK);
	UCHECK_EQ(n, pg_protect(H_SELF, TEST_VA, PAGE, PROT_ALL), E_RIGHTS);
	UCHECK_EQ(n, pg_protect(H_SELF, TEST_VA, PAGE, PROT_READ), E_OK);
	// The same through another space: a read-only share stays read-only there too.
	handle_t other = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	UCHECK(n, other > 0);
	UCHECK_EQ(n, pg_map(other, TEST_VA, r, 0, PAGE, PROT_READ), E_OK);
	UCHECK_EQ(n, pg_protect(other, TEST_VA, PAGE, PROT_READ | PROT_WRITE), E_RIGHTS);
	UCHECK_EQ(n, pg_space_delete(other), E_OK);
	UCHECK_EQ(n, pg_handle_close(other), E_OK);
	UCHECK_EQ(n, pg_unmap(H_SELF, TEST_VA, PAGE, 0), E_OK);
	UCHECK_EQ(n, pg_mem_size(r), PAGE); // R_READ kept
	// Asking for more than the handle has is no error: the extra rights are dropped.
	handle_t d = pg_handle_dup(m, R_READ | R_DUP);
	UCHECK(n, d > 0);
	handle_t d2 = pg_handle_dup(d, R_ALL);
	UCHECK(n, d2 > 0);
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, d2, 0, PAGE, PROT_READ), E_RIGHTS); // no R_MAP
	UCHECK_EQ(n, pg_handle_transfer(d2, H_SELF), E_RIGHTS);                  // no R_TRANSFER
	UCHECK_EQ(n, pg_mem_size(d2), PAGE);
	// A dup with no rights at all still names the object: type errors come first.
	handle_t z = pg_handle_dup(m, 0);
	UCHECK(n, z > 0);
	UCHECK_EQ(n, pg_mem_size(z), E_RIGHTS);
	UCHECK_EQ(n, pg_space_stats(z, &(struct space_stats){ 0 }), E_TYPE);
	UCHECK_EQ(n, pg_handle_dup(z, R_READ), E_RIGHTS);
	handle_t hs[] = { z, d2, d, r, m };
	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
		UCHECK_EQ(n, pg_handle_close(hs[i]), E_OK);
}

static void dup_without_r_dup_fails(const char *n)
{
	handle_t m = pg_mem_create(PAGE);
	handle_t r = pg_handle_dup(m, R_READ | R_MAP | R_WRITE);
	UCHECK(n, m > 0 && r > 0);
	struct snap s0 = take();
	UCHECK_EQ(n, pg_handle_dup(r, R_READ), E_RIGHTS);
	UCHECK_EQ(n, pg_handle_dup(r, R_ALL), E_RIGHTS);
	SAME(n, s0);
	UCHECK_EQ(n, pg_mem_size(r), PAGE);
	// Rights outside R_ALL are malformed, whatever the handle.
	UCHECK_EQ(n, pg_handle_dup(m, R_ALL + 1), E_INVAL);
	UCHECK_EQ(n, pg_handle_dup(m, ~0u), E_INVAL);
	UCHECK_EQ(n, pg_syscall2(SYS_HANDLE_DUP, m, 1L << 32), E_INVAL);
	SAME(n, s0);
	UCHECK_EQ(n, pg_handle_close(r), E_OK);
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
}

// ---- Close, bad numbers, wrong type, missing rights -----------------------------------

static void close_twice_fails(const char *n)
{
	struct snap s0 = take();
	handle_t m = pg_mem_create(PAGE);
	UCHECK(n, m > 0);
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
	SAME(n, s0); // the frames went back with the last handle
	UCHECK_EQ(n, pg_handle_close(m), E_BADH);
	UCHECK_EQ(n, pg_mem_size(m), E_BADH);
	UCHECK_EQ(n, pg_handle_dup(m, R_ALL), E_BADH);
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, m, 0, PAGE, PROT_READ), E_BADH);
	SAME(n, s0);
}

static void close_self_fails(const char *n)
{
	struct snap s0 = take();
	UCHECK_EQ(n, pg_handle_close(H_SELF), E_INVAL);
	UCHECK_EQ(n, pg_handle_transfer(H_SELF, H_SELF), E_INVAL);
	SAME(n, s0);
	struct space_stats st;
	UCHECK_EQ(n, pg_space_stats(H_SELF, &st), E_OK); // H_SELF still works
	UCHECK(n, st.vcpus >= 1);
}

// Handle arguments outside 0..255, some of which would alias a good handle if the
// kernel truncated them to 8 or 32 bits.
static void out_of_range_handles_fail(const char *n)
{
	handle_t m = pg_mem_create(PAGE);
	if (!UCHECK(n, m > 0))
		return;
	struct snap s0 = take();
	const long bad[] = { -1, -256, 256, 257, 1000, 0x7fffffff, 1L << 40, (1L << 32) | m,
			     (1L << 32), 256 + m, -(1L << 32) + m };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long h = bad[i];
		struct space_stats st;
		long rc[] = {
			pg_syscall1(SYS_MEM_SIZE, h),
			pg_syscall2(SYS_SPACE_STATS, h, (long)&st),
			pg_syscall2(SYS_HANDLE_DUP, h, R_READ),
			pg_syscall1(SYS_HANDLE_CLOSE, h),
			pg_syscall1(SYS_SPACE_DELETE, h),
			pg_syscall2(SYS_SET_BUDGET, h, 5),
			pg_syscall6(SYS_MAP, H_SELF, TEST_VA, h, 0, PAGE, PROT_READ),
			pg_syscall6(SYS_MAP, h, TEST_VA, m, 0, PAGE, PROT_READ),
			pg_syscall4(SYS_PROTECT, h, TEST_VA, PAGE, PROT_READ),
			pg_syscall4(SYS_UNMAP, h, TEST_VA, PAGE, 0),
			pg_syscall2(SYS_HANDLE_TRANSFER, h, H_SELF),
			pg_syscall2(SYS_HANDLE_TRANSFER, m, h),
		};
		for (size_t j = 0; j < sizeof rc / sizeof rc[0]; j++)
			if (rc[j] != E_BADH)
				UTEST_FAIL(n, "handle %#lx, call #%zu: got %ld, want E_BADH", (unsigned long)h,
					   j, rc[j]);
	}
	SAME(n, s0);
	UCHECK_EQ(n, pg_mem_size(m), PAGE); // still open
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
}

// A slot never used and a slot closed earlier are the same: E_BADH.
static void unused_handles_fail(const char *n)
{
	struct snap s0 = take();
	handle_t unused = 200;
	UCHECK_EQ(n, pg_mem_size(unused), E_BADH);
	UCHECK_EQ(n, pg_space_stats(unused, &(struct space_stats){ 0 }), E_BADH);
	UCHECK_EQ(n, pg_handle_close(unused), E_BADH);
	UCHECK_EQ(n, pg_space_delete(unused), E_BADH);
	UCHECK_EQ(n, pg_vcpu_create(unused, 0x400000, STACK_VA, 0, -1), E_BADH);
	SAME(n, s0);
}

static void wrong_type_fails(const char *n)
{
	handle_t m = pg_mem_create(PAGE);
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	if (!UCHECK(n, m > 0 && s > 0))
		return;
	struct snap s0 = take();
	UCHECK_EQ(n, pg_mem_size(H_SELF), E_TYPE);
	UCHECK_EQ(n, pg_mem_size(s), E_TYPE);
	UCHECK_EQ(n, pg_space_stats(m, &(struct space_stats){ 0 }), E_TYPE);
	UCHECK_EQ(n, pg_space_delete(m), E_TYPE);
	UCHECK_EQ(n, pg_set_budget(m, 5), E_TYPE);
	UCHECK_EQ(n, pg_map(m, TEST_VA, m, 0, PAGE, PROT_READ), E_TYPE);       // space arg
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, H_SELF, 0, PAGE, PROT_READ), E_TYPE); // mem arg
	UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, s, 0, PAGE, PROT_READ), E_TYPE);
	UCHECK_EQ(n, pg_protect(m, TEST_VA, PAGE, PROT_READ), E_TYPE);
	UCHECK_EQ(n, pg_unmap(m, TEST_VA, PAGE, 0), E_TYPE);
	UCHECK_EQ(n, pg_vcpu_create(m, 0x400000, STACK_VA, 0, -1), E_TYPE);
	UCHECK_EQ(n, pg_handle_transfer(s, m), E_TYPE);
	SAME(n, s0);
	UCHECK_EQ(n, pg_mem_size(m), PAGE);
	UCHECK_EQ(n, pg_space_delete(s), E_OK);
	UCHECK_EQ(n, pg_handle_close(s), E_OK);
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
}

static void missing_rights_fail(const char *n)
{
	handle_t ro = pg_handle_dup(H_SELF, R_READ);
	if (!UCHECK(n, ro > 0))
		return;
	struct snap s0 = take();
	UCHECK_EQ(n, pg_space_delete(ro), E_RIGHTS);
	UCHECK_EQ(n, pg_set_budget(ro, 5), E_RIGHTS);
	UCHECK_EQ(n, pg_handle_dup(ro, R_READ), E_RIGHTS);
	UCHECK_EQ(n, pg_vcpu_create(ro, 0x400000, STACK_VA, 0, -1), E_RIGHTS);
	handle_t m = pg_mem_create(PAGE);
	UCHECK_EQ(n, pg_map(ro, TEST_VA, m, 0, PAGE, PROT_READ), E_RIGHTS);
	UCHECK_EQ(n, pg_handle_transfer(m, ro), E_RIGHTS); // needs R_WRITE on the space
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
	UCHECK_EQ(n, pg_protect(ro, 0x400000, PAGE, PROT_READ), E_RIGHTS);
	UCHECK_EQ(n, pg_unmap(ro, 0x400000, PAGE, 0), E_RIGHTS);
	SAME(n, s0);
	struct space_stats st;
	UCHECK_EQ(n, pg_space_stats(ro, &st), E_OK); // what R_READ allows still works
	UCHECK_EQ(n, st.mappings, s0.mappings);
	UCHECK_EQ(n, pg_handle_close(ro), E_OK);
	UCHECK_EQ(n, pg_cpu_id(), 0); // and we are still here
}

static void set_budget_self_fails(const char *n)
{
	UCHECK_EQ(n, pg_set_budget(H_SELF, 100), E_RIGHTS);
	UCHECK_EQ(n, pg_set_budget(H_SELF, 0), E_RIGHTS);
	handle_t all = pg_handle_dup(H_SELF, R_ALL); // a dup cannot add R_BUDGET either
	UCHECK(n, all > 0);
	UCHECK_EQ(n, pg_set_budget(all, 100), E_RIGHTS);
	UCHECK_EQ(n, pg_handle_close(all), E_OK);
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET); // a created space comes with R_BUDGET
	UCHECK(n, s > 0);
	UCHECK_EQ(n, pg_set_budget(s, 100), E_OK);
	handle_t nb = pg_handle_dup(s, R_ALL & ~R_BUDGET);
	UCHECK_EQ(n, pg_set_budget(nb, 100), E_RIGHTS);
	UCHECK_EQ(n, pg_space_delete(s), E_OK);
	UCHECK_EQ(n, pg_handle_close(nb), E_OK);
	UCHECK_EQ(n, pg_handle_close(s), E_OK);
}

// ---- Transfer -------------------------------------------------------------------------

static void transfer_moves_handle(const char *n)
{
	struct snap s0 = take();
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	handle_t m = pg_mem_create(2 * PAGE);
	if (!UCHECK(n, s > 0 && m > 0))
		return;
	handle_t d = pg_handle_dup(m, R_ALL);
	handle_t idx = pg_handle_transfer(d, s);
	UCHECK(n, idx >= 1 && idx < 256);
	UCHECK_EQ(n, pg_mem_size(d), E_BADH); // gone from here
	UCHECK_EQ(n, pg_handle_close(d), E_BADH);
	// A second one lands in another slot there.
	handle_t d2 = pg_handle_dup(m, R_READ | R_TRANSFER);
	handle_t idx2 = pg_handle_transfer(d2, s);
	UCHECK(n, idx2 >= 1 && idx2 < 256 && idx2 != idx);
	UCHECK_EQ(n, pg_mem_size(d2), E_BADH);
	// The object lives on in the other space: closing ours keeps the charge.
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
	UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, s0.frames + 2);
	// Deleting that space drops its handles, and with them the memory.
	UCHECK_EQ(n, pg_space_delete(s), E_OK);
	UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, s0.frames);
	UCHECK_EQ(n, pg_handle_close(s), E_OK);
	SAME(n, s0);
}

static void transfer_without_r_transfer_fails(const char *n)
{
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	handle_t m = pg_mem_create(PAGE);
	handle_t d = pg_handle_dup(m, R_READ | R_MAP | R_DUP);
	if (!UCHECK(n, s > 0 && m > 0 && d > 0))
		return;
	struct snap s0 = take();
	UCHECK_EQ(n, pg_handle_transfer(d, s), E_RIGHTS);
	SAME(n, s0);
	UCHECK_EQ(n, pg_mem_size(d), PAGE); // still ours, still works
	handle_t d3 = pg_handle_dup(d, R_READ);
	UCHECK(n, d3 > 0);
	UCHECK_EQ(n, pg_handle_close(d3), E_OK);
	// Transferring H_SELF is malformed; transferring into a mem handle a type error.
	UCHECK_EQ(n, pg_handle_transfer(H_SELF, s), E_INVAL);
	UCHECK_EQ(n, pg_handle_transfer(d, m), E_TYPE);
	UCHECK_EQ(n, pg_handle_transfer(m, m), E_TYPE);
	SAME(n, s0);
	UCHECK_EQ(n, pg_mem_size(m), PAGE);
	// Into a space handle without R_WRITE: E_RIGHTS, and m stays.
	handle_t sr = pg_handle_dup(s, R_READ);
	UCHECK_EQ(n, pg_handle_transfer(m, sr), E_RIGHTS);
	UCHECK_EQ(n, pg_mem_size(m), PAGE);
	UCHECK_EQ(n, pg_handle_close(sr), E_OK);
	// Into a deleted space: E_NOENT, and m stays.
	UCHECK_EQ(n, pg_space_delete(s), E_OK);
	UCHECK_EQ(n, pg_handle_transfer(m, s), E_NOENT);
	UCHECK_EQ(n, pg_mem_size(m), PAGE);
	SAME(n, s0);
	handle_t hs[] = { d, m, s };
	for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++)
		UCHECK_EQ(n, pg_handle_close(hs[i]), E_OK);
}

// ---- Mapping into another space, then deleting it -------------------------------------

static void cross_space_map_and_delete(const char *n)
{
	struct snap s0 = take();
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	handle_t m = pg_mem_create(4 * PAGE);
	if (!UCHECK(n, s > 0 && m > 0))
		return;
	UCHECK_EQ(n, tc_stats(s).mappings, 0);
	UCHECK_EQ(n, tc_stats(s).frames_charged, 0);
	UCHECK_EQ(n, pg_map(s, XVA, m, 0, 4 * PAGE, PROT_READ | PROT_WRITE), E_OK);
	UCHECK_EQ(n, pg_map(s, XVA + 8 * PAGE, m, PAGE, 2 * PAGE, PROT_READ), E_OK);
	UCHECK_EQ(n, tc_stats(s).mappings, 6);
	UCHECK_EQ(n, tc_stats(s).frames_charged, 0);         // the creator pays
	UCHECK_EQ(n, tc_stats(H_SELF).mappings, s0.mappings); // nothing here
	UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, s0.frames + 4);
	UCHECK_EQ(n, pg_map(s, XVA + PAGE, m, 0, PAGE, PROT_READ), E_EXISTS);
	// The same memory is mappable here too.
	UCHECK_EQ(n, pg_map(H_SELF, XVA, m, 0, PAGE, PROT_READ | PROT_WRITE), E_OK);
	*(volatile uint64_t *)XVA = 42;

	UCHECK_EQ(n, pg_protect(s, XVA, PAGE, PROT_READ), E_OK);
	UCHECK_EQ(n, pg_protect(s, XVA, 6 * PAGE, PROT_READ), E_NOENT); // hole at XVA + 4P
	UCHECK_EQ(n, pg_unmap(s, XVA + PAGE, PAGE, 0), E_OK);
	UCHECK_EQ(n, tc_stats(s).mappings, 5);
	UCHECK_EQ(n, pg_unmap(s, XVA, 2 * PAGE, 0), E_NOENT); // XVA + P is gone
	UCHECK_EQ(n, pg_protect(s, XVA + PAGE, PAGE, PROT_READ), E_NOENT);
	UCHECK_EQ(n, tc_stats(s).mappings, 5);
	handle_t sr = pg_handle_dup(s, R_READ);
	UCHECK_EQ(n, pg_map(sr, XVA + PAGE, m, 0, PAGE, PROT_READ), E_RIGHTS);
	UCHECK_EQ(n, pg_unmap(sr, XVA, PAGE, 0), E_RIGHTS);
	UCHECK_EQ(n, tc_stats(sr).mappings, 5);
	UCHECK_EQ(n, *(volatile uint64_t *)XVA, 42); // our own mapping untouched

	UCHECK_EQ(n, pg_space_delete(s), E_OK);
	struct space_stats st;
	UCHECK_EQ(n, pg_space_stats(s, &st), E_OK);
	UCHECK_EQ(n, st.mappings, 0);
	UCHECK_EQ(n, pg_space_stats(sr, &st), E_OK);
	UCHECK_EQ(n, st.mappings, 0);
	UCHECK_EQ(n, pg_map(s, XVA, m, 0, PAGE, PROT_READ), E_NOENT);
	UCHECK_EQ(n, pg_protect(s, XVA, PAGE, PROT_READ), E_NOENT);
	UCHECK_EQ(n, pg_unmap(s, XVA, PAGE, 0), E_NOENT);
	UCHECK_EQ(n, pg_unmap(s, XVA, PAGE, UNMAP_LAZY), E_NOENT);
	UCHECK_EQ(n, pg_vcpu_create(s, 0x400000, STACK_VA, 0, -1), E_NOENT);
	UCHECK_EQ(n, pg_space_delete(s), E_NOENT);
	UCHECK_EQ(n, *(volatile uint64_t *)XVA, 42); // our mapping survives its deletion
	UCHECK_EQ(n, tc_stats(H_SELF).mappings, s0.mappings + 1);
	UCHECK_EQ(n, pg_unmap(H_SELF, XVA, PAGE, 0), E_OK);
	UCHECK_EQ(n, pg_handle_close(sr), E_OK);
	UCHECK_EQ(n, pg_handle_close(s), E_OK);
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
	SAME(n, s0);
}

// A space may map into another without deleting it: closing the last handle tears
// it down too, and the memory's charge comes back.
static void close_last_handle_frees_space(const char *n)
{
	struct snap s0 = take();
	handle_t s = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	handle_t m = pg_mem_create(3 * PAGE);
	if (!UCHECK(n, s > 0 && m > 0))
		return;
	UCHECK_EQ(n, pg_map(s, XVA, m, 0, 3 * PAGE, PROT_READ | PROT_WRITE), E_OK);
	UCHECK(n, pg_handle_transfer(pg_handle_dup(m, R_ALL), s) > 0);
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
	UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, s0.frames + 3);
	UCHECK_EQ(n, pg_handle_close(s), E_OK);
	SAME(n, s0);
}

// ---- A full table -------------------------------------------------------------------

static void table_full_fails(const char *n)
{
	handle_t m = pg_mem_create(PAGE);
	if (!UCHECK(n, m > 0))
		return;
	uint64_t frames0 = tc_stats(H_SELF).frames_charged;
	static handle_t got[256];
	int k = 0, rc;
	while ((rc = pg_handle_dup(m, R_ALL)) > 0 && k < 256)
		got[k++] = rc;
	UCHECK_EQ(n, rc, E_NOMEM);
	for (int i = 1; i < 256; i++) // every slot but H_SELF is in use
		if (pg_mem_size(i) == E_BADH)
			UTEST_FAIL(n, "slot %d free in a full table", i);
	// Everything that makes a handle says E_NOMEM, and leaves nothing behind.
	UCHECK_EQ(n, pg_mem_create(PAGE), E_NOMEM);
	UCHECK_EQ(n, pg_mem_create(64 * PAGE), E_NOMEM);
	UCHECK_EQ(n, pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET), E_NOMEM);
	UCHECK_EQ(n, pg_handle_dup(H_SELF, R_READ), E_NOMEM);
	UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, frames0);
	UCHECK_EQ(n, pg_mem_size(m), PAGE);
	UCHECK_EQ(n, pg_printf("handles: table full after %d dups\n", k) > 0, 1);
	int bad = 0;
	for (int i = 0; i < k; i++)
		bad += pg_handle_close(got[i]) != E_OK;
	UCHECK_EQ(n, bad, 0);
	handle_t d = pg_handle_dup(m, R_READ);
	UCHECK(n, d > 0);
	UCHECK_EQ(n, pg_mem_size(d), PAGE);
	UCHECK_EQ(n, pg_handle_close(d), E_OK);
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
}

static const struct utest_case cases[] = {
	{ "handles_dup_reduces_rights", dup_reduces_rights },
	{ "handles_dup_without_r_dup_fails", dup_without_r_dup_fails },
	{ "handles_close_twice_fails", close_twice_fails },
	{ "handles_close_self_fails", close_self_fails },
	{ "handles_out_of_range_fails", out_of_range_handles_fail },
	{ "handles_unused_fails", unused_handles_fail },
	{ "handles_wrong_type_fails", wrong_type_fails },
	{ "handles_missing_rights_fails", missing_rights_fail },
	{ "handles_set_budget_self_fails", set_budget_self_fails },
	{ "handles_transfer_moves_handle", transfer_moves_handle },
	{ "handles_transfer_without_r_transfer_fails", transfer_without_r_transfer_fails },
	{ "handles_cross_space_map_and_delete", cross_space_map_and_delete },
	{ "handles_close_last_handle_frees_space", close_last_handle_frees_space },
	{ "handles_table_full_fails", table_full_fails },
};

int main(uint64_t arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}
