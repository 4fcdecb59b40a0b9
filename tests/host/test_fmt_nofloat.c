// test_fmt_nofloat.c: lib/fmt.c as the kernel builds it, without FMT_FLOAT (the kernel
// has no SSE, so it cannot pass or read a double): the floating-point conversions are
// unknown ones, echoed literally, and they take no argument.
#include <criterion/criterion.h>
#include <string.h>

#include "lib/fmt.h"

#pragma GCC diagnostic ignored "-Wformat" // %f with no double, on purpose

Test(nofloat, float_conversions_print_literally)
{
	char buf[64];
	int n = fmt_snprintf(buf, sizeof buf, "%f %.3e %-8g %F %E %G");
	cr_assert_str_eq(buf, "%f %.3e %-8g %F %E %G");
	cr_assert_eq(n, (int)strlen(buf));
}

Test(nofloat, float_conversions_consume_no_argument)
{
	char buf[64];
	fmt_snprintf(buf, sizeof buf, "%d %f %s", 7, "x");
	cr_assert_str_eq(buf, "7 %f x");
}
