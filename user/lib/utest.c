// utest.c: the user test harness's KTAP report and failure count (see utest.h).
// Owns the count and the running case; a test program is single-threaded while it
// reports.
#include "utest.h"

int utest_depth = 2;
static int failures;
static const char *running = "(no case)"; // the case tcheck_fail charges

static const char *indent(void)
{
	static const char spaces[] = "                "; // 4 levels
	int d = utest_depth < 0 ? 0 : utest_depth > 4 ? 4 : utest_depth;
	return spaces + sizeof spaces - 1 - 4 * d;
}

void utest_fail(const char *name, const char *fmt, ...)
{
	char reason[192];
	va_list ap;

	va_start(ap, fmt);
	pg_vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	failures++;
	pg_printf("%s# %s: %s\n", indent(), name, reason);
}

void utest_fail_eq(const char *name, const char *file, int line, const char *what,
		   long long got, long long want)
{
	utest_fail(name, "%s:%d: %s: got %lld (%#llx), want %lld (%#llx)", file, line, what,
		   got, (unsigned long long)got, want, (unsigned long long)want);
}

// "E_RIGHTS" from pg_strerror's "E_RIGHTS: handle lacks a needed right".
static void err_name(long long e, char *buf, size_t n)
{
	const char *s = e >= E_LAST && e <= 0 ? pg_strerror((int)e) : "not an error code";
	size_t i = 0;
	while (s[i] && s[i] != ':' && i + 1 < n) {
		buf[i] = s[i];
		i++;
	}
	buf[i] = 0;
}

void tcheck_fail(const char *file, int line, const char *expr, enum tcheck_kind kind,
		 long long a, long long b)
{
	unsigned long long ua = (unsigned long long)a, ub = (unsigned long long)b;
	char na[24], nb[24];

	switch (kind) {
	case TCHECK_TRUE:
		utest_fail(running, "%s:%d: expected %s", file, line, expr);
		break;
	case TCHECK_INT:
		utest_fail(running, "%s:%d: expected %s: %lld vs %lld (%#llx vs %#llx)", file, line,
			   expr, a, b, ua, ub);
		break;
	case TCHECK_UINT:
		utest_fail(running, "%s:%d: expected %s: %llu vs %llu (%#llx vs %#llx)", file, line,
			   expr, ua, ub, ua, ub);
		break;
	case TCHECK_ERR:
		err_name(a, na, sizeof na);
		err_name(b, nb, sizeof nb);
		utest_fail(running, "%s:%d: %s returned %lld (%s), want %s (%lld)", file, line, expr,
			   a, na, nb, b);
		break;
	}
}

int utest_failures(void)
{
	return failures;
}

void utest_plan(size_t n)
{
	pg_printf("%sKTAP version 1\n%s1..%lu\n", indent(), indent(), (unsigned long)n);
}

void utest_result(size_t i, bool ok, const char *name)
{
	pg_printf("%s%s %lu %s\n", indent(), ok ? "ok" : "not ok", (unsigned long)i, name);
}

static int run(const struct utest_case *cases, size_t n, bool report)
{
	int failed = 0;

	if (report)
		utest_plan(n);
	for (size_t i = 0; i < n; i++) {
		int before = failures;

		running = cases[i].name;
		uint64_t t0 = pg_clock_ns();
		cases[i].fn(cases[i].name);
		running = "(no case)";
		bool ok = failures == before;
		failed += !ok;
		if (report) // with its time as a KTAP directive, as the kernel's runner reports cases
			pg_printf("%s%s %lu %s # %lu ms\n", indent(), ok ? "ok" : "not ok", (unsigned long)(i + 1),
				  cases[i].name, (unsigned long)((pg_clock_ns() - t0) / 1000000));
	}
	pg_printf("%s# utest: %d passed, %d failed\n", indent(), (int)n - failed, failed);
	return failed;
}

int utest_run(const struct utest_case *cases, size_t n)
{
	return run(cases, n, true);
}

int utest_run_quiet(const struct utest_case *cases, size_t n)
{
	return run(cases, n, false);
}
