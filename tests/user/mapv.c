// mapv.c: batched mapping calls (mapv) and moving a range (remap). A batch is all
// or nothing: every entry is checked before any is applied, a bad one is named by its
// index, and a failed call leaves the space as it was, which each case checks by
// comparing a snapshot of its counters and of what every test page allows and holds.
// A batch costs one shootdown; remap moves pages without copying them.
#include "tcommon.h"

#define A      TEST_VA                  // 8 pages mapped RW from mem_a at the start of each case
#define B      (TEST_VA + 64 * PAGE)    // free: where maps and remaps go
#define FAR    (TEST_VA + (1UL << 30))  // free, in another leaf table
#define NPROBE 12                       // pages a snapshot looks at: A's 8, B's 4
#define RW     (PROT_READ | PROT_WRITE)

static int ncpu;
static handle_t mem_a, mem_b, mem_b_ro, not_mem;

// ---- Probing a page from a second vcpu (a fault there is an answer, not a crash) ----

static volatile uint64_t pr_va, pr_write, pr_seq, pr_done, pr_result; // result: 1 ok, 2 fault
static volatile uint64_t pr_stop;

static void prober(uint64_t arg)
{
	(void)arg;
	for (;;) {
		while (pr_done == pr_seq)
			if (pr_stop)
				pg_exit(0);
			else
				pg_yield();
		volatile uint64_t *p = (volatile uint64_t *)pr_va;
		uint64_t v = *p;
		if (pr_write)
			*p = v; // the same value: probing changes nothing
		pr_result = 1;
		pr_done = pr_seq;
	}
}

static void prober_fault(uint64_t arg, uint64_t addr, uint64_t code)
{
	(void)addr, (void)code;
	pr_result = 2;
	pr_done = pr_seq;
	prober(arg);
}

static int probe(uintptr_t va, bool write)
{
	pr_va = va, pr_write = write, pr_result = 0;
	pr_seq++;
	return TC_WAIT(pr_done == pr_seq, 5000) ? (int)pr_result : 0;
}

// 0: no access, 1: read only, 2: read and write.
static int access_of(uintptr_t va) { return probe(va, false) != 1 ? 0 : probe(va, true) == 1 ? 2 : 1; }

struct snap {
	uint64_t mappings, table_frames, frames_charged, kernel_bytes;
	int access[NPROBE];
	uint64_t word[NPROBE];
};

static uintptr_t probe_va(int i) { return i < 8 ? A + (uintptr_t)i * PAGE : B + (uintptr_t)(i - 8) * PAGE; }

static struct snap snapshot(void)
{
	struct snap s;
	memset(&s, 0, sizeof s);
	struct space_stats st = tc_stats(H_SELF);
	s.mappings = st.mappings, s.table_frames = st.table_frames;
	s.frames_charged = st.frames_charged, s.kernel_bytes = st.kernel_bytes;
	for (int i = 0; i < NPROBE; i++) {
		s.access[i] = access_of(probe_va(i));
		s.word[i] = s.access[i] ? *(volatile uint64_t *)probe_va(i) : 0;
	}
	return s;
}

static void expect_same(const char *what, const struct snap *a, const struct snap *b)
{
	if (a->mappings != b->mappings || a->table_frames != b->table_frames ||
	    a->frames_charged != b->frames_charged || a->kernel_bytes != b->kernel_bytes)
		utest_fail(what, "counters changed: mappings %lu -> %lu, tables %lu -> %lu, frames %lu -> %lu, "
				 "kernel bytes %lu -> %lu", a->mappings, b->mappings, a->table_frames, b->table_frames,
			   a->frames_charged, b->frames_charged, a->kernel_bytes, b->kernel_bytes);
	for (int i = 0; i < NPROBE; i++)
		if (a->access[i] != b->access[i] || a->word[i] != b->word[i])
			utest_fail(what, "page %d changed: access %d -> %d, word %#lx -> %#lx", i, a->access[i],
				   b->access[i], a->word[i], b->word[i]);
}

// A fresh A (8 RW pages, word i = 0xa0 + i) and an empty B before each case. False
// (the case fails) if A cannot be mapped: out of memory, as under failure injection,
// where touching A would be a fault nothing handles.
static bool reset(void)
{
	for (int i = 0; i < 16; i++) // page by page: a case may have left holes
		pg_unmap(H_SELF, A + (uintptr_t)i * PAGE, PAGE, 0), pg_unmap(H_SELF, B + (uintptr_t)i * PAGE, PAGE, 0),
			pg_unmap(H_SELF, FAR + (uintptr_t)i * PAGE, PAGE, 0);
	int err = pg_map(H_SELF, A, mem_a, 0, 8 * PAGE, RW);
	EXPECT_OK(err);
	if (err != E_OK)
		return false;
	for (int i = 0; i < 8; i++)
		*(volatile uint64_t *)(A + (uintptr_t)i * PAGE) = 0xa0 + (uint64_t)i;
	return true;
}
#define RESET()                    \
	do {                       \
		if (!reset())      \
			return;    \
	} while (0)

static struct pg_mapop op_map(uintptr_t va, handle_t m, uint64_t off, uint64_t len, unsigned prot)
{
	return (struct pg_mapop){ .op = MAPOP_MAP, .prot = prot, .va = va, .len = len, .mem = m, .off = off };
}
static struct pg_mapop op_protect(uintptr_t va, uint64_t len, unsigned prot)
{
	return (struct pg_mapop){ .op = MAPOP_PROTECT, .prot = prot, .va = va, .len = len };
}
static struct pg_mapop op_unmap(uintptr_t va, uint64_t len)
{
	return (struct pg_mapop){ .op = MAPOP_UNMAP, .va = va, .len = len };
}

// ---- Batches that work ------------------------------------------------------------

static void applies_every_kind(const char *n)
{
	(void)n;
	RESET();
	struct pg_mapop ops[] = {
		op_protect(A, PAGE, PROT_READ), op_unmap(A + PAGE, PAGE), op_map(B, mem_b, 0, 2 * PAGE, RW),
		op_protect(A + 2 * PAGE, PAGE, 0),
	};
	uint64_t bad = 99;
	ASSERT_OK(pg_mapv(H_SELF, ops, 4, &bad));
	EXPECT_EQ(bad, 99); // written only on error
	EXPECT_EQ(access_of(A), 1);
	EXPECT_EQ(access_of(A + PAGE), 0);
	EXPECT_EQ(access_of(A + 2 * PAGE), 0);
	EXPECT_EQ(access_of(A + 3 * PAGE), 2);
	EXPECT_EQ(access_of(B), 2);
	EXPECT_EQ(access_of(B + PAGE), 2);
	EXPECT_EQ(*(volatile uint64_t *)A, 0xa0);
	ASSERT_OK(pg_protect(H_SELF, A + 2 * PAGE, PAGE, PROT_READ));
	EXPECT_EQ(*(volatile uint64_t *)(A + 2 * PAGE), 0xa2); // no-access kept the page
}

// A map and an unmap in one 2 MiB region: the unmap must not take the table the map
// needs (tables are let go only after every entry is in).
static void unmap_and_map_beside_it(const char *n)
{
	(void)n;
	RESET();
	uint64_t t0 = tc_stats(H_SELF).table_frames;
	ASSERT_OK(pg_map(H_SELF, FAR, mem_b, 0, PAGE, RW));
	struct pg_mapop ops[] = { op_unmap(FAR, PAGE), op_map(FAR + PAGE, mem_b, PAGE, PAGE, RW) };
	ASSERT_OK(pg_mapv(H_SELF, ops, 2, NULL));
	*(volatile uint64_t *)(FAR + PAGE) = 0xfa;
	EXPECT_EQ(access_of(FAR), 0);
	ASSERT_OK(pg_unmap(H_SELF, FAR + PAGE, PAGE, 0));
	EXPECT_EQ(tc_stats(H_SELF).table_frames, t0);
}

// Lowering 200 scattered pages that another CPU caches: one request to that CPU.
static void one_shootdown_for_the_batch(const char *n)
{
	(void)n;
	if (ncpu < 2)
		return;
	handle_t m = tc_map_new(FAR, 400);
	ASSERT_TRUE(m >= 0);
	ASSERT_TRUE(tc_spin_start(1));
	static struct pg_mapop ops[200];
	for (int i = 0; i < 200; i++)
		ops[i] = op_protect(FAR + (uintptr_t)(2 * i) * PAGE, PAGE, PROT_READ);
	uint64_t ipis = tc_stats(H_SELF).ipis_sent;
	ASSERT_OK(pg_mapv(H_SELF, ops, 200, NULL));
	EXPECT_EQ(tc_stats(H_SELF).ipis_sent - ipis, 1);
	EXPECT_EQ(access_of(FAR), 1);
	EXPECT_EQ(access_of(FAR + 398 * PAGE), 1);
	EXPECT_EQ(access_of(FAR + PAGE), 2);
	for (int i = 0; i < 200; i++)
		ops[i].prot = RW;
	ipis = tc_stats(H_SELF).ipis_sent;
	ASSERT_OK(pg_mapv(H_SELF, ops, 200, NULL));
	EXPECT_EQ(tc_stats(H_SELF).ipis_sent, ipis); // raising: no IPI
	EXPECT_TRUE(tc_spin_stop_all(2)); // main and the prober stay
	EXPECT_OK(pg_unmap(H_SELF, FAR, 400 * PAGE, 0));
	EXPECT_OK(pg_handle_close(m));
}

static void the_longest_batch(const char *n)
{
	(void)n;
	RESET();
	handle_t m = pg_mem_create(MAPV_MAX * PAGE);
	ASSERT_TRUE(m >= 0);
	static struct pg_mapop ops[MAPV_MAX + 1];
	for (unsigned i = 0; i < MAPV_MAX; i++)
		ops[i] = op_map(FAR + 2 * i * PAGE, m, i * PAGE, PAGE, PROT_READ);
	uint64_t bad = 0;
	EXPECT_ERR(pg_mapv(H_SELF, ops, MAPV_MAX + 1, &bad), E_INVAL);
	EXPECT_EQ(bad, MAPV_MAX + 1);
	ASSERT_OK(pg_mapv(H_SELF, ops, MAPV_MAX, NULL));
	EXPECT_EQ(access_of(FAR + 2 * (MAPV_MAX - 1) * PAGE), 1);
	for (unsigned i = 0; i < MAPV_MAX; i++)
		ops[i] = op_unmap(FAR + 2 * i * PAGE, PAGE);
	ASSERT_OK(pg_mapv(H_SELF, ops, MAPV_MAX, NULL));
	EXPECT_EQ(access_of(FAR), 0);
	EXPECT_OK(pg_handle_close(m));
}

// ---- Bad vectors change nothing ----------------------------------------------------

struct bad_entry {
	const char *what;
	struct pg_mapop op;
	int err;
	int at; // -1: the entry itself; else the index reported
};

// Put at index 3 of a batch whose other entries are all good.
static const struct bad_entry bad_entries[] = {
	{ "op 0", { .op = 0, .va = B, .len = PAGE }, E_INVAL, -1 },
	{ "op 99", { .op = 99, .va = B, .len = PAGE }, E_INVAL, -1 },
	{ "pad set", { .op = MAPOP_UNMAP, .va = A + 4 * PAGE, .len = PAGE, .pad = 1 }, E_INVAL, -1 },
	{ "protect with a mem", { .op = MAPOP_PROTECT, .prot = PROT_READ, .va = A + 4 * PAGE, .len = PAGE, .mem = 1 }, E_INVAL, -1 },
	{ "protect with an offset", { .op = MAPOP_PROTECT, .va = A + 4 * PAGE, .len = PAGE, .off = PAGE }, E_INVAL, -1 },
	{ "unmap with prot", { .op = MAPOP_UNMAP, .prot = PROT_READ, .va = A + 4 * PAGE, .len = PAGE }, E_INVAL, -1 },
	{ "map va unaligned", { .op = MAPOP_MAP, .prot = PROT_READ, .va = B + 8, .len = PAGE }, E_INVAL, -1 },
	{ "map len 0", { .op = MAPOP_MAP, .prot = PROT_READ, .va = B, .len = 0 }, E_INVAL, -1 },
	{ "protect prot 8", { .op = MAPOP_PROTECT, .prot = 8, .va = A + 4 * PAGE, .len = PAGE }, E_INVAL, -1 },
	{ "unmap kernel va", { .op = MAPOP_UNMAP, .va = 0xffffffff80000000UL, .len = PAGE }, E_RANGE, -1 },
	{ "unmap va + len wraps", { .op = MAPOP_UNMAP, .va = A, .len = -A }, E_RANGE, -1 },
	{ "map past the mem", { .op = MAPOP_MAP, .prot = PROT_READ, .va = B, .len = 8 * PAGE }, E_RANGE, -1 },
	{ "map handle unused", { .op = MAPOP_MAP, .prot = PROT_READ, .va = B, .len = PAGE, .mem = 200 }, E_BADH, -1 },
	{ "map a notify", { .op = MAPOP_MAP, .prot = PROT_READ, .va = B, .len = PAGE }, E_TYPE, -1 },
	{ "map RW through a read-only handle", { .op = MAPOP_MAP, .prot = RW, .va = B, .len = PAGE }, E_RIGHTS, -1 },
	{ "map over a mapping", { .op = MAPOP_MAP, .prot = PROT_READ, .va = A + 5 * PAGE, .len = PAGE }, E_EXISTS, -1 },
	{ "protect of nothing", { .op = MAPOP_PROTECT, .prot = PROT_READ, .va = B + 3 * PAGE, .len = PAGE }, E_NOENT, -1 },
	{ "unmap over a hole", { .op = MAPOP_UNMAP, .va = A + 7 * PAGE, .len = 2 * PAGE }, E_NOENT, -1 },
	{ "overlaps entry 0", { .op = MAPOP_UNMAP, .va = A, .len = PAGE }, E_INVAL, 3 },
	{ "overlaps entry 4 (later)", { .op = MAPOP_UNMAP, .va = A + 6 * PAGE, .len = PAGE }, E_INVAL, 4 },
};

static void run_bad(const char *n, const struct bad_entry *b)
{
	struct pg_mapop ops[5] = {
		op_protect(A, PAGE, PROT_READ), op_unmap(A + PAGE, PAGE), op_map(B, mem_b, 0, PAGE, RW), b->op,
		op_protect(A + 6 * PAGE, PAGE, 0),
	};
	if (b->op.op == MAPOP_MAP && !b->op.mem) // the mem it names, unless the case names one
		ops[3].mem = b->err == E_TYPE ? not_mem : b->err == E_RIGHTS ? mem_b_ro : mem_b;
	struct snap before = snapshot();
	uint64_t bad = 77;
	int err = pg_mapv(H_SELF, ops, 5, &bad);
	if (err != b->err || bad != (uint64_t)(b->at < 0 ? 3 : b->at))
		utest_fail(n, "%s: got %s at %lu, want %s at %d", b->what, pg_strerror(err), bad, pg_strerror(b->err),
			   b->at < 0 ? 3 : b->at);
	struct snap after = snapshot();
	expect_same(n, &before, &after);
}

static void bad_entries_change_nothing(const char *n)
{
	RESET();
	for (size_t i = 0; i < sizeof bad_entries / sizeof bad_entries[0]; i++)
		run_bad(n, &bad_entries[i]);
}

// Each entry alone is checked for all entries before any against the space: a bad
// flag in entry 2 is reported over a missing mapping in entry 0.
static void entries_alone_first(const char *n)
{
	(void)n;
	RESET();
	struct pg_mapop ops[3] = { op_unmap(B + 7 * PAGE, PAGE), op_protect(A, PAGE, PROT_READ),
				   op_protect(A + 2 * PAGE, PAGE, 0x10) };
	uint64_t bad = 0;
	EXPECT_ERR(pg_mapv(H_SELF, ops, 3, &bad), E_INVAL);
	EXPECT_EQ(bad, 2);
	ops[2].prot = PROT_READ;
	EXPECT_ERR(pg_mapv(H_SELF, ops, 3, &bad), E_NOENT);
	EXPECT_EQ(bad, 0);
	EXPECT_EQ(access_of(A), 2);
}

static void bad_vectors_change_nothing(const char *n)
{
	RESET();
	struct pg_mapop ops[2] = { op_protect(A, PAGE, PROT_READ), op_unmap(A + PAGE, PAGE) };
	struct snap before = snapshot();
	uint64_t bad = 5;
	EXPECT_ERR(pg_mapv(H_SELF, ops, 0, &bad), E_INVAL);
	EXPECT_EQ(bad, 0);
	EXPECT_ERR(pg_mapv(H_SELF, ops, 1UL << 40, &bad), E_INVAL);
	EXPECT_EQ(bad, 1UL << 40);
	EXPECT_ERR(pg_mapv(H_SELF, NULL, 2, &bad), E_FAULT);
	EXPECT_EQ(bad, 0);
	EXPECT_ERR(pg_mapv(H_SELF, (const struct pg_mapop *)0xffffffff80000000UL, 2, &bad), E_FAULT);
	EXPECT_ERR(pg_mapv(200, ops, 2, &bad), E_BADH);
	EXPECT_EQ(bad, 2);
	handle_t ro = pg_handle_dup(H_SELF, R_READ);
	EXPECT_ERR(pg_mapv(ro, ops, 2, &bad), E_RIGHTS);
	pg_handle_close(ro);
	// bad itself unwritable: the error still comes back, nothing else happens.
	ops[1] = op_unmap(B, PAGE);
	EXPECT_ERR(pg_mapv(H_SELF, ops, 2, (uint64_t *)0xffffffff80000000UL), E_NOENT);
	// A vector that runs into an unmapped page: the first entry that cannot be read.
	struct pg_mapop *edge = (struct pg_mapop *)(B + 4 * PAGE - 2 * sizeof *edge);
	ASSERT_OK(pg_map(H_SELF, B + 3 * PAGE, mem_b, 3 * PAGE, PAGE, RW));
	edge[0] = op_protect(A, PAGE, PROT_READ), edge[1] = op_protect(A + 2 * PAGE, PAGE, PROT_READ);
	EXPECT_ERR(pg_mapv(H_SELF, edge, 20, &bad), E_FAULT);
	EXPECT_EQ(bad, 2);
	ASSERT_OK(pg_unmap(H_SELF, B + 3 * PAGE, PAGE, 0));
	struct snap after = snapshot();
	expect_same(n, &before, &after);
}

// ---- remap --------------------------------------------------------------------------

static void remap_moves_without_copying(const char *n)
{
	(void)n;
	RESET();
	uint64_t frames = tc_stats(H_SELF).frames_charged, mappings = tc_stats(H_SELF).mappings;
	ASSERT_OK(pg_protect(H_SELF, A + PAGE, PAGE, PROT_READ));
	ASSERT_OK(pg_protect(H_SELF, A + 2 * PAGE, PAGE, 0));
	ASSERT_OK(pg_remap(H_SELF, A, 4 * PAGE, FAR));
	EXPECT_EQ(access_of(A), 0);
	EXPECT_EQ(access_of(A + 3 * PAGE), 0);
	EXPECT_EQ(access_of(A + 4 * PAGE), 2); // the rest stayed
	EXPECT_EQ(access_of(FAR), 2);
	EXPECT_EQ(access_of(FAR + PAGE), 1);    // rights moved with the pages
	EXPECT_EQ(access_of(FAR + 2 * PAGE), 0);
	EXPECT_EQ(*(volatile uint64_t *)(FAR + 3 * PAGE), 0xa3);
	// The same frames: a write through a second mapping of mem_a shows at the new place.
	ASSERT_OK(pg_map(H_SELF, B, mem_a, 0, PAGE, RW));
	*(volatile uint64_t *)B = 0xb0;
	EXPECT_EQ(*(volatile uint64_t *)FAR, 0xb0);
	EXPECT_OK(pg_unmap(H_SELF, B, PAGE, 0));
	EXPECT_EQ(tc_stats(H_SELF).frames_charged, frames);
	EXPECT_EQ(tc_stats(H_SELF).mappings, mappings);
	ASSERT_OK(pg_protect(H_SELF, FAR + 2 * PAGE, PAGE, PROT_READ));
	EXPECT_EQ(*(volatile uint64_t *)(FAR + 2 * PAGE), 0xa2);
}

// Across two records (two mems), cut out of both; the old tables go, the new come.
static void remap_across_records(const char *n)
{
	(void)n;
	RESET();
	ASSERT_OK(pg_map(H_SELF, A + 8 * PAGE, mem_b, 0, 2 * PAGE, RW));
	*(volatile uint64_t *)(A + 8 * PAGE) = 0xb8;
	ASSERT_OK(pg_remap(H_SELF, A + 6 * PAGE, 3 * PAGE, FAR + 10 * PAGE));
	EXPECT_EQ(*(volatile uint64_t *)(FAR + 10 * PAGE), 0xa6);
	EXPECT_EQ(*(volatile uint64_t *)(FAR + 12 * PAGE), 0xb8);
	EXPECT_EQ(access_of(A + 5 * PAGE), 2);
	EXPECT_EQ(access_of(A + 9 * PAGE), 2);
	EXPECT_EQ(access_of(A + 8 * PAGE), 0);
	// Back again, then a lone page between two fresh 512 GiB slots: its tables move too.
	ASSERT_OK(pg_remap(H_SELF, FAR + 10 * PAGE, 3 * PAGE, A + 6 * PAGE));
	EXPECT_EQ(*(volatile uint64_t *)(A + 8 * PAGE), 0xb8);
	EXPECT_OK(pg_unmap(H_SELF, A + 8 * PAGE, 2 * PAGE, 0));
	uint64_t t0 = tc_stats(H_SELF).table_frames;
	ASSERT_OK(pg_map(H_SELF, 0x030000000000UL, mem_b, 0, PAGE, RW));
	ASSERT_OK(pg_remap(H_SELF, 0x030000000000UL, PAGE, 0x038000000000UL));
	EXPECT_EQ(tc_stats(H_SELF).table_frames, t0 + 3);
	EXPECT_OK(pg_unmap(H_SELF, 0x038000000000UL, PAGE, 0));
	EXPECT_EQ(tc_stats(H_SELF).table_frames, t0);
}

static void remap_bad_arguments_change_nothing(const char *n)
{
	RESET();
	ASSERT_OK(pg_map(H_SELF, B, mem_b, 0, PAGE, RW));
	struct snap before = snapshot();
	static const struct {
		const char *what;
		uintptr_t va;
		uint64_t len;
		uintptr_t to;
		int err;
	} cases[] = {
		{ "overlapping, up", A, 4 * PAGE, A + 2 * PAGE, E_INVAL },
		{ "overlapping, down", A + 2 * PAGE, 4 * PAGE, A, E_INVAL },
		{ "onto itself", A, PAGE, A, E_INVAL },
		{ "va unaligned", A + 8, PAGE, FAR, E_INVAL },
		{ "to unaligned", A, PAGE, FAR + 8, E_INVAL },
		{ "len unaligned", A, PAGE + 8, FAR, E_INVAL },
		{ "len 0", A, 0, FAR, E_INVAL },
		{ "to in the kernel", A, PAGE, 0xffffffff80000000UL, E_RANGE },
		{ "to past the top", A, 2 * PAGE, 0x7ffffffff000UL - PAGE, E_RANGE },
		{ "to + len wraps", A, -FAR, FAR, E_RANGE },
		{ "from nothing", FAR, PAGE, FAR + 16 * PAGE, E_NOENT },
		{ "over a hole", A + 6 * PAGE, 4 * PAGE, FAR, E_NOENT },
		{ "onto a mapping", A, PAGE, B, E_EXISTS },
		{ "partly onto a mapping", A, 2 * PAGE, B - PAGE, E_EXISTS },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int err = pg_remap(H_SELF, cases[i].va, cases[i].len, cases[i].to);
		if (err != cases[i].err)
			utest_fail(n, "remap %s: %s, want %s", cases[i].what, pg_strerror(err), pg_strerror(cases[i].err));
	}
	EXPECT_ERR(pg_remap(200, A, PAGE, FAR), E_BADH);
	handle_t ro = pg_handle_dup(H_SELF, R_READ);
	EXPECT_ERR(pg_remap(ro, A, PAGE, FAR), E_RIGHTS);
	pg_handle_close(ro);
	struct snap after = snapshot();
	expect_same(n, &before, &after);
	EXPECT_OK(pg_unmap(H_SELF, B, PAGE, 0));
}

// Over a lazily unmapped range that another CPU may still reach: E_BUSY, as for map.
static void busy_over_a_lazy_range(const char *n)
{
	(void)n;
	if (ncpu < 2)
		return;
	RESET();
	ASSERT_TRUE(tc_spin_start(1)); // holds the space: the lazy range stays a while
	ASSERT_OK(pg_map(H_SELF, B, mem_b, 0, PAGE, RW));
	ASSERT_OK(pg_unmap(H_SELF, B, PAGE, UNMAP_LAZY));
	int r = pg_remap(H_SELF, A, PAGE, B);
	struct pg_mapop ops[1] = { op_map(B, mem_b, 0, PAGE, RW) };
	int v = pg_mapv(H_SELF, ops, 1, NULL);
	if (tc_stats(H_SELF).lazy_pending) { // still pending after both calls: both were refused
		EXPECT_ERR(r, E_BUSY);
		EXPECT_ERR(v, E_BUSY);
	}
	if (r == E_OK) // reclaimed first: then the move was right, and goes back
		EXPECT_OK(pg_remap(H_SELF, B, PAGE, A));
	if (v == E_OK)
		EXPECT_OK(pg_unmap(H_SELF, B, PAGE, 0));
	EXPECT_TRUE(tc_spin_stop_all(2));
	EXPECT_TRUE(TC_WAIT(tc_stats(H_SELF).lazy_pending == 0, 5000));
}

static const struct utest_case cases[] = {
	{ "mapv_applies_every_kind", applies_every_kind },
	{ "mapv_unmap_and_map_beside_it", unmap_and_map_beside_it },
	{ "mapv_one_shootdown_for_the_batch", one_shootdown_for_the_batch },
	{ "mapv_the_longest_batch", the_longest_batch },
	{ "mapv_bad_entries_change_nothing", bad_entries_change_nothing },
	{ "mapv_entries_alone_first", entries_alone_first },
	{ "mapv_bad_vectors_change_nothing", bad_vectors_change_nothing },
	{ "remap_moves_without_copying", remap_moves_without_copying },
	{ "remap_across_records", remap_across_records },
	{ "remap_bad_arguments_change_nothing", remap_bad_arguments_change_nothing },
	{ "remap_mapv_busy_over_a_lazy_range", busy_over_a_lazy_range },
};

int main(uint64_t arg)
{
	(void)arg;
	ncpu = pg_cpu_count();
	mem_a = pg_mem_create(8 * PAGE);
	mem_b = pg_mem_create(4 * PAGE);
	mem_b_ro = pg_handle_dup(mem_b, R_READ | R_MAP);
	not_mem = pg_notify_create();
	if (mem_a < 0 || mem_b < 0 || mem_b_ro < 0 || not_mem < 0 || tc_spawn(prober, 0, ncpu > 1 ? 1 : 0, prober_fault) != E_OK)
		return 1;
	int failed = UTEST_RUN(cases);
	pr_stop = 1;
	return failed;
}
