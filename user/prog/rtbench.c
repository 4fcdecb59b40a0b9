// rtbench.c: the thread runtime's benchmarks (`make bench`; built hosted on Linux for
// `make bench-hosted`, where the names get a "hosted_" prefix). All on one vcpu, so
// they time the runtime, not the emulator's cross-CPU latency.
#include <stdatomic.h>
#include "rt.h"
#include "pagoda.h"
#include "tests/user/ring.h"
#include "tests/user/skynet.h"

#ifdef RT_HOSTED
#define PREFIX "hosted_"
#else
#define PREFIX ""
#endif

static int ncpu;

static void report(const char *name, uint64_t total, uint64_t n, const char *unit)
{
	pg_printf("metric=" PREFIX "%s smp=%d value=%lu.%lu unit=%s\n", name, ncpu, total / n,
		  total % n * 10 / n, unit);
}

static volatile int stop;

static void yielder(void *arg)
{
	(void)arg;
	while (!stop)
		rt_yield();
}

// Two threads yield to each other: every rt_yield is one thread switch.
static void bench_switch(void)
{
	enum { N = 200000 };
	struct rt_thread *t = rt_spawn(yielder, NULL);
	for (int i = 0; i < 1000; i++)
		rt_yield();
	uint64_t t0 = rt_now_ns();
	for (int i = 0; i < N; i++)
		rt_yield();
	uint64_t dt = rt_now_ns() - t0;
	stop = 1;
	rt_join(t);
	report("uthread_switch", dt, 2 * N, "ns"); // each of our yields is two switches
}

static void nop(void *arg) { (void)arg; }

static void bench_spawn_join(void)
{
	enum { N = 100000 };
	for (int i = 0; i < 1000; i++)
		rt_join(rt_spawn(nop, NULL));
	uint64_t t0 = rt_now_ns();
	for (int i = 0; i < N; i++)
		rt_join(rt_spawn(nop, NULL));
	report("uthread_spawn_join", rt_now_ns() - t0, N, "ns");
}

// An idle thread: its record, and no stack until it first runs.
static void bench_idle_bytes(void)
{
	enum { N = 10000 };
	static struct rt_thread *ts[N];
	struct rt_stats a, b;
	rt_preempt_disable();
	rt_get_stats(&a);
	for (int i = 0; i < N; i++)
		ts[i] = rt_spawn(nop, NULL);
	rt_get_stats(&b);
	rt_preempt_enable();
	uint64_t bytes = (b.thread_bytes - a.thread_bytes) + (b.stack_pages - a.stack_pages) * 4096;
	report("uthread_idle_bytes", bytes, N, "bytes");
	for (int i = 0; i < N; i++)
		rt_join(ts[i]);
}

static void bench_1m(void)
{
	enum { N = 1000000 };
	static struct rt_thread *ts[N]; // 8 MB of .bss
	uint64_t t0 = rt_now_ns();
	int n = 0;
	while (n < N && (ts[n] = rt_spawn(nop, NULL)))
		n++;
	uint64_t dt = rt_now_ns() - t0;
	for (int i = 0; i < n; i++)
		rt_join(ts[i]);
	if (n < N) {
		pg_printf("rtbench: only %d threads fit in memory\n", n);
		return;
	}
	report("uthread_1m_spawn", dt / 1000000, 1, "ms");
}

#ifndef RT_HOSTED
#define PROBE 0x0b0000000000UL // below PG_VA_BASE (the runtime's VA)
static volatile uint64_t handled;

static int unprotect(uintptr_t addr, uint64_t code)
{
	(void)code;
	if (addr != PROBE || pg_protect(H_SELF, PROBE, 4096, PROT_READ | PROT_WRITE) != E_OK)
		return RT_FAULT_UNHANDLED;
	handled++;
	return RT_FAULT_RETRY;
}

// A write to a read-only page -> fault upcall -> the runtime's handler -> protect ->
// the write is retried; then protect the page again. The same loop as Linux's
// SIGSEGV handler + mprotect round trip.
static void bench_fault_rtt(void)
{
	enum { N = 20000 };
	handle_t m = pg_mem_create(4096);
	if (m < 0 || pg_map(H_SELF, PROBE, m, 0, 4096, PROT_READ) != E_OK) {
		pg_printf("rtbench: fault probe setup failed\n");
		return;
	}
	rt_set_fault_handler(unprotect);
	uint64_t t0 = 0;
	for (int i = -1000; i < N; i++) {
		if (i == 0)
			t0 = rt_now_ns();
		*(volatile uint64_t *)PROBE = (uint64_t)i;
		pg_protect(H_SELF, PROBE, 4096, PROT_READ);
	}
	report("fault_upcall_rtt", rt_now_ns() - t0, N, "ns");
	pg_unmap(H_SELF, PROBE, 4096, 0);
	pg_handle_close(m);
}
#endif

static int prog(void *arg)
{
	(void)arg;
	bench_switch();
	bench_spawn_join();
	bench_idle_bytes();
#ifndef RT_HOSTED
	bench_fault_rtt();
#endif
	bench_1m();
	return 0;
}

// ---- the million boot (arg 1): every vcpu, 6 GiB ---------------------------------------

// 10^6 threads blocked at once on their own channels, then a token twice round them.
static void bench_blocked_ring(void)
{
	enum { N = 1000000, LAPS = 2 };
	static struct ring r;
	if (ring_run(&r, N, LAPS) != 0 || r.token != (uint64_t)N * LAPS) {
		pg_printf("rtbench: the ring of %d threads failed (%d spawned, token %lu)\n", N, r.spawned, r.token);
		return;
	}
	report("uthread_blocked_bytes", r.blocked_bytes, N, "bytes");
	report("uthread_1m_blocked_spawn", r.spawn_ns / 1000000, 1, "ms");
	report("uthread_ring_hop", r.ring_ns, (uint64_t)N * LAPS, "ns");
}

// The spawn tree of 10^6 leaves (1,111,111 threads) over every vcpu.
static void bench_skynet(void)
{
	struct sky root = { .num = 0, .size = 1000000 };
	uint64_t t0 = rt_now_ns();
	rt_join(rt_spawn(skynet, &root));
	uint64_t dt = rt_now_ns() - t0;
	if (root.sum != skynet_want(1000000)) {
		pg_printf("rtbench: skynet summed %lu\n", root.sum);
		return;
	}
	report("uthread_skynet", dt / 1000, 1000, "ms");
}

static int prog_million(void *arg)
{
	(void)arg;
	bench_blocked_ring(); // first: it needs most of the memory, skynet then reuses its stacks
	bench_skynet();
	return 0;
}

int main(uint64_t arg)
{
	ncpu = pg_cpu_count();
	if (arg == 1)
		return rt_main(ncpu, prog_million, NULL);
	return rt_main(1, prog, NULL);
}
