// test_fmt.c: host unit tests for lib/fmt.c, built against libc with Criterion.
// Each test formats through fmt_snprintf and checks both the text and the
// returned length, which must equal what an unbounded buffer would hold.
#include <criterion/criterion.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fmt.h"

// Formats into a roomy buffer and checks text and return value together.
#define expect_fmt(want, ...)                                          \
	do {                                                           \
		char buf_[256];                                        \
		int n_ = fmt_snprintf(buf_, sizeof buf_, __VA_ARGS__); \
		cr_assert_str_eq(buf_, (want));                        \
		cr_assert_eq(n_, (int)strlen(want), "returned %d", n_); \
	} while (0)

// --- conversions ---

Test(conversion, d_and_i_print_signed_decimal)
{
	expect_fmt("0 42 -42", "%d %d %i", 0, 42, -42);
	expect_fmt("2147483647 -2147483648", "%d %i", INT32_MAX, INT32_MIN);
}

Test(conversion, u_prints_unsigned_decimal)
{
	expect_fmt("0 4294967295", "%u %u", 0u, UINT32_MAX);
}

Test(conversion, x_and_X_print_hex_in_their_case)
{
	expect_fmt("deadbeef DEADBEEF 0", "%x %X %x", 0xdeadbeefu, 0xdeadbeefu, 0u);
}

Test(conversion, o_prints_octal)
{
	expect_fmt("0 10 777", "%o %o %o", 0u, 8u, 0777u);
}

Test(conversion, c_prints_one_character)
{
	expect_fmt("a-Z", "%c-%c", 'a', 'Z');
}

Test(conversion, s_prints_string)
{
	expect_fmt("hello, world", "%s, %s", "hello", "world");
	expect_fmt("[]", "[%s]", "");
}

Test(conversion, p_prints_0x_and_16_hex_digits)
{
	expect_fmt("0xffffffff80100000", "%p", (void *)0xffffffff80100000ull);
	expect_fmt("0x0000000000001000", "%p", (void *)0x1000);
	expect_fmt("0x0000000000000000", "%p", NULL);
}

Test(conversion, percent_percent_prints_one_percent)
{
	expect_fmt("100%", "100%%");
	expect_fmt("%5", "%%%d", 5);
}

Test(conversion, plain_text_passes_through)
{
	expect_fmt("no conversions here", "no conversions here");
	expect_fmt("", "%s", "");
}

// --- formats gcc warns about at compile time ---
// Callers can still reach these (a NULL string at run time, redundant flags),
// so the runtime must handle them; the pragmas keep -Werror from refusing them.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
#pragma GCC diagnostic ignored "-Wformat-overflow"

Test(conversion, s_of_null_prints_null_marker)
{
	const char *s = NULL;
	expect_fmt("(null)", "%s", s);
}

Test(flags, minus_overrides_zero)
{
	expect_fmt("[42   ]", "[%-05d]", 42);
}

Test(flags, plus_wins_over_space)
{
	expect_fmt("+7", "%+ d", 7);
}

Test(precision, overrides_zero_flag_for_integers)
{
	expect_fmt("[  042]", "[%05.3d]", 42);
}

Test(conversion, unknown_conversion_prints_literally)
{
	expect_fmt("%q", "%q");
	expect_fmt("a %-5y b", "a %-5y b");
}

Test(conversion, unknown_conversion_consumes_no_argument)
{
	expect_fmt("%q 7", "%q %d", 7);
}

Test(conversion, format_ending_mid_conversion_prints_literally)
{
	expect_fmt("abc%", "abc%");
	expect_fmt("x%-08", "x%-08");
	expect_fmt("x%l", "x%l");
}

#pragma GCC diagnostic pop

// --- extremes ---

Test(extremes, int64_min_prints_exactly)
{
	expect_fmt("-9223372036854775808", "%lld", (long long)INT64_MIN);
	expect_fmt("-9223372036854775808", "%ld", (long)INT64_MIN);
}

Test(extremes, int64_max_prints_exactly)
{
	expect_fmt("9223372036854775807", "%lld", (long long)INT64_MAX);
}

Test(extremes, uint64_max_prints_in_every_base)
{
	unsigned long long m = UINT64_MAX;
	expect_fmt("18446744073709551615", "%llu", m);
	expect_fmt("ffffffffffffffff", "%llx", m);
	expect_fmt("1777777777777777777777", "%llo", m);
}

// --- length modifiers ---

Test(length, l_reads_long)
{
	expect_fmt("-5000000000 5000000000 12a05f200", "%ld %lu %lx",
		   -5000000000l, 5000000000ul, 5000000000ul);
}

Test(length, ll_reads_long_long)
{
	expect_fmt("-5000000000 5000000000", "%lld %llu", -5000000000ll, 5000000000ull);
}

Test(length, z_reads_size_t)
{
	size_t big = (size_t)1 << 40;
	ptrdiff_t neg = -((ptrdiff_t)1 << 40);
	expect_fmt("1099511627776 10000000000 -1099511627776", "%zu %zx %zd", big, big, neg);
}

Test(length, h_truncates_to_short)
{
	expect_fmt("-1 65535 -32768", "%hd %hu %hd", (short)-1, (unsigned short)65535, (short)-32768);
	expect_fmt("4660", "%hu", 0x11234); // only the low 16 bits count
}

Test(length, hh_truncates_to_char)
{
	expect_fmt("-1 255 ff -128", "%hhd %hhu %hhx %hhd", (signed char)-1,
		   (unsigned char)255, (unsigned char)255, (signed char)-128);
	expect_fmt("52", "%hhu", 0x134); // only the low 8 bits count
}

Test(length, modifiers_do_not_disturb_following_arguments)
{
	expect_fmt("1 2 3 4 5 6", "%hhd %hd %d %ld %lld %zu",
		   (signed char)1, (short)2, 3, 4l, 5ll, (size_t)6);
}

// --- flags ---

Test(flags, minus_left_aligns)
{
	expect_fmt("[42   ]", "[%-5d]", 42);
	expect_fmt("[ab   ]", "[%-5s]", "ab");
	expect_fmt("[x  ]", "[%-3c]", 'x');
}

Test(flags, zero_pads_after_sign_and_prefix)
{
	expect_fmt("00042", "%05d", 42);
	expect_fmt("-0042", "%05d", -42);
	expect_fmt("+0042", "%+05d", 42);
	expect_fmt("0x00ff", "%#06x", 0xffu);
}

Test(flags, plus_signs_non_negative_numbers)
{
	expect_fmt("+0 +7 -7", "%+d %+d %+d", 0, 7, -7);
}

Test(flags, space_prefixes_non_negative_numbers)
{
	expect_fmt(" 7 -7", "% d % d", 7, -7);
}

Test(flags, hash_adds_0x_to_nonzero_hex)
{
	expect_fmt("0xff 0XFF 0", "%#x %#X %#x", 0xffu, 0xffu, 0u);
}

Test(flags, hash_adds_leading_zero_to_octal)
{
	expect_fmt("010 0", "%#o %#o", 8u, 0u);
}

// --- width and precision ---

Test(width, pads_on_the_left_with_spaces)
{
	expect_fmt("[   42]", "[%5d]", 42);
	expect_fmt("[  -42]", "[%5d]", -42);
	expect_fmt("[   ab]", "[%5s]", "ab");
	expect_fmt("[    x]", "[%5c]", 'x');
}

Test(width, never_truncates)
{
	expect_fmt("123456", "%3d", 123456);
	expect_fmt("hello", "%2s", "hello");
}

Test(width, applies_to_pointers)
{
	expect_fmt("[  0x0000000000000010]", "[%20p]", (void *)0x10);
	expect_fmt("[0x0000000000000010  ]", "[%-20p]", (void *)0x10);
}

Test(width, star_takes_width_from_argument)
{
	expect_fmt("[   42]", "[%*d]", 5, 42);
}

Test(width, negative_star_width_left_aligns)
{
	expect_fmt("[42   ]", "[%*d]", -5, 42);
}

Test(precision, sets_minimum_digits_for_integers)
{
	expect_fmt("00042 -00042 0000ff", "%.5d %.5d %.6x", 42, -42, 0xffu);
	expect_fmt("42", "%.1d", 42);
}

Test(precision, zero_precision_prints_no_digits_for_zero)
{
	expect_fmt("[] [   ]", "[%.0d] [%3.0u]", 0, 0u);
}

Test(precision, combines_with_width)
{
	expect_fmt("[   -0042]", "[%8.4d]", -42);
	expect_fmt("[0x00ff  ]", "[%-#8.4x]", 0xffu);
}

Test(precision, limits_string_length)
{
	expect_fmt("hel", "%.3s", "hello");
	expect_fmt("[  hel]", "[%5.3s]", "hello");
	expect_fmt("hi", "%.10s", "hi");
	expect_fmt("", "%.0s", "hello");
}

Test(precision, string_precision_stops_reading_at_the_limit)
{
	char unterminated[3] = { 'a', 'b', 'c' }; // no NUL: must not be read past
	expect_fmt("abc", "%.3s", unterminated);
}

Test(precision, star_takes_precision_from_argument)
{
	expect_fmt("00042 hel", "%.*d %.*s", 5, 42, 3, "hello");
	expect_fmt("[  hel]", "[%*.*s]", 5, 3, "hello");
}

Test(precision, negative_star_precision_is_ignored)
{
	expect_fmt("42 hello", "%.*d %.*s", -1, 42, -1, "hello");
}

// --- truncation and return value ---

Test(truncation, small_buffer_keeps_prefix_and_terminates)
{
	char buf[5];
	memset(buf, 'X', sizeof buf);
	int n = fmt_snprintf(buf, sizeof buf, "hello %s", "world");
	cr_assert_str_eq(buf, "hell");
	cr_assert_eq(n, 11);
}

Test(truncation, exact_fit_is_not_truncated)
{
	char buf[6];
	int n = fmt_snprintf(buf, sizeof buf, "%d", 12345);
	cr_assert_str_eq(buf, "12345");
	cr_assert_eq(n, 5);
}

Test(truncation, one_short_drops_last_character)
{
	char buf[5];
	int n = fmt_snprintf(buf, sizeof buf, "%d", 12345);
	cr_assert_str_eq(buf, "1234");
	cr_assert_eq(n, 5);
}

Test(truncation, size_one_yields_empty_string)
{
	char buf[1] = { 'X' };
	int n = fmt_snprintf(buf, sizeof buf, "%s", "abc");
	cr_assert_eq(buf[0], '\0');
	cr_assert_eq(n, 3);
}

Test(truncation, size_zero_writes_nothing)
{
	char buf[4] = { 'X', 'X', 'X', 'X' };
	int n = fmt_snprintf(buf, 0, "%s", "abc");
	cr_assert_eq(n, 3);
	cr_assert_eq(buf[0], 'X');
}

Test(truncation, size_zero_accepts_null_buffer)
{
	cr_assert_eq(fmt_snprintf(NULL, 0, "%d-%s", -12, "ab"), 6);
}

Test(truncation, padding_is_counted_when_truncated)
{
	char buf[4];
	int n = fmt_snprintf(buf, sizeof buf, "%10d", 1);
	cr_assert_str_eq(buf, "   ");
	cr_assert_eq(n, 10);
}

// --- character sink ---

struct collect {
	char text[64];
	int len;
};

static void collect_put(void *ctx, char c)
{
	struct collect *col = ctx;
	col->text[col->len++] = c;
}

static int collect_format(struct collect *col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vformat(collect_put, col, fmt, ap);
	va_end(ap);
	return n;
}

Test(sink, vformat_sends_every_character_and_counts_them)
{
	struct collect col = { .len = 0 };
	int n = collect_format(&col, "%s=%#x", "cr3", 0x1000u);
	cr_assert_eq(n, 10);
	cr_assert_eq(col.len, 10);
	cr_assert_eq(memcmp(col.text, "cr3=0x1000", 10), 0);
}

Test(sink, c_of_nul_is_emitted_and_counted)
{
	struct collect col = { .len = 0 };
	int n = collect_format(&col, "a%cb", 0);
	cr_assert_eq(n, 3);
	cr_assert_eq(memcmp(col.text, "a\0b", 3), 0);
}

// --- floating point (built with FMT_FLOAT, as user space is) ---
// The reference is the host's snprintf (glibc): same text, same length, for every
// double, with exact rounding, half to even on the exact binary value.

#define FLOAT_BUF 2048 // %.1100f of DBL_MAX is 1410 characters

// Formats v both ways; on a difference, reports it (the first few times) and counts it.
static int libc_diffs;

static void compare_libc(const char *fmt, double v)
{
	char want[FLOAT_BUF], got[FLOAT_BUF];
	int nw = snprintf(want, sizeof want, fmt, v);
	int ng = fmt_snprintf(got, sizeof got, fmt, v);

	if (nw == ng && strcmp(want, got) == 0)
		return;
	if (libc_diffs++ < 10)
		cr_expect(false, "%s of %a: libc \"%s\" (%d), fmt \"%s\" (%d)", fmt, v, want, nw, got, ng);
}

#define expect_like_libc(fmt, v)                                            \
	do {                                                                \
		libc_diffs = 0;                                             \
		compare_libc((fmt), (v));                                   \
		cr_assert_eq(libc_diffs, 0, "%s differs from libc", (fmt)); \
	} while (0)

Test(floating, fixed_defaults_to_six_digits)
{
	expect_fmt("0.000000 1.000000 -2.500000", "%f %f %f", 0.0, 1.0, -2.5);
	expect_fmt("3.141593 3.141593", "%f %F", 3.14159265, 3.14159265);
	expect_fmt("1.500000", "%lf", 1.5); // l is allowed and means double
}

Test(floating, negative_zero_keeps_its_sign)
{
	expect_fmt("-0.000000 -0e+00 -0", "%f %.0e %g", -0.0, -0.0, -0.0);
}

Test(floating, ties_round_to_even_at_precision_zero)
{
	expect_fmt("0 2 2 4 -2", "%.0f %.0f %.0f %.0f %.0f", 0.5, 1.5, 2.5, 3.5, -2.5);
	expect_fmt("0.12 0.38", "%.2f %.2f", 0.125, 0.375); // exact binary ties
}

Test(floating, near_ties_follow_the_exact_binary_value)
{
	// 2.675 is 2.67499999999999982236431605997495353221893310546875 in binary,
	// 1.005 is 1.00499999999999989341858963598497211933135986328125.
	expect_fmt("2.67 1.00", "%.2f %.2f", 2.675, 1.005);
	expect_fmt("0.1000000000000000055511151231257827", "%.34f", 0.1);
}

Test(floating, rounding_carries_through_nines)
{
	// 9.9999995 itself is 9.99999949999999948602... in binary, so it rounds down.
	expect_fmt("10.000000 9.999999", "%f %f", 9.9999996, 9.9999995);
	expect_fmt("1.00e+01 1e+01 100", "%.2e %.0e %.0f", 9.999, 9.5, 99.5);
	expect_fmt("1.000000e+00", "%e", 0.99999999);
}

Test(floating, e_has_at_least_two_exponent_digits)
{
	expect_fmt("1.000000e+00 1.500000E-07 1.0e+100 4.9e-324", "%e %E %.1e %.1e",
		   1.0, 1.5e-7, 1e100, 5e-324);
}

Test(floating, g_picks_f_or_e_by_the_rounded_exponent)
{
	expect_fmt("0.0001 1e-05 100000 1e+06", "%g %g %g %g", 1e-4, 1e-5, 1e5, 1e6);
	expect_fmt("1.23457e+08 123456789", "%g %.9g", 123456789.0, 123456789.0);
	expect_fmt("1e+06 0.0001", "%g %g", 999999.5, 0.000099999999);
	expect_fmt("0 1 0.5 1e+01", "%g %.0g %g %.0g", 0.0, 1.0, 0.5, 9.5);
}

Test(floating, hash_keeps_the_point_and_g_zeros)
{
	expect_fmt("1. 1.e+00 1.00000 0.00000", "%#.0f %#.0e %#g %#g", 1.0, 1.0, 1.0, 0.0);
	// glibc's one departure from C, followed: a %f-sized %g that rounding carries
	// into %e keeps its point but not its zeros (C says 1.00e+03).
	expect_fmt("1.e+03 1.00e+04", "%#.3g %#.3g", 999.9, 9999.9);
}

Test(floating, flags_and_width)
{
	expect_fmt("[+1.50] [ 1.50] [-1.50]", "[%+.2f] [% .2f] [% .2f]", 1.5, 1.5, -1.5);
	expect_fmt("[  1.50] [1.50  ] [001.50] [-01.50]", "[%6.2f] [%-6.2f] [%06.2f] [%06.2f]",
		   1.5, 1.5, 1.5, -1.5);
	expect_fmt("[+0001.5e+00] [1.5e+00    ]", "[%+011.1e] [%-11.1e]", 1.5, 1.5);
	expect_fmt("[0000000012]", "[%010.3g]", 12.0);
}

Test(floating, star_width_and_precision)
{
	// A negative width left-aligns, a negative precision is as if omitted.
	expect_fmt("[  3.14] [3.14  ] [3.141593]", "[%*.*f] [%*.*f] [%.*f]", 6, 2, 3.14159,
		   -6, 2, 3.14159, -1, 3.1415926);
}

Test(floating, inf_and_nan)
{
	expect_fmt("inf -inf INF nan -nan NAN", "%f %e %G %g %f %E", (double)INFINITY,
		   -(double)INFINITY, (double)INFINITY, (double)NAN, -(double)NAN, (double)NAN);
	// '0' pads them with spaces; '+' and ' ' sign them; '#' does nothing.
	expect_fmt("[       inf] [+inf] [ nan] [inf  ] [inf]", "[%010f] [%+f] [% f] [%-5f] [%#f]",
		   (double)INFINITY, (double)INFINITY, (double)NAN, (double)INFINITY,
		   (double)INFINITY);
}

Test(floating, float_arguments_promote)
{
	float f = 0.1f;
	expect_fmt("0.100000001490116119384765625", "%.27f", f);
}

Test(floating, mixes_with_other_arguments_past_the_registers)
{
	// Twelve doubles and nine integers: both kinds run out of registers and continue
	// on the stack, each in its own order.
	expect_fmt("1 0.5 2 1.5 3 2.5 4 3.5 5 4.5 6 5.5 7 6.5 8 7.5 9 8.5 9.5 10.5 11.5 x",
		   "%d %g %d %g %d %g %d %g %d %g %d %g %d %g %d %g %d %g %g %g %g %s",
		   1, 0.5, 2, 1.5, 3, 2.5, 4, 3.5, 5, 4.5, 6, 5.5, 7, 6.5, 8, 7.5, 9, 8.5,
		   9.5, 10.5, 11.5, "x");
}

Test(floating, hard_cases_match_libc)
{
	static const double values[] = {
		0.0, -0.0, 0.5, 1.5, 2.5, 0.125, 0.375, 1e-300, 5e-324, -5e-324,
		2.2250738585072009e-308, 2.2250738585072014e-308, 1.7976931348623157e308,
		1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23, 9007199254740993.0,
		9.9999995, 99.5, 999.9, 999999.5, 0.000099999999, 1e-4, 1e-5, 1e5, 1e6,
		123456789.0, 0.1, 0.2, 0.3, 2.675, 1.005, 1.0 / 3, 2.0 / 3, 4.35, 5e-5, 0.95,
		9.5, 1e100, 1e-100, 3.0e-310
	};
	static const char *const formats[] = {
		"%f", "%.0f", "%.1f", "%.2f", "%.3f", "%.17f", "%e", "%.0e", "%.1e", "%.16e",
		"%.20e", "%g", "%.0g", "%.1g", "%.2g", "%.3g", "%.17g", "%#g", "%#.0g", "%#.3g",
		"%#.0f", "%#.0e", "%+12.4f", "% .3e", "%-10.2e", "%010.3g", "%-+12.3G", "%F",
		"%E", "%.1100f", "%.1100e", "%.1100g", "%.767e"
	};

	libc_diffs = 0;
	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
		for (size_t j = 0; j < sizeof formats / sizeof formats[0]; j++)
			compare_libc(formats[j], values[i]);
	cr_assert_eq(libc_diffs, 0, "%d formats differ from libc", libc_diffs);
}

Test(floating, dbl_max_prints_all_309_digits)
{
	char buf[FLOAT_BUF];
	int n = fmt_snprintf(buf, sizeof buf, "%.0f", DBL_MAX);
	cr_assert_eq(n, 309);
	cr_assert_eq(strncmp(buf, "17976931348623157081", 20), 0);
	expect_like_libc("%f", DBL_MAX);
	expect_like_libc("%.1100f", -DBL_MAX);
}

Test(floating, the_smallest_subnormal_expands_exactly)
{
	char buf[FLOAT_BUF];
	// 2^-1074: 1074 digits after the point, the last a 5, and zeros after it.
	int n = fmt_snprintf(buf, sizeof buf, "%.1100f", 5e-324);
	cr_assert_eq(n, 1102);
	cr_assert_eq(buf[2 + 1073], '5');
	cr_assert_eq(strspn(buf + 2 + 1074, "0"), (size_t)26);
	expect_like_libc("%.1100f", 5e-324);
	expect_like_libc("%.760e", 5e-324);
}

Test(floating, every_precision_to_30_matches_libc)
{
	static const double values[] = {
		0.5, 0.05, 0.25, 1.25, 9.5, 0.95, 99.95, 999.5, 0.00095, 1.0 / 3, 2.0 / 3, 1e-7,
		123456.789, 9.9999999e-5, 0.0, 1e23, 5e-324
	};
	static const char *const convs[] = { "%.*f", "%.*e", "%.*g", "%#.*g", "%#.*e" };
	char want[FLOAT_BUF], got[FLOAT_BUF];

	for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
		for (size_t c = 0; c < sizeof convs / sizeof convs[0]; c++) {
			for (int prec = 0; prec <= 30; prec++) {
				int nw = snprintf(want, sizeof want, convs[c], prec, values[i]);
				int ng = fmt_snprintf(got, sizeof got, convs[c], prec, values[i]);
				cr_assert_str_eq(got, want, "%s with %d of %a", convs[c], prec, values[i]);
				cr_assert_eq(ng, nw);
			}
		}
	}
}

// --- the sweep: 200,000 doubles, each through every format below ---

static const char *const sweep_formats[] = {
	"%f", "%.0f", "%.3f", "%.17g", "%g", "%e", "%.0e", "%.20e", "%#g", "%+12.4f",
	"%-10.2e", "%010.3g", "%G", "% .5E", "%#.0f", "%#.2g", "%.1g"
};

// splitmix64: a fixed seed makes every run check the same numbers.
static uint64_t sweep_state;

static uint64_t sweep_next(void)
{
	uint64_t z = (sweep_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double from_bits(uint64_t u)
{
	double d;
	memcpy(&d, &u, sizeof d);
	return d;
}

// Runs n values from make() through every sweep format (and every 500th through
// %.1100f); none may differ from libc.
static void sweep(uint64_t seed, int n, double (*make)(void))
{
	sweep_state = seed;
	libc_diffs = 0;
	for (int i = 0; i < n; i++) {
		double v = make();
		for (size_t j = 0; j < sizeof sweep_formats / sizeof sweep_formats[0]; j++)
			compare_libc(sweep_formats[j], v);
		if (i % 500 == 0)
			compare_libc("%.1100f", v);
	}
	cr_assert_eq(libc_diffs, 0, "%d of %d values x %zu formats differ from libc", libc_diffs,
		     n, sizeof sweep_formats / sizeof sweep_formats[0]);
}

// Any bit pattern; one in 16 with a zero exponent (subnormal or zero), one in 64
// with an all-ones exponent (inf or nan, either sign).
static double make_bits(void)
{
	uint64_t u = sweep_next();
	uint64_t r = sweep_next() % 64;

	if (r < 4)
		u &= ~(0x7ffull << 52);
	else if (r == 4)
		u |= 0x7ffull << 52;
	else if (r == 5)
		u = (u & (1ull << 63)) | (0x7ffull << 52); // an infinity
	return from_bits(u);
}

// Short decimals, k / 10^j: the values people print, and the near-ties they make.
static double make_decimal(void)
{
	static const double pow10[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12 };
	double k = (double)(sweep_next() % 1000000000);
	double v = k / pow10[sweep_next() % 13];
	return sweep_next() % 2 ? -v : v;
}

// Few significant bits, k * 2^j: exact binary ties at many decimal places.
static double make_short_binary(void)
{
	double v = (double)(sweep_next() % 4096);
	int j = (int)(sweep_next() % 121) - 60;

	for (; j > 0; j--) // exact: no libm needed
		v *= 2;
	for (; j < 0; j++)
		v /= 2;
	return v;
}

// Powers of ten and their neighbours a few ulps away: the runs of 9s and 0s.
static double make_near_pow10(void)
{
	char text[8];
	int steps = (int)(sweep_next() % 7) - 3;
	uint64_t u;

	snprintf(text, sizeof text, "1e%d", (int)(sweep_next() % 617) - 308);
	double v = strtod(text, NULL); // the double nearest 10^k
	memcpy(&u, &v, sizeof u);
	return from_bits(u + (uint64_t)(int64_t)steps);
}

Test(floating_sweep, random_bit_patterns_match_libc) { sweep(1, 80000, make_bits); }
Test(floating_sweep, short_decimals_match_libc) { sweep(2, 60000, make_decimal); }
Test(floating_sweep, short_binary_fractions_match_libc) { sweep(3, 40000, make_short_binary); }
Test(floating_sweep, powers_of_ten_and_neighbours_match_libc) { sweep(4, 20000, make_near_pow10); }

// --- floating point: truncation ---

Test(floating_truncation, keeps_a_prefix_and_returns_the_full_length)
{
	char buf[5];
	int n = fmt_snprintf(buf, sizeof buf, "%f", 3.14159);
	cr_assert_str_eq(buf, "3.14");
	cr_assert_eq(n, 8);
}

Test(floating_truncation, every_buffer_size_matches_libc)
{
	static const char *const cases[] = { "%.3e", "%+010.2f", "%-12g", "%.40f" };
	const double v = -1234.5678;

	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		char want[64], got[64];
		int full = snprintf(NULL, 0, cases[c], v);

		for (int size = 0; size <= full + 1; size++) {
			memset(want, 'X', sizeof want);
			memset(got, 'X', sizeof got);
			int nw = snprintf(want, (size_t)size, cases[c], v);
			int ng = fmt_snprintf(got, (size_t)size, cases[c], v);
			cr_assert_eq(ng, nw, "%s in %d bytes", cases[c], size);
			cr_assert_eq(memcmp(got, want, sizeof got), 0, "%s in %d bytes", cases[c], size);
		}
	}
}

Test(floating_truncation, size_zero_accepts_null_buffer)
{
	cr_assert_eq(fmt_snprintf(NULL, 0, "%.1100f", 1.0), 1102);
}
