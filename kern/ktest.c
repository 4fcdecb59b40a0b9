// ktest.c: runs the KTEST table and reports. Exits QEMU with success only if every
// case passed; a hang is caught by the runner's timeout, a crash by the trap handler.
#include "kern/ktest.h"
#include "kern/console.h"
#include "kern/kheap.h"
#include "lib/string.h"
#include "arch.h"

extern const struct ktest _ktests_start[], _ktests_end[];
static int failures_in_case;

void ktest_fail(const char *file, int line, const char *what, int64_t a, int64_t b)
{
	failures_in_case++;
	kprintf("ktest:   %s:%d: expected %s (got %ld vs %ld)\n", file, line, what, a, b);
}

void ktest_run_all(const char *filter)
{
	int passed = 0, failed = 0;
	size_t flen = strlen(filter);
	for (const struct ktest *t = _ktests_start; t < _ktests_end; t++) {
		if (flen && strncmp(t->name, filter, flen) != 0)
			continue;
		failures_in_case = 0;
		kprintf("ktest: RUN  %s\n", t->name);
		t->fn();
		kprintf("ktest: %s %s\n", failures_in_case ? "FAIL" : "PASS", t->name);
		if (failures_in_case)
			failed++;
		else
			passed++;
	}
	kprintf("ktest: done: %d passed, %d failed\n", passed, failed);
	arch_exit(failed || passed == 0 ? EXIT_FAILURE_CODE : EXIT_SUCCESS_CODE);
}
