// tcheck.h: the typed checks shared by the kernel's and user space's test harnesses
// (kern/ktest.h, user/lib/utest.h). EXPECT_* records a failure of the running case and
// carries on; ASSERT_* also returns from the calling function (which must return void),
// as googletest's do. Each evaluates its arguments once and, on failure, prints the
// expression, both values and, for EXPECT_ERR, both error names.
// Each harness defines tcheck_fail(); the kernel and user programs link separately.
#ifndef LIB_TCHECK_H
#define LIB_TCHECK_H

#include <stdbool.h>

enum tcheck_kind {
	TCHECK_TRUE, // cond held not: no values
	TCHECK_INT,  // a op b, compared as signed 64-bit
	TCHECK_UINT, // a op b, compared as unsigned 64-bit (one side is unsigned)
	TCHECK_ERR,  // call returned a, want error code b
};
// Records a failure of the running case and prints why (file:line, expr, a and b).
void tcheck_fail(const char *file, int line, const char *expr, enum tcheck_kind kind,
		 long long a, long long b);

// An unsigned operand makes the comparison unsigned, as in C (bool, char and short
// promote to int: signed). Pointers compare as signed (EQ/NE only make sense for them).
#define TCHECK_UNSIGNED_(x) \
	_Generic((x) + 0, unsigned int: 1, unsigned long: 1, unsigned long long: 1, default: 0)

#define TCHECK_CMP_(a, op, b, expr, on_fail)                                                \
	do {                                                                                \
		long long ta_ = (long long)(a), tb_ = (long long)(b);                       \
		bool tu_ = TCHECK_UNSIGNED_(a) || TCHECK_UNSIGNED_(b);                      \
		if (!(tu_ ? (unsigned long long)ta_ op (unsigned long long)tb_ : ta_ op tb_)) { \
			tcheck_fail(__FILE__, __LINE__, expr,                               \
				    tu_ ? TCHECK_UINT : TCHECK_INT, ta_, tb_);              \
			on_fail;                                                            \
		}                                                                           \
	} while (0)

#define TCHECK_TRUE_(c, expr, on_fail)                                                      \
	do {                                                                                \
		if (!(c)) {                                                                 \
			tcheck_fail(__FILE__, __LINE__, expr, TCHECK_TRUE, 0, 0);           \
			on_fail;                                                            \
		}                                                                           \
	} while (0)

#define TCHECK_ERR_(call, err, expr, on_fail)                                               \
	do {                                                                                \
		long long tr_ = (long long)(call), te_ = (long long)(err);                  \
		if (tr_ != te_) {                                                           \
			tcheck_fail(__FILE__, __LINE__, expr, TCHECK_ERR, tr_, te_);        \
			on_fail;                                                            \
		}                                                                           \
	} while (0)

#define TCHECK_NOTHING_ ((void)0)

#define EXPECT_TRUE(c)  TCHECK_TRUE_(c, #c, TCHECK_NOTHING_)
#define EXPECT_FALSE(c) TCHECK_TRUE_(!(c), "!(" #c ")", TCHECK_NOTHING_)
#define EXPECT_EQ(a, b) TCHECK_CMP_(a, ==, b, #a " == " #b, TCHECK_NOTHING_)
#define EXPECT_NE(a, b) TCHECK_CMP_(a, !=, b, #a " != " #b, TCHECK_NOTHING_)
#define EXPECT_LT(a, b) TCHECK_CMP_(a, <, b, #a " < " #b, TCHECK_NOTHING_)
#define EXPECT_LE(a, b) TCHECK_CMP_(a, <=, b, #a " <= " #b, TCHECK_NOTHING_)
#define EXPECT_GT(a, b) TCHECK_CMP_(a, >, b, #a " > " #b, TCHECK_NOTHING_)
#define EXPECT_GE(a, b) TCHECK_CMP_(a, >=, b, #a " >= " #b, TCHECK_NOTHING_)
// call must return exactly err (an E_* code; E_OK for success).
#define EXPECT_ERR(call, err) TCHECK_ERR_(call, err, #call, TCHECK_NOTHING_)
#define EXPECT_OK(call)       TCHECK_ERR_(call, 0, #call, TCHECK_NOTHING_)

#define ASSERT_TRUE(c)         TCHECK_TRUE_(c, #c, return)
#define ASSERT_FALSE(c)        TCHECK_TRUE_(!(c), "!(" #c ")", return)
#define ASSERT_EQ(a, b)        TCHECK_CMP_(a, ==, b, #a " == " #b, return)
#define ASSERT_NE(a, b)        TCHECK_CMP_(a, !=, b, #a " != " #b, return)
#define ASSERT_LT(a, b)        TCHECK_CMP_(a, <, b, #a " < " #b, return)
#define ASSERT_LE(a, b)        TCHECK_CMP_(a, <=, b, #a " <= " #b, return)
#define ASSERT_GT(a, b)        TCHECK_CMP_(a, >, b, #a " > " #b, return)
#define ASSERT_GE(a, b)        TCHECK_CMP_(a, >=, b, #a " >= " #b, return)
#define ASSERT_ERR(call, err)  TCHECK_ERR_(call, err, #call, return)
#define ASSERT_OK(call)        TCHECK_ERR_(call, 0, #call, return)

#endif
