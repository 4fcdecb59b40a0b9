// ktest.c: runs the KTEST table and reports. Exits QEMU with success only if every
// case passed; a hang is caught by the runner's timeout, a crash by the trap handler.
#include "kern/ktest.h"
#include "kern/console.h"
#include "kern/kheap.h"
#include "lib/string.h"
#include <arch/arch.h>

extern const struct ktest _ktests_start[], _ktests_end[];
static int failures_in_case;

void ktest_fail(const char *file, int line, const char *what, int64_t a, int64_t b)
{
	failures_in_case++;
	kprintf("ktest:   %s:%d: expected %s (got %ld vs %ld)\n", file, line, what, a, b);
}

// filter: run the cases whose name starts with it; "!prefix": those that do not.
static bool selected(const char *name, const char *filter)
{
	bool negate = filter[0] == '!';
	const char *p = filter + negate;
	size_t n = strlen(p);
	return !n || (strncmp(name, p, n) == 0) != negate;
}

void ktest_run_all(const char *filter)
{
	int passed = 0, failed = 0;
	for (const struct ktest *t = _ktests_start; t < _ktests_end; t++) {
		if (!selected(t->name, filter))
			continue;
		failures_in_case = 0;
		kprintf("ktest: RUN  %s\n", t->name);
		uint64_t t0 = arch_cycles();
		t->fn();
		uint64_t ms = tsc_to_ns(arch_cycles() - t0, arch_tsc_hz()) / 1000000;
		kprintf("ktest: %s %s (%lu ms)\n", failures_in_case ? "FAIL" : "PASS", t->name, ms);
		if (failures_in_case)
			failed++;
		else
			passed++;
	}
	kprintf("ktest: done: %d passed, %d failed\n", passed, failed);
	arch_exit(failed || passed == 0 ? EXIT_FAILURE_CODE : EXIT_SUCCESS_CODE);
}
