// utest.h: a tiny harness for user test programs (tests/user/). Prints the lines
// tools/runtests.py counts: "utest: PASS <name>" and "utest: FAIL <name>: <reason>".
// UCHECK* record a failure (with file:line and values) and carry on, so one run
// reports every broken case; main returns utest_failures() != 0.
#ifndef PAGODA_USER_UTEST_H
#define PAGODA_USER_UTEST_H

#include <stdbool.h>

#include "pagoda.h"

// A named case; the runner prints PASS for it if it recorded no failure.
struct utest_case {
	const char *name;
	void (*fn)(const char *name);
};

void utest_pass(const char *name);
void utest_fail(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void utest_fail_eq(const char *name, const char *file, int line, const char *what,
		   long long got, long long want);
int utest_failures(void);
// Runs cases[0, n) in order, then prints "utest: done: P passed, F failed";
// returns F, the number of failed cases.
int utest_run(const struct utest_case *cases, size_t n);

#define UTEST_PASS(name) utest_pass(name)
#define UTEST_FAIL(name, ...) utest_fail(name, __VA_ARGS__)
#define UTEST_RUN(table) utest_run(table, sizeof(table) / sizeof((table)[0]))

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
