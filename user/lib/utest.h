// utest.h: a tiny harness for user test programs (tests/user/). A program reports in
// KTAP (Linux's Documentation/dev-tools/ktap.rst), which tools/runtests.py reads: a
// plan, then "ok N name" / "not ok N name" per case, failures as "# " diagnostics
// before their case's line. Under the kernel each program is a subtest of the ktest
// that runs it (tests/kern/test_user.c), so its lines are indented two levels
// (utest_depth; hosted on Linux: 0).
// Checks: lib/tcheck.h's EXPECT_* (record a failure of the running case and carry on)
// and ASSERT_* (also return from the calling function), plus the older UCHECK*, which
// name the case explicitly and evaluate to whether the check held. main returns
// UTEST_RUN(cases) (the number of failed cases).
#ifndef PAGODA_USER_UTEST_H
#define PAGODA_USER_UTEST_H

#include <stdbool.h>

#include "pagoda.h"
#include "lib/tcheck.h"

// A named case; the runner reports it ok if it recorded no failure.
struct utest_case {
	const char *name;
	void (*fn)(const char *name);
};

// KTAP nesting depth of this program's report (4 spaces each); 2 by default.
extern int utest_depth;

void utest_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void utest_fail_eq(const char *name, const char *file, int line, const char *what,
		   long long got, long long want);
int utest_failures(void);
// Runs cases[0, n) in order, reporting each; returns the number of failed cases.
int utest_run(const struct utest_case *cases, size_t n);
// The same, without the KTAP plan and result lines (failures are still printed as
// diagnostics): for a program that runs beside another one, whose report its lines
// would interleave with; the kernel reports it by its exit status.
int utest_run_quiet(const struct utest_case *cases, size_t n);
// For a program that cannot return to utest_run (e.g. it deletes its own space):
// prints the plan, then result number i (from 1) by hand.
void utest_plan(size_t n);
void utest_result(size_t i, bool ok, const char *name);

#define UTEST_FAIL(name, ...) utest_fail(name, __VA_ARGS__)
#define UTEST_RUN(table) utest_run(table, sizeof(table) / sizeof((table)[0]))
#define UTEST_RUN_QUIET(table) utest_run_quiet(table, sizeof(table) / sizeof((table)[0]))

// Both evaluate to whether the check held, and evaluate each argument once.
#define UCHECK(name, cond)                                                               \
	((cond) ? true                                                                   \
		: (utest_fail(name, "%s:%d: %s", __FILE__, __LINE__, #cond), false))
#define UCHECK_EQ(name, a, b)                                                            \
	__extension__({                                                                  \
		long long ua_ = (long long)(a), ub_ = (long long)(b);                    \
		if (ua_ != ub_)                                                          \
			utest_fail_eq(name, __FILE__, __LINE__, #a " == " #b, ua_, ub_);  \
		ua_ == ub_;                                                              \
	})

#endif
