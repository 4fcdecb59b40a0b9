// test_strerror.c: host unit tests for pg_strerror (user/lib/strerror.c), whose table
// is made from include/pagoda/errors.def: every code has its own non-empty
// "E_NAME: meaning", anything else is "unknown error", and the codes keep their ABI
// values.
#include <criterion/criterion.h>
#include <limits.h>
#include <string.h>

#include "include/pagoda/errors.h"

const char *pg_strerror(int err);

struct code { const char *name; int value; };
static const struct code codes[] = {
#define ERROR_CODE(name, value, what) { #name, name },
#include "include/pagoda/errors.def"
#undef ERROR_CODE
};
#define NCODES (sizeof codes / sizeof codes[0])

Test(strerror, every_code_has_its_own_name)
{
	cr_assert_eq(NCODES, 1 - E_LAST);
	for (size_t i = 0; i < NCODES; i++) {
		const char *s = pg_strerror(codes[i].value);
		size_t n = strlen(codes[i].name);
		cr_assert(strncmp(s, codes[i].name, n) == 0 && strncmp(s + n, ": ", 2) == 0,
			  "%d: \"%s\"", codes[i].value, s);
		cr_assert_gt(strlen(s), n + 2, "%s has no meaning", codes[i].name);
		for (size_t j = 0; j < i; j++) {
			cr_assert_neq(codes[i].value, codes[j].value, "%s = %s", codes[i].name, codes[j].name);
			cr_assert_str_neq(s, pg_strerror(codes[j].value));
		}
	}
}

Test(strerror, codes_are_dense_from_0_to_e_last)
{
	for (int e = 0; e >= E_LAST; e--) {
		size_t hits = 0;
		for (size_t i = 0; i < NCODES; i++)
			hits += codes[i].value == e;
		cr_assert_eq(hits, 1, "code %d", e);
	}
}

Test(strerror, unknown_codes)
{
	const int bad[] = { 1, 2, 100, INT_MAX, E_LAST - 1, E_LAST - 100, INT_MIN, INT_MIN + 1 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_str_eq(pg_strerror(bad[i]), "unknown error", "%d", bad[i]);
}

// The values are the ABI.
Test(strerror, values_are_stable)
{
	cr_assert_eq(E_OK, 0);
	cr_assert_eq(E_INVAL, -1);
	cr_assert_eq(E_NOMEM, -2);
	cr_assert_eq(E_RANGE, -3);
	cr_assert_eq(E_EXISTS, -4);
	cr_assert_eq(E_NOENT, -5);
	cr_assert_eq(E_BUSY, -6);
	cr_assert_eq(E_FAULT, -7);
	cr_assert_eq(E_BADH, -8);
	cr_assert_eq(E_TYPE, -9);
	cr_assert_eq(E_RIGHTS, -10);
	cr_assert_eq(E_BUDGET, -11);
	cr_assert_eq(E_NOSYS, -12);
	cr_assert_eq(E_TIMEOUT, -13);
	cr_assert_leq(E_LAST, E_TIMEOUT); // new codes take the next values
	cr_assert_str_eq(pg_strerror(E_BADH), "E_BADH: handle index invalid or closed");
}
