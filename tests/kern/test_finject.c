// test_finject.c: failure injection sweeps (kern/finject.h). For a user program, one
// run counts the allocations its calls make; then, for every N up to that count, the
// program runs again with the Nth allocation failing. Whatever the program makes of
// the E_NOMEM it gets (its own checks fail on purpose, so its output is muted), the
// kernel must not panic and must leave heap, mem frames and page tables exactly where
// they were. Only programs that end whatever a call returns can be swept: one that
// leaves a thread spinning when a call fails (upcalls, rtthreads) never ends, and
// cpu0's idle thread, which waits for it, never runs again to give up. These run only when the command line has `finject=P` (the runner's sweep
// boot, make finject): P injection points per program at most, spread evenly over its
// allocations (every allocation when it makes no more than P).
#include "kern/ktest.h"
#include "kern/console.h"
#include "kern/uprog.h"
#include "kern/kheap.h"
#include "kern/mem.h"
#include "kern/boot.h"
#include "kern/finject.h"
#include "include/pagoda/errors.h"
#include <arch/mmu.h>
#include <arch/arch.h>

struct fi_usage {
	uint64_t heap, mem_frames, tables;
};

static struct fi_usage fi_usage_now(void)
{
	return (struct fi_usage){ kheap_in_use(), mem_frames_in_use(), mmu_tables_in_use() };
}

static uint64_t points_wanted(const char *name)
{
	char buf[16];
	uint64_t p = 0;
	if (boot_arg("finject", buf, sizeof buf) == E_OK)
		for (const char *c = buf; *c >= '0' && *c <= '9'; c++)
			p = p * 10 + (uint64_t)(*c - '0');
	if (!p)
		kprintf("%s: runs in the failure-injection boot (finject=P)\n", name);
	return p;
}

// Sweeps every allocation of program prog (with arg), at most max_points of them
// (evenly spread past that). Returns the number of points that failed an allocation.
static uint64_t sweep(const char *prog, uint64_t arg, uint64_t max_points)
{
	uint64_t t0 = arch_now_ns();
	struct uprog_result r;
	finject_mute_user = true; // the passes print nothing either: the sweep is one result
	uprog_run(prog, arg, 0, &r); // warm up: heap pages, cached stacks
	struct fi_usage base = fi_usage_now();
	finject_arm(FINJECT_COUNT_ONLY);
	EXPECT_EQ(E_OK, uprog_run(prog, arg, 0, &r));
	uint64_t total = finject_count();
	finject_disarm();
	EXPECT_EQ(0, r.status);
	uint64_t step = total > max_points ? (total + max_points - 1) / max_points : 1, hit = 0;
	for (uint64_t n = 1; n <= total; n += step) {
		finject_arm(n);
		int err = uprog_run(prog, arg, 0, &r);
		hit += finject_hits();
		finject_disarm();
		struct fi_usage now = fi_usage_now();
		if (now.heap != base.heap || now.mem_frames != base.mem_frames || now.tables != base.tables) {
			finject_mute_user = false;
			kprintf("finject %s: allocation %lu of %lu failed (run %d): heap %lu -> %lu, mem frames %lu -> %lu, "
				"tables %lu -> %lu\n", prog, n, total, err, base.heap, now.heap, base.mem_frames,
				now.mem_frames, base.tables, now.tables);
			EXPECT_TRUE(!"a failed allocation leaked");
			return hit;
		}
	}
	finject_mute_user = false;
	kprintf("finject %s: %lu allocations, %lu injection points, %lu hit, nothing leaked, %lu ms\n", prog,
		total, (total + step - 1) / step, hit, (arch_now_ns() - t0) / 1000000);
	EXPECT_TRUE(hit > 0);
	return hit;
}

#define FINJECT_TEST(prog, arg)                                                          \
	KTEST(finject_##prog)                                                            \
	{                                                                                \
		uint64_t p = points_wanted("finject_" #prog);                            \
		if (p)                                                                   \
			sweep(#prog, arg, p);                                            \
	}

FINJECT_TEST(handles, 0)
FINJECT_TEST(badinput, 0)
FINJECT_TEST(lazy, 0)
FINJECT_TEST(tables, 1000) // 1,000 churn cycles, not 10^6
FINJECT_TEST(mapv, 0)
FINJECT_TEST(spaces, 0)
FINJECT_TEST(fuzz, 2000) // a fuzz prefix: 2,000 calls, seed 1
