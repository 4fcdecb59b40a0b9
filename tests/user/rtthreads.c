// rtthreads.c: the user-level thread runtime (user/rt) on every vcpu of the space:
// spawn and join, mutex and condition variable under contention, channels between
// vcpus, preemption of spinning threads (their vector registers intact), stacks that
// grow on fault, sleep, and threads that have never run holding no stack.
#include <stdatomic.h>
#include "utest.h"
#include "rt.h"
#include "vecloop.h"
#include "tests/user/skynet.h"

int memcmp(const void *a, const void *b, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);

static int nvcpus;

// ---- spawn / join -----------------------------------------------------------------

static _Atomic uint64_t hits;
static _Atomic uint64_t seen_vcpus;

static void hit(void *arg)
{
	atomic_fetch_add(&hits, (uint64_t)arg);
	atomic_fetch_or(&seen_vcpus, 1ULL << rt_vcpu());
}

#define NSPAWN 2000
static struct rt_thread *ts[NSPAWN];

static void spawn_join(const char *n)
{
	hits = 0;
	for (int i = 0; i < NSPAWN; i++)
		UCHECK(n, (ts[i] = rt_spawn(hit, (void *)1)) != NULL);
	for (int i = 0; i < NSPAWN; i++)
		rt_join(ts[i]);
	UCHECK_EQ(n, hits, NSPAWN);
	struct rt_stats st;
	rt_get_stats(&st);
	UCHECK_EQ(n, st.threads_live, 1); // only main is left
	pg_printf("rtthreads: %d threads ran on vcpus %#lx, %lu steals\n", NSPAWN, seen_vcpus, st.steals);
}

// ---- mutex ---------------------------------------------------------------------------

static struct rt_mutex mu;
static uint64_t guarded; // plain: only the mutex protects it

static void add_many(void *arg)
{
	for (uint64_t i = 0; i < (uint64_t)arg; i++) {
		rt_mutex_lock(&mu);
		uint64_t v = guarded;
		if ((i & 63) == 0)
			rt_yield(); // hold it across a switch now and then
		guarded = v + 1;
		rt_mutex_unlock(&mu);
	}
}

static void mutex_counts_exactly(const char *n)
{
	guarded = 0;
	struct rt_thread *t[8];
	for (int i = 0; i < 8; i++)
		t[i] = rt_spawn(add_many, (void *)5000);
	for (int i = 0; i < 8; i++)
		rt_join(t[i]);
	UCHECK_EQ(n, guarded, 8 * 5000);
}

// ---- condition variable ----------------------------------------------------------------

static struct rt_mutex cm;
static struct rt_cond cv;
static int gate_open, passed;

static void wait_gate(void *arg)
{
	(void)arg;
	rt_mutex_lock(&cm);
	while (!gate_open)
		rt_cond_wait(&cv, &cm);
	passed++;
	rt_mutex_unlock(&cm);
}

static void cond_broadcast_wakes_all(const char *n)
{
	struct rt_thread *t[16];
	for (int i = 0; i < 16; i++)
		t[i] = rt_spawn(wait_gate, NULL);
	rt_sleep_ns(5000000);
	rt_mutex_lock(&cm);
	gate_open = 1;
	rt_cond_broadcast(&cv);
	rt_mutex_unlock(&cm);
	for (int i = 0; i < 16; i++)
		rt_join(t[i]);
	UCHECK_EQ(n, passed, 16);
}

// ---- channels ---------------------------------------------------------------------------

#define PER_PRODUCER 5000
static struct rt_chan ch;
static _Atomic uint64_t recv_sum, recv_count;

static void producer(void *arg)
{
	uint64_t base = (uint64_t)arg * PER_PRODUCER;
	for (uint64_t i = 1; i <= PER_PRODUCER; i++)
		rt_chan_send(&ch, base + i);
}

static void consumer(void *arg)
{
	(void)arg;
	uint64_t v;
	while (rt_chan_recv(&ch, &v)) {
		atomic_fetch_add(&recv_sum, v);
		atomic_fetch_add(&recv_count, 1);
	}
}

static void channel_producers_consumers(const char *n)
{
	UCHECK_EQ(n, rt_chan_init(&ch, 64), 0);
	struct rt_thread *p[4], *c[4];
	for (int i = 0; i < 4; i++)
		c[i] = rt_spawn(consumer, NULL);
	for (int i = 0; i < 4; i++)
		p[i] = rt_spawn(producer, (void *)(uint64_t)i);
	for (int i = 0; i < 4; i++)
		rt_join(p[i]);
	rt_chan_close(&ch);
	for (int i = 0; i < 4; i++)
		rt_join(c[i]);
	uint64_t total = 4 * PER_PRODUCER, want = 0;
	for (uint64_t i = 1; i <= total; i++)
		want += i;
	UCHECK_EQ(n, recv_count, total);
	UCHECK_EQ(n, recv_sum, want);
}

// ---- preemption ------------------------------------------------------------------------

static volatile int stop_spin;

static void spin(void *arg)
{
	(void)arg;
	while (!stop_spin)
		__asm__ volatile("" ::: "memory");
}

// One spinner per vcpu takes every vcpu: main runs again only if they are preempted.
static void preemption_lets_others_run(const char *n)
{
	struct rt_thread *t[64];
	struct rt_stats a, b;
	rt_get_stats(&a);
	for (int i = 0; i < nvcpus; i++)
		t[i] = rt_spawn(spin, NULL);
	rt_sleep_ns(30000000);
	stop_spin = 1;
	for (int i = 0; i < nvcpus; i++)
		rt_join(t[i]);
	rt_get_stats(&b);
	UCHECK(n, b.preemptions > a.preemptions);
}

// Threads in the middle of a loop that lives in the vector registers (AVX where
// there is AVX), each with its own values and rounding mode, more of them than
// vcpus: they are preempted and resumed on other threads' turns, and must end bit
// for bit where the same loop ends when nothing interrupts it (preemption off).
struct vec_job {
	int k;
	bool same;
};
static uint64_t vec_turns;

static void vec_thread(void *arg)
{
	struct vec_job *j = arg;
	struct vec_state ref, got;
	vec_seed(&ref, (uint64_t)j->k);
	memcpy(&got, &ref, sizeof got);
	rt_preempt_disable();
	vec_run(&ref, j->k, vec_turns);
	rt_preempt_enable();
	vec_run(&got, j->k, vec_turns);
	j->same = memcmp(&ref, &got, sizeof got) == 0;
}

static void preempted_threads_keep_vector_state(const char *n)
{
	struct vec_state s;
	vec_seed(&s, 0);
	uint64_t t0 = rt_now_ns();
	vec_run(&s, 0, 20000);
	uint64_t dt = rt_now_ns() - t0 + 1;
	vec_turns = 20000ULL * 40000000 / dt + 20000; // about 40 ms: four time slices
	enum { MAXJ = 2 * 64 + 1 };
	struct vec_job jobs[MAXJ];
	struct rt_thread *t[MAXJ];
	int nj = 2 * nvcpus + 1;
	struct rt_stats a, b;
	rt_get_stats(&a);
	// The calibration is a guess (a loaded host makes it short): until a round has
	// been preempted at least once, run another with twice the turns (at most 6).
	for (int round = 0; round < 6; round++, vec_turns *= 2) {
		for (int i = 0; i < nj; i++) {
			jobs[i] = (struct vec_job){ .k = i + 1 };
			t[i] = rt_spawn(vec_thread, &jobs[i]);
		}
		for (int i = 0; i < nj; i++)
			rt_join(t[i]);
		rt_get_stats(&b);
		for (int i = 0; i < nj; i++)
			UCHECK(n, jobs[i].same);
		if (b.preemptions > a.preemptions)
			break;
	}
	UCHECK(n, b.preemptions > a.preemptions);
	pg_printf("rtthreads: %d threads of %lu %s turns each, %lu preemptions\n", nj, vec_turns,
		  vec_have_avx() ? "AVX" : "SSE", b.preemptions - a.preemptions);
}

// ---- work stealing ---------------------------------------------------------------------

// A spawn tree of 10^4 leaves: every node is spawned on its parent's vcpu, the others
// steal from its deque; the sum comes out exact, every vcpu takes part.
static void skynet_sums_a_tree(const char *n)
{
	struct sky root = { .num = 0, .size = 10000 };
	struct rt_stats a, b;
	rt_get_stats(&a);
	rt_join(rt_spawn(skynet, &root));
	rt_get_stats(&b);
	UCHECK_EQ(n, root.sum, skynet_want(10000));
	if (nvcpus > 1)
		UCHECK(n, b.steals > a.steals);
	pg_printf("rtthreads: skynet of 10^4 leaves, %lu steals\n", b.steals - a.steals);
}

// ---- stacks ---------------------------------------------------------------------------------

static uint64_t deep(int depth)
{
	volatile char pad[512];
	pad[0] = (char)depth;
	if (depth == 0)
		return 1;
	return deep(depth - 1) + (uint64_t)pad[0] - (uint64_t)(char)depth + 1;
}

static volatile uint64_t deep_result;

static void recurse(void *arg) { deep_result = deep((int)(uint64_t)arg); }

static void stack_grows_on_fault(const char *n)
{
	struct rt_stats a, b;
	rt_get_stats(&a);
	rt_join(rt_spawn(recurse, (void *)80)); // about 45 KiB of stack
	rt_get_stats(&b);
	UCHECK_EQ(n, deep_result, 81);
#ifndef RT_HOSTED // hosted, Linux's demand paging grows stacks (plat.h)
	UCHECK(n, b.stack_growths > a.stack_growths);
#endif
}

static void unstarted_threads_hold_no_stack(const char *n)
{
	struct rt_stats a, b;
	rt_preempt_disable(); // nothing runs them on this vcpu meanwhile...
	rt_get_stats(&a);
	struct rt_thread *t[256];
	for (int i = 0; i < 256; i++)
		t[i] = rt_spawn(hit, (void *)0);
	rt_get_stats(&b);
	rt_preempt_enable();
	// ...but other vcpus may steal and run some: those took a stack each.
	uint64_t started = 256 - (b.threads_unstarted - a.threads_unstarted);
	UCHECK(n, b.stacks_in_use - a.stacks_in_use <= started);
	pg_printf("rtthreads: 256 spawned, %lu not started yet, %lu new stacks, %lu bytes per thread record\n",
		  b.threads_unstarted - a.threads_unstarted, b.stacks_in_use - a.stacks_in_use,
		  (b.thread_bytes - a.thread_bytes) / 256);
	for (int i = 0; i < 256; i++)
		rt_join(t[i]);
}

static void sleep_waits(const char *n)
{
	uint64_t t0 = rt_now_ns();
	rt_sleep_ns(20000000);
	UCHECK(n, rt_now_ns() - t0 >= 20000000);
}

static const struct utest_case cases[] = {
	{ "rt_spawn_join", spawn_join },
	{ "rt_mutex_counts_exactly", mutex_counts_exactly },
	{ "rt_cond_broadcast_wakes_all", cond_broadcast_wakes_all },
	{ "rt_channel_producers_consumers", channel_producers_consumers },
	{ "rt_preemption_lets_others_run", preemption_lets_others_run },
	{ "rt_preempted_threads_keep_vector_state", preempted_threads_keep_vector_state },
	{ "rt_skynet_sums_a_tree", skynet_sums_a_tree },
	{ "rt_stack_grows_on_fault", stack_grows_on_fault },
	{ "rt_unstarted_threads_hold_no_stack", unstarted_threads_hold_no_stack },
	{ "rt_sleep_waits", sleep_waits },
};

static int rt_program(void *arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}

int main(uint64_t arg)
{
	(void)arg;
	nvcpus = pg_cpu_count();
	return rt_main(nvcpus, rt_program, NULL);
}
