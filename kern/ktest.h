// ktest.h: in-kernel tests, run at boot with mode=test. Each KTEST is a named case in
// a linker-section table. The checks are lib/tcheck.h's: EXPECT_* record a failure and
// carry on, so one run reports every broken case; ASSERT_* also return from the
// calling function. A boot reports in KTAP (Linux's Documentation/dev-tools/ktap.rst),
// which tools/runtests.py reads: a plan of the selected cases, then one "ok N name" or
// "not ok N name" line per case; a case that runs user programs declares them as its
// subtests (ktest_plan, ktest_subtest), indented one level, and each program prints
// its own cases one level deeper (user/lib/utest.h).
#ifndef KERN_KTEST_H
#define KERN_KTEST_H
#include <stdbool.h>
#include <stdint.h>
#include "lib/tcheck.h"

struct ktest {
	const char *name;
	void (*fn)(void);
};

#define KTEST(n)                                                                       \
	static void ktest_##n(void);                                                   \
	static const struct ktest ktest_desc_##n __attribute__((section(".ktests"), used, aligned(8))) = { #n, ktest_##n }; \
	static void ktest_##n(void)

// Runs the cases whose name starts with filter ("!prefix": those that do not; "": all),
// prints the KTAP report and exits QEMU: success only if at least one case ran and
// every case passed.
void ktest_run_all(const char *filter);

// The running case cannot run here (why: e.g. too little memory); it is reported as
// skipped ("ok N name # SKIP why") unless a check failed.
void ktest_skip(const char *why);
// The running case has n subtests (e.g. the user programs it runs): prints the
// subtest plan. The case fails if fewer or more than n results follow.
void ktest_plan(int n);
// Reports the running case's next subtest; a failed one fails the case. why (may be
// NULL) says what went wrong, as a diagnostic line.
void ktest_subtest(bool ok, const char *name, const char *why);

#endif
