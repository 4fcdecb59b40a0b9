// test_fmt.c: host unit tests for lib/fmt.c, built against libc with Criterion.
// Each test formats through fmt_snprintf and checks both the text and the
// returned length, which must equal what an unbounded buffer would hold.
#include <criterion/criterion.h>
#include <stdint.h>
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
