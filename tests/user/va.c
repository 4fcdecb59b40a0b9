// va.c: libpagoda's never-reusing VA allocator (pg_va_alloc, pg_va_free) and the
// malloc on it, on pagoda: addresses never repeat, freed memory faults and its frames
// come back once the lazy unmap is reclaimed, bad frees are refused and change
// nothing, malloc holds from several runtime vcpus at once, and a spent region is
// E_NOVA for good (through the test hook that shrinks it: the last case).
#include "tcommon.h"
#include "rt.h"

#define CYCLES 100000

static int ncpu;

static void addresses_never_repeat(const char *n)
{
	(void)n;
	long prev = 0;
	for (int i = 0; i < CYCLES; i++) {
		long va = pg_va_alloc(1 + (size_t)(i % 3) * PAGE, 0);
		ASSERT_GT(va, prev); // above every earlier range: none handed out twice
		ASSERT_GE(va, (long)PG_VA_BASE);
		ASSERT_LT(va, (long)PG_VA_TOP);
		ASSERT_OK(pg_va_free_unmapped((uintptr_t)va, 1 + (size_t)(i % 3) * PAGE));
		prev = va;
	}
	// And with memory mapped and lazily unmapped each time (fewer: four calls each).
	for (int i = 0; i < 2000; i++) {
		long va = pg_va_alloc(PAGE, 0);
		ASSERT_GT(va, prev);
		ASSERT_OK(pg_va_map((uintptr_t)va, PAGE));
		*(volatile uint64_t *)va = (uint64_t)i;
		ASSERT_OK(pg_va_free((uintptr_t)va, PAGE));
		prev = va;
	}
}

static void access_after_free_faults(const char *n)
{
	(void)n;
	long va = pg_va_alloc(3 * PAGE, 0);
	ASSERT_GT(va, 0);
	ASSERT_OK(pg_va_map((uintptr_t)va, 3 * PAGE));
	((volatile uint64_t *)va)[1000] = 7;
	ASSERT_OK(pg_va_free((uintptr_t)va, 3 * PAGE));
	EXPECT_TRUE(tc_read_faults((uintptr_t)va + 2 * PAGE, -1));
	// A range mapped in pieces with holes: every piece goes.
	va = pg_va_alloc(64 * PAGE, 0);
	ASSERT_GT(va, 0);
	ASSERT_OK(pg_va_map((uintptr_t)va + 5 * PAGE, 2 * PAGE));
	ASSERT_OK(pg_va_map((uintptr_t)va + 40 * PAGE, PAGE));
	ASSERT_OK(pg_va_free((uintptr_t)va, 64 * PAGE));
	EXPECT_TRUE(tc_read_faults((uintptr_t)va + 6 * PAGE, -1));
	EXPECT_TRUE(tc_read_faults((uintptr_t)va + 40 * PAGE, -1));
	EXPECT_EQ(tc_stats(H_SELF).ipis_sent, 0); // lazy: never an IPI
}

static bool same_stats(const struct pg_va_stats *a, const struct pg_va_stats *b)
{
	return a->live == b->live && a->allocs == b->allocs && a->frees == b->frees && a->spent == b->spent &&
	       a->syscalls == b->syscalls;
}

static void bad_frees_fail_and_change_nothing(const char *n)
{
	long va = pg_va_alloc(4 * PAGE, 0), done = pg_va_alloc(PAGE, 0);
	ASSERT_GT(va, 0);
	ASSERT_GT(done, 0);
	ASSERT_OK(pg_va_map((uintptr_t)va, 4 * PAGE));
	ASSERT_OK(pg_va_free_unmapped((uintptr_t)done, PAGE));
	handle_t m = tc_map_new(TEST_VA, 1); // mapped, but not the allocator's
	ASSERT_GE(m, 0);
	struct { uintptr_t va; size_t len; int want; } bad[] = {
		{ (uintptr_t)va + PAGE, PAGE, E_NOENT },     // inside a range
		{ (uintptr_t)va, 3 * PAGE, E_INVAL },        // wrong length
		{ (uintptr_t)va, 5 * PAGE, E_INVAL },
		{ (uintptr_t)va, (size_t)-1, E_INVAL },
		{ (uintptr_t)va + 8, 4 * PAGE, E_INVAL },    // not page-aligned
		{ (uintptr_t)va, 0, E_INVAL },
		{ (uintptr_t)done, PAGE, E_NOENT },          // a double free
		{ TEST_VA, PAGE, E_NOENT },                  // not from pg_va_alloc
		{ PG_VA_TOP - PAGE, PAGE, E_NOENT },         // never handed out
		{ USER_TOP, PAGE, E_NOENT },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct pg_va_stats s0, s1;
		pg_va_get_stats(&s0);
		if (!UCHECK_EQ(n, pg_va_free(bad[i].va, bad[i].len), bad[i].want) ||
		    !UCHECK_EQ(n, pg_va_free_unmapped(bad[i].va, bad[i].len), bad[i].want))
			pg_printf("    # case %zu\n", i);
		pg_va_get_stats(&s1);
		EXPECT_TRUE(same_stats(&s0, &s1));
	}
	((volatile uint64_t *)va)[1500] = 1; // both still mapped: nothing was unmapped
	*(volatile uint64_t *)TEST_VA = 1;
	EXPECT_EQ(pg_va_len((uintptr_t)va), 4 * (long)PAGE);
	EXPECT_OK(pg_va_free((uintptr_t)va, 4 * PAGE));
	EXPECT_EQ(pg_va_len((uintptr_t)va), E_NOENT);
	EXPECT_OK(pg_unmap(H_SELF, TEST_VA, PAGE, 0));
	pg_handle_close(m);
}

static void bad_allocs_fail(const char *n)
{
	(void)n;
	struct pg_va_stats s0, s1;
	pg_va_get_stats(&s0);
	EXPECT_ERR(pg_va_alloc(0, 0), E_INVAL);
	EXPECT_ERR(pg_va_alloc(PAGE, 3 * PAGE), E_INVAL);
	EXPECT_ERR(pg_va_alloc(PAGE, 1UL << 47), E_INVAL);
	EXPECT_ERR(pg_va_alloc(PG_VA_TOP, 0), E_RANGE);
	EXPECT_ERR(pg_va_alloc((size_t)-1, 0), E_RANGE);
	pg_va_get_stats(&s1);
	EXPECT_TRUE(same_stats(&s0, &s1));
}

// Frames charged to the space come back once the lazy unmaps are reclaimed.
static void frames_come_back(const char *n)
{
	(void)n;
	enum { N = 64 };
	long va[N];
	for (int round = 0; round < 2; round++) { // the first grows the table to its size
		uint64_t before = tc_stats(H_SELF).frames_charged;
		for (int i = 0; i < N; i++) {
			va[i] = pg_va_alloc(4 * PAGE, 0);
			ASSERT_GT(va[i], 0);
			ASSERT_OK(pg_va_map((uintptr_t)va[i], 4 * PAGE));
			((volatile char *)va[i])[3 * PAGE] = 1;
		}
		EXPECT_GE(tc_stats(H_SELF).frames_charged, before + N * 4);
		for (int i = N - 1; i >= 0; i -= 2) // every other one, then the rest
			ASSERT_OK(pg_va_free((uintptr_t)va[i], 4 * PAGE));
		for (int i = N - 2; i >= 0; i -= 2)
			ASSERT_OK(pg_va_free((uintptr_t)va[i], 4 * PAGE));
		if (round)
			EXPECT_TRUE(TC_WAIT(tc_stats(H_SELF).frames_charged == before, 5000));
	}
	EXPECT_TRUE(TC_WAIT(tc_stats(H_SELF).lazy_pending == 0, 5000));
}

// ---- malloc -------------------------------------------------------------------------

static void fill(uint8_t *p, size_t len, uint64_t tag)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(tag * 131 + i);
}

static bool intact(const uint8_t *p, size_t len, uint64_t tag)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (uint8_t)(tag * 131 + i))
			return false;
	return true;
}

static size_t size_of(uint64_t x) { return x % 7 == 0 ? 3000 + x % 9000 : 1 + x % 700; }

static void malloc_basics(const char *n)
{
	(void)n;
	void *prev = NULL;
	for (size_t len = 0; len <= 5000; len += 37) {
		uint8_t *p = malloc(len);
		ASSERT_TRUE(p != NULL);
		EXPECT_EQ((uintptr_t)p % 16, 0);
		EXPECT_GE(pg_malloc_size(p), len);
		EXPECT_TRUE(p != prev);
		fill(p, len, len);
		EXPECT_TRUE(intact(p, len, len));
		free(p);
		prev = p;
	}
	uint64_t *z = calloc(1000, 8);
	ASSERT_TRUE(z != NULL);
	for (int i = 0; i < 1000; i++)
		EXPECT_EQ(z[i], 0);
	EXPECT_TRUE(calloc((size_t)1 << 40, (size_t)1 << 40) == NULL); // overflows
	uint8_t *r = malloc(100);
	ASSERT_TRUE(r != NULL);
	fill(r, 100, 5);
	uint8_t *r2 = realloc(r, 10000);
	ASSERT_TRUE(r2 != NULL && r2 != r);
	EXPECT_TRUE(intact(r2, 100, 5));
	uint8_t *r3 = realloc(r2, 50);
	ASSERT_TRUE(r3 != NULL);
	EXPECT_TRUE(intact(r3, 50, 5));
	free(r3);
	free(z);
}

// Frees of small objects whose run stays live make no system call.
static void small_free_makes_no_syscall(const char *n)
{
	(void)n;
	enum { K = 200 };
	void *keep = malloc(48), *p[K];
	ASSERT_TRUE(keep != NULL);
	for (int i = 0; i < K; i++)
		ASSERT_TRUE((p[i] = malloc(48)) != NULL);
	uint64_t s0 = pg_va_syscalls();
	for (int i = 0; i < K; i++)
		free(p[i]);
	EXPECT_EQ(pg_va_syscalls(), s0);
	free(keep);
}

static void malloc_bad_frees_fail(const char *n)
{
	(void)n;
	uint8_t *a = malloc(64), *b = malloc(64), *big = malloc(20000);
	ASSERT_TRUE(a && b && big);
	fill(a, 64, 1), fill(b, 64, 2), fill(big, 20000, 3);
	EXPECT_ERR(pg_malloc_free(a + 16), E_INVAL);  // not an object's start
	EXPECT_ERR(pg_malloc_free(a + 8), E_INVAL);
	EXPECT_ERR(pg_malloc_free(big + 16), E_INVAL);
	EXPECT_ERR(pg_malloc_free(b + 64 * 100), E_NOENT); // an object not handed out yet
	long va = pg_va_alloc(PAGE, 0);                     // mapped, not malloc's
	ASSERT_GT(va, 0);
	ASSERT_OK(pg_va_map((uintptr_t)va, PAGE));
	EXPECT_ERR(pg_malloc_free((void *)(va + 64)), E_INVAL);
	EXPECT_OK(pg_malloc_free(a));
	EXPECT_ERR(pg_malloc_free(a), E_NOENT); // a double free, its run still live
	EXPECT_TRUE(intact(b, 64, 2));
	EXPECT_TRUE(intact(big, 20000, 3));
	EXPECT_OK(pg_malloc_free(b));
	EXPECT_OK(pg_malloc_free(big));
	EXPECT_TRUE(tc_read_faults((uintptr_t)big, -1)); // a big object's range is gone at once
	EXPECT_OK(pg_va_free((uintptr_t)va, PAGE));
}

// ---- malloc from several runtime vcpus --------------------------------------------------

#define WORKERS   8
#define PER       3000 // objects per round and worker; a tenth where vcpus outnumber host
                        // cores (4 here: their handoffs wait for host time slices)
static _Atomic int bad_contents, alloc_fails;

static uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17;
	return *x;
}

// Rounds of: PER objects of mixed sizes, each filled with its own pattern; then each
// checked (the sizes and tags replayed from the round's seed) and freed.
static void worker(void *arg)
{
	uint64_t id = (uint64_t)(uintptr_t)arg;
	static uint8_t *objs[WORKERS][PER];
	int per = pg_cpu_count() > 2 ? PER / 10 : PER;
	for (uint64_t round = 0; round < 3; round++) {
		uint64_t seed = (id * 3 + round) * 0x9e3779b97f4a7c15ULL + 1, x = seed;
		for (int i = 0; i < per; i++) {
			uint64_t tag = next_rand(&x);
			objs[id][i] = malloc(size_of(tag));
			if (!objs[id][i]) {
				alloc_fails++;
				return;
			}
			fill(objs[id][i], size_of(tag), tag);
			if (i % 64 == 0)
				rt_yield(); // let the others interleave
		}
		x = seed;
		for (int i = 0; i < per; i++) {
			uint64_t tag = next_rand(&x);
			if (!intact(objs[id][i], size_of(tag), tag))
				bad_contents++;
			free(objs[id][i]);
		}
	}
}

static int stress_main(void *arg)
{
	(void)arg;
	struct rt_thread *t[WORKERS];
	for (int i = 0; i < WORKERS; i++)
		t[i] = rt_spawn(worker, (void *)(uintptr_t)i);
	for (int i = 0; i < WORKERS; i++)
		if (t[i])
			rt_join(t[i]);
	struct rt_chan c; // the runtime's own memory goes back through pg_va_free too
	if (rt_chan_init(&c, 1000) != 0)
		return -1;
	long len = pg_va_len((uintptr_t)c.buf);
	rt_chan_destroy(&c);
	return len > 0 ? 0 : -2;
}

static void malloc_from_several_vcpus(const char *n)
{
	(void)n;
	int nv = ncpu < 4 ? ncpu : 4;
	struct pg_va_stats s0, s1;
	pg_va_get_stats(&s0);
	EXPECT_EQ(rt_main(nv, stress_main, NULL), 0);
	EXPECT_EQ(bad_contents, 0);
	EXPECT_EQ(alloc_fails, 0);
	pg_va_get_stats(&s1);
	// The stacks' region, thread chunks, upcall stacks and scheduler state came from
	// pg_va_alloc too.
	EXPECT_GT(s1.allocs - s0.allocs, 3);
}

// The last case: the region shrunk to four pages by the test hook.
static void exhaustion_is_a_clear_error(const char *n)
{
	(void)n;
	ASSERT_OK(pg_va_test_shrink(4 * PAGE));
	EXPECT_ERR(pg_va_test_shrink(5 * PAGE), E_INVAL); // it only shrinks
	long a = pg_va_alloc(3 * PAGE, 0), b = pg_va_alloc(PAGE, 0);
	EXPECT_GT(a, 0);
	EXPECT_GT(b, 0);
	EXPECT_ERR(pg_va_alloc(1, 0), E_NOVA);
	EXPECT_OK(pg_va_free_unmapped((uintptr_t)a, 3 * PAGE));
	EXPECT_OK(pg_va_free_unmapped((uintptr_t)b, PAGE));
	EXPECT_ERR(pg_va_alloc(1, 0), E_NOVA); // freeing gives nothing back: spent for good
	EXPECT_TRUE(malloc(100000) == NULL);
	struct pg_va_stats s;
	pg_va_get_stats(&s);
	EXPECT_EQ(s.left, 0);
}

static const struct utest_case cases[] = {
	{ "va_addresses_never_repeat", addresses_never_repeat },
	{ "va_access_after_free_faults", access_after_free_faults },
	{ "va_bad_frees_fail_and_change_nothing", bad_frees_fail_and_change_nothing },
	{ "va_bad_allocs_fail", bad_allocs_fail },
	{ "va_frames_come_back_after_free", frames_come_back },
	{ "va_malloc_basics", malloc_basics },
	{ "va_malloc_small_free_makes_no_syscall", small_free_makes_no_syscall },
	{ "va_malloc_bad_frees_fail", malloc_bad_frees_fail },
	{ "va_malloc_from_several_vcpus", malloc_from_several_vcpus },
	{ "va_exhaustion_is_a_clear_error", exhaustion_is_a_clear_error },
};

int main(uint64_t arg)
{
	(void)arg;
	ncpu = pg_cpu_count();
	return UTEST_RUN(cases);
}
