// ktest.c: runs the KTEST table and reports in KTAP (see ktest.h). Exits QEMU with
// success only if every case passed; a hang is caught by the runner's timeout, a
// crash by the trap handler. Owns the running case's state (cpu0 runs the cases).
#include "kern/ktest.h"
#include "kern/console.h"
#include "kern/kheap.h"
#include "kern/panic.h"
#include "lib/string.h"
#include "include/pagoda/errors.h"
#include <arch/arch.h>

extern const struct ktest _ktests_start[], _ktests_end[];

// The running case: failures so far, and its subtests (planned, reported).
static struct {
	int failures;
	int planned; // -1: no subtest plan
	int reported;
	const char *skip; // why the case skipped itself, or NULL
} cur;

static const char *err_name(long long e)
{
	static const char *const names[] = {
#define ERROR_CODE(name, value, what) [-(value)] = #name,
#include "include/pagoda/errors.def"
#undef ERROR_CODE
	};
	_Static_assert(sizeof names / sizeof names[0] == 1 - E_LAST, "one name per error");
	return e <= 0 && e >= E_LAST ? names[-e] : "not an error code";
}

void tcheck_fail(const char *file, int line, const char *expr, enum tcheck_kind kind,
		 long long a, long long b)
{
	cur.failures++;
	switch (kind) {
	case TCHECK_TRUE:
		kprintf("    # %s:%d: expected %s\n", file, line, expr);
		break;
	case TCHECK_INT:
		kprintf("    # %s:%d: expected %s: %lld vs %lld (%#llx vs %#llx)\n", file, line,
			expr, a, b, (unsigned long long)a, (unsigned long long)b);
		break;
	case TCHECK_UINT:
		kprintf("    # %s:%d: expected %s: %llu vs %llu (%#llx vs %#llx)\n", file, line,
			expr, (unsigned long long)a, (unsigned long long)b, (unsigned long long)a,
			(unsigned long long)b);
		break;
	case TCHECK_ERR:
		kprintf("    # %s:%d: %s returned %lld (%s), want %s (%lld)\n", file, line, expr,
			a, err_name(a), err_name(b), b);
		break;
	}
}

void ktest_skip(const char *why)
{
	cur.skip = why;
}

void ktest_plan(int n)
{
	KASSERT(cur.planned < 0);
	cur.planned = n;
	kprintf("    KTAP version 1\n    1..%d\n", n);
}

void ktest_subtest(bool ok, const char *name, const char *why)
{
	KASSERT(cur.planned >= 0);
	if (why)
		kprintf("    # %s: %s\n", name, why);
	if (!ok)
		cur.failures++;
	kprintf("    %s %d %s\n", ok ? "ok" : "not ok", ++cur.reported, name);
}

// filter: run the cases whose name starts with it; "!prefix": those that do not.
static bool selected(const char *name, const char *filter)
{
	bool negate = filter[0] == '!';
	const char *p = filter + negate;
	size_t n = strlen(p);
	return !n || (strncmp(name, p, n) == 0) != negate;
}

// Runs t and returns whether it passed (its checks and its subtest plan).
static bool run_case(const struct ktest *t)
{
	cur.failures = 0;
	cur.planned = -1;
	cur.reported = 0;
	cur.skip = NULL;
	kprintf("# RUN %s\n", t->name);
	t->fn();
	if (cur.planned >= 0 && cur.reported != cur.planned) {
		kprintf("    # %s: planned %d subtests, reported %d\n", t->name, cur.planned,
			cur.reported);
		cur.failures++;
	}
	return cur.failures == 0;
}

void ktest_run_all(const char *filter)
{
	int n = 0, passed = 0, failed = 0;
	for (const struct ktest *t = _ktests_start; t < _ktests_end; t++)
		n += selected(t->name, filter);
	kprintf("KTAP version 1\n1..%d\n", n);
	for (const struct ktest *t = _ktests_start; t < _ktests_end; t++) {
		if (!selected(t->name, filter))
			continue;
		uint64_t t0 = arch_cycles();
		bool ok = run_case(t);
		uint64_t ms = tsc_to_ns(arch_cycles() - t0, arch_tsc_hz()) / 1000000;
		if (ok && cur.skip)
			kprintf("ok %d %s # SKIP %s\n", passed + failed + 1, t->name, cur.skip);
		else
			kprintf("%s %d %s # %lu ms\n", ok ? "ok" : "not ok", passed + failed + 1, t->name, ms);
		if (ok)
			passed++;
		else
			failed++;
	}
	kprintf("# ktest: %d passed, %d failed\n", passed, failed);
	arch_exit(failed || passed == 0 ? EXIT_FAILURE_CODE : EXIT_SUCCESS_CODE);
}
