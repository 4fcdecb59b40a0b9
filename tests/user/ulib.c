// ulib.c: user test of libpagoda's pure parts: pg_snprintf formatting, pg_strerror
// names, and the mem*/str* routines. Makes no system call except for its output.
#include "utest.h"

// Formats into a buffer and checks the text and the returned length.
static void check_fmt(const char *name, const char *want, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void check_fmt(const char *name, const char *want, const char *fmt, ...)
{
	char buf[128];
	va_list ap;
	int len;

	memset(buf, 'X', sizeof buf);
	va_start(ap, fmt);
	len = pg_vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (strcmp(buf, want) != 0)
		UTEST_FAIL(name, "format \"%s\": got \"%s\", want \"%s\"", fmt, buf, want);
	else
		UCHECK_EQ(name, len, strlen(want));
}

static void snprintf_ints(const char *n)
{
	check_fmt(n, "0 -1 42", "%d %d %d", 0, -1, 42);
	check_fmt(n, "-2147483648 2147483647", "%d %d", (int)-2147483647 - 1, 2147483647);
	check_fmt(n, "4294967295", "%u", 4294967295u);
	check_fmt(n, "-9223372036854775808", "%ld", (long)(-9223372036854775807L - 1));
	check_fmt(n, "18446744073709551615", "%lu", 18446744073709551615UL);
	check_fmt(n, "-5 18446744073709551615", "%lld %llu", -5LL, 18446744073709551615ULL);
}

static void snprintf_hex(const char *n)
{
	check_fmt(n, "0 ff deadbeef", "%x %x %x", 0u, 255u, 0xdeadbeefu);
	check_fmt(n, "ffffffffffffffff", "%lx", ~0UL);
	check_fmt(n, "123456789abcdef0", "%llx", 0x123456789abcdef0ULL);
	check_fmt(n, "0x0000000000400000", "%p", (void *)0x400000);
}

static void snprintf_widths(const char *n)
{
	check_fmt(n, "[   42]", "[%5d]", 42);
	check_fmt(n, "[00042]", "[%05d]", 42);
	check_fmt(n, "[-0042]", "[%05d]", -42);
	check_fmt(n, "[42   ]", "[%-5d]", 42);
	check_fmt(n, "[000000ff]", "[%08x]", 255u);
	check_fmt(n, "[0000000000001000]", "[%016lx]", 0x1000UL);
	check_fmt(n, "[   ab]", "[%5s]", "ab");
	check_fmt(n, "[12345678]", "[%3d]", 12345678);
}

static void snprintf_str_char_percent(const char *n)
{
	check_fmt(n, "hello, world", "%s, %s", "hello", "world");
	check_fmt(n, "a%z", "%c%%%c", 'a', 'z');
	check_fmt(n, "", "%s", "");
}

static void snprintf_truncates(const char *n)
{
	char buf[8];
	int len;

	len = pg_snprintf(buf, sizeof buf, "%s", "0123456789");
	UCHECK_EQ(n, len, 10);
	UCHECK(n, strcmp(buf, "0123456") == 0);
	buf[0] = 'q';
	len = pg_snprintf(buf, 0, "%d", 12345);
	UCHECK_EQ(n, len, 5);
	UCHECK_EQ(n, buf[0], 'q'); // n == 0 writes nothing
}

static void strerror_names(const char *n)
{
	static const struct {
		int err;
		const char *prefix;
	} want[] = {
		{ E_OK, "E_OK: " },         { E_INVAL, "E_INVAL: " },   { E_NOMEM, "E_NOMEM: " },
		{ E_RANGE, "E_RANGE: " },   { E_EXISTS, "E_EXISTS: " }, { E_NOENT, "E_NOENT: " },
		{ E_BUSY, "E_BUSY: " },     { E_FAULT, "E_FAULT: " },   { E_BADH, "E_BADH: " },
		{ E_TYPE, "E_TYPE: " },     { E_RIGHTS, "E_RIGHTS: " }, { E_BUDGET, "E_BUDGET: " },
		{ E_NOSYS, "E_NOSYS: " },   { E_TIMEOUT, "E_TIMEOUT: " }, { E_NOVA, "E_NOVA: " },
		{ E_DENIED, "E_DENIED: " }, { E_BADFRAME, "E_BADFRAME: " },
	};

	UCHECK_EQ(n, sizeof want / sizeof want[0], 1 - E_LAST);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		const char *s = pg_strerror(want[i].err);
		size_t plen = strlen(want[i].prefix);
		if (strncmp(s, want[i].prefix, plen) != 0 || strlen(s) <= plen + 3)
			UTEST_FAIL(n, "pg_strerror(%d) = \"%s\", want \"%s<meaning>\"", want[i].err,
				   s, want[i].prefix);
	}
	UCHECK(n, strcmp(pg_strerror(E_RIGHTS), "E_RIGHTS: handle lacks a needed right") == 0);
}

static void strerror_unknown(const char *n)
{
	static const int bad[] = { 1, 42, E_LAST - 1, -1000, (int)0x80000000u, 0x7fffffff };

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (strcmp(pg_strerror(bad[i]), "unknown error") != 0)
			UTEST_FAIL(n, "pg_strerror(%d) = \"%s\"", bad[i], pg_strerror(bad[i]));
}

static void memmove_overlap(const char *n)
{
	char b[16];

	memcpy(b, "0123456789", 11);
	memmove(b + 2, b, 8); // dst above src: must copy downwards
	UCHECK(n, memcmp(b, "0101234567", 10) == 0);
	memcpy(b, "0123456789", 11);
	memmove(b, b + 3, 7); // dst below src
	UCHECK(n, memcmp(b, "3456789789", 10) == 0);
	memcpy(b, "0123456789", 11);
	memmove(b + 1, b + 1, 5); // onto itself
	UCHECK(n, memcmp(b, "0123456789", 10) == 0);
	memmove(b + 5, b, 0);
	UCHECK(n, memcmp(b, "0123456789", 10) == 0);
	UCHECK(n, memmove(b + 1, b, 3) == b + 1);
}

static void memset_memcmp(const char *n)
{
	unsigned char b[9];

	UCHECK(n, memset(b, 0xab, 8) == b);
	b[8] = 0;
	for (int i = 0; i < 8; i++)
		UCHECK_EQ(n, b[i], 0xab);
	UCHECK_EQ(n, b[8], 0);
	UCHECK(n, memcmp("abc", "abd", 3) < 0);
	UCHECK(n, memcmp("abd", "abc", 3) > 0);
	UCHECK(n, memcmp("abc", "abd", 2) == 0);
	UCHECK(n, memcmp("\x80", "\x01", 1) > 0); // bytes compare as unsigned
}

static void strcmp_strlen(const char *n)
{
	(void)n;
	EXPECT_EQ(strcmp("", ""), 0);
	EXPECT_EQ(strcmp("abc", "abc"), 0);
	EXPECT_LT(strcmp("abc", "abd"), 0);
	EXPECT_GT(strcmp("abd", "abc"), 0);
	EXPECT_LT(strcmp("ab", "abc"), 0);
	EXPECT_GT(strcmp("abc", "ab"), 0);
	EXPECT_GT(strcmp("\xff", "a"), 0); // chars compare as unsigned
	EXPECT_EQ(strlen(""), 0);
	EXPECT_EQ(strlen("pagoda"), 6);
	EXPECT_EQ(strnlen("pagoda", 3), 3);
}

// The checks themselves: typed comparisons (an unsigned side compares unsigned, as
// in C) and error codes, each argument evaluated once.
static void checks_are_typed(const char *n)
{
	int calls = 0, before = utest_failures();

	(void)n;
	EXPECT_GT(~0UL, 1); // unsigned: 2^64-1 > 1, not -1 > 1
	EXPECT_LT(-1, 1);
	EXPECT_ERR(pg_handle_close(12345), E_BADH);
	EXPECT_EQ(++calls, 1);
	EXPECT_EQ(calls, 1);
	EXPECT_EQ(utest_failures(), before);
}

static const struct utest_case cases[] = {
	{ "ulib_snprintf_ints", snprintf_ints },
	{ "ulib_snprintf_hex", snprintf_hex },
	{ "ulib_snprintf_widths", snprintf_widths },
	{ "ulib_snprintf_str_char_percent", snprintf_str_char_percent },
	{ "ulib_snprintf_truncates", snprintf_truncates },
	{ "ulib_strerror_names", strerror_names },
	{ "ulib_strerror_unknown", strerror_unknown },
	{ "ulib_memmove_overlap", memmove_overlap },
	{ "ulib_memset_memcmp", memset_memcmp },
	{ "ulib_strcmp_strlen", strcmp_strlen },
	{ "ulib_checks_are_typed", checks_are_typed },
};

int main(uint64_t arg)
{
	(void)arg;
	return UTEST_RUN(cases) ? 1 : 0;
}
