// test_smp.c: CPUs, timer ticks and cross-calls under concurrency.
#include "kern/ktest.h"
#include "kern/xcall.h"
#include "kern/idle.h"
#include "kern/timer.h"
#include "kern/percpu.h"
#include "lib/string.h"
#include <arch/arch.h>

KTEST(every_cpu_found_is_online)
{
	EXPECT_EQ(ncpus_online, ncpus);
	EXPECT_EQ(cpuset_count(cpuset_online()), ncpus);
	for (uint32_t i = 0; i < ncpus; i++) {
		EXPECT_TRUE(cpus[i] != NULL && cpus[i]->online);
		EXPECT_EQ(cpus[i]->id, i);
	}
}

// Ticks arrive on every CPU (no timing asserted: we wait up to 10 s for one more).
KTEST(timer_ticks_on_every_cpu)
{
	uint64_t before[MAX_CPUS];
	for (uint32_t i = 0; i < ncpus; i++)
		before[i] = timer_ticks(i);
	uint64_t deadline = arch_cycles() + 10 * arch_tsc_hz();
	for (uint32_t i = 0; i < ncpus; i++) {
		while (timer_ticks(i) < before[i] + 3 && arch_cycles() < deadline)
			cpu_relax();
		EXPECT_TRUE(timer_ticks(i) >= before[i] + 3);
	}
}

static _Atomic uint64_t hits[MAX_CPUS][MAX_CPUS]; // [target][source]

static void count_hit(void *arg)
{
	uint32_t src = (uint32_t)(uintptr_t)arg;
	atomic_fetch_add_explicit(&hits[cpu_id()][src], 1, memory_order_relaxed);
}

static uint64_t lcg(uint64_t *s) { return *s = *s * 6364136223846793005ULL + 1442695040888963407ULL; }

#define STORM_ROUNDS 3000

// Every CPU cross-calls a pseudo-random non-empty set of CPUs (itself sometimes
// included) in each round, all at the same time; expected[t][s] counts the calls
// CPU s made to t, each of which must have run exactly once.
static uint64_t expected[MAX_CPUS][MAX_CPUS];

static void storm_job(void *arg)
{
	(void)arg;
	uint32_t me = cpu_id();
	uint64_t seed = me * 7919 + 1;
	cpuset_t all = cpuset_online();
	for (int r = 0; r < STORM_ROUNDS; r++) {
		cpuset_t t = (r % 4 == 0) ? all : (lcg(&seed) >> 20) & all;
		if (!t)
			t = all & ~cpuset_of(me);
		if (!t)
			t = all;
		for (cpuset_t s = t; s; s &= s - 1)
			expected[__builtin_ctzll(s)][me]++; // only CPU `me` writes column me
		xcall_run(t, count_hit, (void *)(uintptr_t)me);
	}
}

KTEST(xcall_storm_every_cpu_to_every_cpu_runs_each_call_once)
{
	memset(hits, 0, sizeof hits);
	memset(expected, 0, sizeof expected);
	job_run(cpuset_online(), storm_job, NULL);
	int bad = 0;
	uint64_t total = 0;
	for (uint32_t t = 0; t < ncpus; t++)
		for (uint32_t s = 0; s < ncpus; s++) {
			bad += atomic_load(&hits[t][s]) != expected[t][s];
			total += expected[t][s];
		}
	EXPECT_EQ(bad, 0);
	EXPECT_TRUE(total >= STORM_ROUNDS * ncpus);
}

// Two CPUs calling each other while one of them holds interrupts off (as a lock
// holder would): the waiter serves its inbox, so neither deadlocks.
static void pingpong_job(void *arg)
{
	(void)arg;
	uint32_t me = cpu_id(), peer = me ^ 1;
	if (peer >= ncpus)
		return;
	for (int r = 0; r < 1000; r++) {
		irq_disable();
		xcall_run(cpuset_of(peer), count_hit, (void *)(uintptr_t)me);
		irq_enable();
	}
}

KTEST(xcall_with_interrupts_off_on_both_sides_does_not_deadlock)
{
	memset(hits, 0, sizeof hits);
	job_run(cpuset_online(), pingpong_job, NULL);
	for (uint32_t c = 0; c + 1 < ncpus; c += 2) {
		EXPECT_EQ(atomic_load(&hits[c][c + 1]), 1000);
		EXPECT_EQ(atomic_load(&hits[c + 1][c]), 1000);
	}
}

KTEST(xcall_to_self_runs_inline)
{
	memset(hits, 0, sizeof hits);
	uint32_t me = cpu_id();
	xcall_run(cpuset_of(me), count_hit, (void *)(uintptr_t)me);
	EXPECT_EQ(atomic_load(&hits[me][me]), 1);
}

KTEST(ipi_counters_match_between_senders_and_receivers)
{
	// Every IPI sent to a CPU is eventually received there; let the storm settle.
	uint64_t sent = 0, recv = 0;
	for (uint32_t i = 0; i < ncpus; i++) {
		sent += atomic_load(&cpus[i]->ipis_sent);
		recv += atomic_load(&cpus[i]->ipis_received);
	}
	EXPECT_EQ(sent, recv);
	if (ncpus > 1)
		EXPECT_TRUE(sent > 0);
}
