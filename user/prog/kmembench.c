// kmembench.c: what the kernel charges a space for each kind of thing it holds, read
// back from space_stats (make bench; the numbers docs/isolation.md quotes). Each is a
// difference of charged bytes, so it is what the quota really pays, rounding included.
#include "tests/user/tcommon.h"

#define VA 0x10000000UL

static int ncpu;

static long charged(handle_t s) { return (long)tc_stats(s).charged; }

static void metric(const char *name, long bytes)
{
	pg_printf("metric=%s smp=%d value=%ld unit=bytes\n", name, ncpu, bytes);
}

static void must(const char *what, long r)
{
	if (r < 0) {
		pg_printf("kmembench: %s failed: %s\n", what, pg_strerror((int)r));
		pg_exit(1);
	}
}

// table_frames_after_churn: 10^6 map/unmap cycles of one page, each at a fresh 2 MiB-
// aligned address (every cycle makes a leaf table, and a PD each GiB), sync and lazy
// in turn: how many table frames more the space holds afterwards (0: every table the
// churn made went again), and the time per cycle.
#define CHURN_VA 0x020000000000UL // below PG_VA_BASE
#define TWO_MIB  (2UL << 20)
#define CHURN    1000000

static void churn(void)
{
	handle_t m = pg_mem_create(PAGE);
	must("mem_create", m);
	uint64_t t0 = tc_stats(H_SELF).table_frames, ns = pg_clock_ns();
	for (unsigned i = 0; i < CHURN; i++) {
		must("map", pg_map(H_SELF, CHURN_VA + i * TWO_MIB, m, 0, PAGE, PROT_READ | PROT_WRITE));
		must("unmap", pg_unmap(H_SELF, CHURN_VA + i * TWO_MIB, PAGE, i % 2 ? UNMAP_LAZY : 0));
	}
	ns = (pg_clock_ns() - ns) / CHURN;
	if (!TC_WAIT(tc_stats(H_SELF).lazy_pending == 0, 10000))
		must("lazy reclaim", E_TIMEOUT);
	pg_printf("metric=table_frames_after_churn smp=%d value=%ld unit=frames\n", ncpu,
		  (long)(tc_stats(H_SELF).table_frames - t0));
	pg_printf("metric=map_unmap_fresh_2mib smp=%d value=%lu unit=ns\n", ncpu, ns);
	pg_handle_close(m);
}

int main(uint64_t arg)
{
	(void)arg;
	ncpu = pg_cpu_count();
	struct space_stats me = tc_stats(H_SELF);
	metric("kmem_program", (long)(me.kernel_bytes + me.table_frames * PAGE)); // this one, running
	handle_t c = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET);
	must("space_create", c);
	metric("kmem_space_empty", charged(c));
	long before = charged(c);
	handle_t m = pg_mem_create(256 * PAGE);
	must("mem_create", m);
	must("map", pg_map(c, VA, m, 0, 256 * PAGE, PROT_READ));
	metric("kmem_map_1mib", charged(c) - before); // tables and the records' reserve
	before = charged(H_SELF);
	handle_t n = pg_notify_create();
	must("notify_create", n);
	metric("kmem_notify", charged(H_SELF) - before);
	before = charged(H_SELF);
	handle_t m1 = pg_mem_create(PAGE);
	must("mem_create", m1);
	metric("kmem_mem_1p", charged(H_SELF) - before); // its frame and its object
	before = charged(H_SELF);
	if (!tc_spin_start(-1))
		must("spawn", E_NOMEM);
	// A vcpu with its kernel stack, plus the user stacks and their mapping tc_spawn makes.
	metric("kmem_thread", charged(H_SELF) - before);
	if (!tc_spin_stop_all(1))
		must("stop", E_TIMEOUT);
	must("delete", pg_space_delete(c));
	pg_handle_close(c);
	pg_handle_close(m);
	pg_handle_close(m1);
	pg_handle_close(n);
	churn();
	return 0;
}
