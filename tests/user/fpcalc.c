// fpcalc.c: ordinary C with double and float vectors (tests/user/fpcalc.h) on every
// vcpu, more threads than vcpus so they are preempted in the middle, and every result
// bit-identical to what the build host computed (the header tools/fpcalc_gen.c made).
#include <stdatomic.h>
#include "utest.h"
#include "rt.h"
#include "vecloop.h"
#include "fpcalc.h"
#include "fpcalc_want.h"

int strcmp(const char *a, const char *b);

static int nvcpus;
static _Atomic uint64_t seen_vcpus;

struct job {
	uint64_t seed;
	bool avx2;
	uint64_t got;
};

static void calc(void *arg)
{
	struct job *j = arg;
	atomic_fetch_or(&seen_vcpus, 1ULL << rt_vcpu());
	j->got = j->avx2 ? fpcalc_avx2(j->seed, FPCALC_TURNS) : fpcalc_sse(j->seed, FPCALC_TURNS);
	atomic_fetch_or(&seen_vcpus, 1ULL << rt_vcpu());
}

static bool have_avx2(void)
{
	uint32_t a, b, c, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	return vec_have_avx() && (b & (1u << 5));
}

static void same_as_host(const char *n)
{
	static struct job jobs[2 * FPCALC_SEEDS];
	static struct rt_thread *t[2 * FPCALC_SEEDS];
	bool avx2 = have_avx2() && FPCALC_HOST_AVX2;
	int nj = 0;
	for (uint64_t s = 0; s < FPCALC_SEEDS; s++) {
		jobs[nj++] = (struct job){ .seed = s };
		if (avx2)
			jobs[nj++] = (struct job){ .seed = s, .avx2 = true };
	}
	struct rt_stats a, b;
	rt_get_stats(&a);
	for (int i = 0; i < nj; i++)
		t[i] = rt_spawn(calc, &jobs[i]);
	for (int i = 0; i < nj; i++)
		rt_join(t[i]);
	rt_get_stats(&b);
	for (int i = 0; i < nj; i++) {
		uint64_t want = jobs[i].avx2 ? fpcalc_want_avx2[jobs[i].seed] : fpcalc_want_sse[jobs[i].seed];
		if (jobs[i].got != want)
			UTEST_FAIL(n, "seed %lu (%s): %#lx, the host got %#lx", jobs[i].seed, jobs[i].avx2 ? "AVX2" : "SSE",
				   jobs[i].got, want);
		// And printed as the host's printf prints it.
		char text[160];
		double d = fpcalc_as_double(jobs[i].got);
		pg_snprintf(text, sizeof text, FPCALC_FORMAT, FPCALC_ARGS(d));
		if (strcmp(text, fpcalc_want_text[jobs[i].seed]) != 0)
			UTEST_FAIL(n, "seed %lu printed \"%s\", the host \"%s\"", jobs[i].seed, text,
				   fpcalc_want_text[jobs[i].seed]);
	}
	UCHECK_EQ(n, seen_vcpus, (1ULL << nvcpus) - 1);
	UCHECK(n, b.preemptions > a.preemptions);
	pg_printf("fpcalc: %d computations (%s) on %d vcpus, %lu preemptions, all as on the host\n", nj,
		  avx2 ? "SSE and AVX2" : "SSE", nvcpus, b.preemptions - a.preemptions);
}

static const struct utest_case cases[] = { { "fpcalc_same_as_host_under_preemption", same_as_host } };

static int prog(void *arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}

int main(uint64_t arg)
{
	(void)arg;
	nvcpus = pg_cpu_count();
	return rt_main(nvcpus, prog, NULL);
}
