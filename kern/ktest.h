// ktest.h: in-kernel tests, run at boot with mode=test. Each KTEST is a named case in
// a linker-section table; EXPECT_* record a failure and carry on, so one run reports
// every broken case. Output lines "ktest: PASS name" / "ktest: FAIL name" are what
// tools/runtests.py counts.
#ifndef KERN_KTEST_H
#define KERN_KTEST_H
#include <stdint.h>

struct ktest {
	const char *name;
	void (*fn)(void);
};

#define KTEST(n)                                                                       \
	static void ktest_##n(void);                                                   \
	static const struct ktest ktest_desc_##n __attribute__((section(".ktests"), used, aligned(8))) = { #n, ktest_##n }; \
	static void ktest_##n(void)

void ktest_fail(const char *file, int line, const char *what, int64_t a, int64_t b);
void ktest_run_all(const char *filter);

#define EXPECT_TRUE(c)                                                                  \
	do {                                                                            \
		if (!(c))                                                               \
			ktest_fail(__FILE__, __LINE__, #c, 0, 0);                       \
	} while (0)
#define EXPECT_EQ(a, b)                                                                 \
	do {                                                                            \
		int64_t a_ = (int64_t)(a), b_ = (int64_t)(b);                           \
		if (a_ != b_)                                                           \
			ktest_fail(__FILE__, __LINE__, #a " == " #b, a_, b_);           \
	} while (0)

#endif
