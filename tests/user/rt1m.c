// rt1m.c: a million user-level threads in one space: all spawned (most before they
// run), each runs, all joined; then a million blocked at once and a ring through them
// (ring.h). Reports the memory a thread costs. init runs it only in the 6 GiB boot
// (user/init/testrun.c); make test also runs it hosted on Linux.
#include <stdatomic.h>
#include "utest.h"
#include "rt.h"
#include "tests/user/ring.h"

#define N 1000000
static struct rt_thread **ts;
static _Atomic uint64_t ran;

static void one(void *arg)
{
	(void)arg;
	atomic_fetch_add_explicit(&ran, 1, memory_order_relaxed);
}

static void million(const char *n)
{
	ts = malloc(N * sizeof *ts); // 8 MB
	if (!UCHECK(n, ts != NULL))
		return;
	uint64_t t0 = rt_now_ns();
	struct rt_stats peak;
	for (int i = 0; i < N; i++)
		if (!(ts[i] = rt_spawn(one, NULL)))
			break;
	uint64_t t1 = rt_now_ns();
	rt_get_stats(&peak);
	for (int i = 0; i < N && ts[i]; i++)
		rt_join(ts[i]);
	uint64_t t2 = rt_now_ns();
	UCHECK_EQ(n, ran, N);
	uint64_t mem = peak.thread_bytes + peak.stack_pages * 4096;
	pg_printf("rt1m: %d threads spawned in %lu ms, all run and joined in %lu ms; at the peak %lu live, "
		  "%lu never run yet, %lu stacks: %lu bytes per thread\n", N, (t1 - t0) / 1000000,
		  (t2 - t0) / 1000000, peak.threads_live, peak.threads_unstarted, peak.stacks, mem / peak.threads_live);
	UCHECK(n, peak.stacks < 1000); // finished threads give their stacks back
	free(ts);
}

// A million threads blocked at once, each on its own channel, then a token twice
// round all of them; every thread ends, and what they held is given back.
static void million_blocked_ring(const char *n)
{
	static struct ring r;
	struct rt_stats a, b;
	rt_get_stats(&a);
	int err = ring_run(&r, N, 2);
	rt_get_stats(&b);
	UCHECK_EQ(n, err, 0);
	UCHECK_EQ(n, r.spawned, N);
	UCHECK_EQ(n, r.started, N);
	UCHECK_EQ(n, r.passes, 2ULL * N);
	UCHECK_EQ(n, r.token, 2ULL * N);
	UCHECK_EQ(n, b.threads_live, a.threads_live);
	UCHECK_EQ(n, b.threads_blocked, a.threads_blocked);
	pg_printf("rt1m: %d threads blocked at once in %lu ms, %lu bytes each; the ring: %lu ns a hop\n", N,
		  r.spawn_ns / 1000000, r.blocked_bytes / N, r.ring_ns / (2UL * N));
}

static const struct utest_case cases[] = {
	{ "rt_million_threads", million },
	{ "rt_million_blocked_ring", million_blocked_ring },
};

static int prog(void *arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}

int main(uint64_t arg)
{
	(void)arg;
	return rt_main(pg_cpu_count(), prog, NULL);
}
