// utest.c: the user test harness's output and failure count (see utest.h).
// Owns the count; a test program is single-threaded while it reports.
#include "utest.h"

static int failures;

void utest_pass(const char *name)
{
	pg_printf("utest: PASS %s\n", name);
}

void utest_fail(const char *name, const char *fmt, ...)
{
	char reason[192];
	va_list ap;

	va_start(ap, fmt);
	pg_vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	failures++;
	pg_printf("utest: FAIL %s: %s\n", name, reason);
}

void utest_fail_eq(const char *name, const char *file, int line, const char *what,
		   long long got, long long want)
{
	utest_fail(name, "%s:%d: %s: got %lld (%#llx), want %lld (%#llx)", file, line, what,
		   got, (unsigned long long)got, want, (unsigned long long)want);
}

int utest_failures(void)
{
	return failures;
}

int utest_run(const struct utest_case *cases, size_t n)
{
	int failed = 0;

	for (size_t i = 0; i < n; i++) {
		int before = failures;

		cases[i].fn(cases[i].name);
		if (failures == before)
			utest_pass(cases[i].name);
		else
			failed++;
	}
	pg_printf("utest: done: %d passed, %d failed\n", (int)n - failed, failed);
	return failed;
}
