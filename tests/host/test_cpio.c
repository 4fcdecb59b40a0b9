// test_cpio.c: host unit tests for lib/cpio.c. Archives are built here as
// `cpio -o -H newc` writes them (a 110-byte ASCII header, the name, padding to 4, the
// data, padding to 4, a TRAILER!!! member), then broken one field at a time. Each is
// parsed from a heap copy of exactly its length, so an over-read trips ASan.
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/errors.h"
#include "lib/cpio.h"

static char buf[4096];
static size_t blen;

// Appends a member; returns the offset of its header.
static size_t add(const char *name, unsigned mode, const char *data, size_t size)
{
	size_t at = blen, ns = strlen(name) + 1;
	char h[256];
	snprintf(h, sizeof h, "070701%08X%08X%08X%08X%08X%08X%08zX%08X%08X%08X%08X%08zX%08X", 1u, mode, 0u, 0u,
		 1u, 0u, size, 0u, 0u, 0u, 0u, ns, 0u);
	memcpy(buf + blen, h, 110);
	blen += 110;
	memcpy(buf + blen, name, ns);
	blen = (blen + ns + 3) & ~3ul;
	memcpy(buf + blen, data, size);
	blen = (blen + size + 3) & ~3ul;
	return at;
}

static void base(void)
{
	memset(buf, 0, sizeof buf);
	blen = 0;
	add("hello", 0100755, "HELLO", 5);
	add("dir", 040755, "", 0);
	add("./init", 0100644, "INIT!!", 6);
}

static void trailer(void) { add("TRAILER!!!", 0, "", 0); }

// Parses buf[0, len) from an exact-size heap copy: cpio_find's result for name.
static int find(size_t len, const char *name, struct cpio_entry *e, const char **why)
{
	char *copy = malloc(len ? len : 1);
	memcpy(copy, buf, len);
	int r = cpio_find(copy, len, name, e, why);
	if (r == E_OK) // point into buf, so the copy can go
		e->data = (const uint8_t *)buf + (e->data - (const uint8_t *)copy);
	free(copy);
	return r;
}

Test(cpio, finds_members)
{
	base();
	trailer();
	struct cpio_entry e;
	const char *why;
	cr_assert_eq(find(blen, "hello", &e, &why), E_OK);
	cr_assert_eq(e.size, 5);
	cr_assert(memcmp(e.data, "HELLO", 5) == 0);
	cr_assert(CPIO_IS_REG(e.mode));
	cr_assert_eq(find(blen, "init", &e, &why), E_OK, "a ./ prefix is ignored");
	cr_assert(memcmp(e.data, "INIT!!", 6) == 0);
}

Test(cpio, next_walks_every_member_then_the_trailer)
{
	base();
	trailer();
	size_t pos = 0;
	struct cpio_entry e;
	const char *why;
	int n = 0, r;
	while ((r = cpio_next(buf, blen, &pos, &e, &why)) == 1)
		n++;
	cr_assert_eq(r, 0);
	cr_assert_eq(n, 3);
}

Test(cpio, missing_and_non_regular_members_are_noent)
{
	base();
	trailer();
	struct cpio_entry e;
	const char *why;
	cr_assert_eq(find(blen, "nothere", &e, &why), E_NOENT);
	cr_assert_eq(find(blen, "dir", &e, &why), E_NOENT, "a directory is not a program");
	cr_assert_eq(find(blen, "hell", &e, &why), E_NOENT, "names match whole");
}

Test(cpio, empty_and_trailerless_archives_fail)
{
	struct cpio_entry e;
	const char *why;
	blen = 0;
	cr_assert_eq(find(0, "hello", &e, &why), E_INVAL);
	base();
	cr_assert_eq(find(blen, "nothere", &e, &why), E_INVAL);
	cr_assert_str_eq(why, "archive ends without TRAILER!!!");
}

Test(cpio, every_truncation_fails_cleanly)
{
	base();
	trailer();
	struct cpio_entry e;
	const char *why;
	for (size_t len = 0; len < blen; len++)
		cr_assert_eq(find(len, "nothere", &e, &why), E_INVAL, "truncated at %zu", len);
}

static void expect_bad(size_t at, const char *field, const char *want)
{
	base();
	trailer();
	memcpy(buf + at, field, strlen(field));
	struct cpio_entry e;
	const char *why = NULL;
	cr_assert_eq(find(blen, "init", &e, &why), E_INVAL, "want %s", want);
	cr_assert_str_eq(why, want);
}

Test(cpio, bad_headers_fail_with_their_reason)
{
	expect_bad(0, "070707", "bad magic (not 070701: not a cpio newc archive)");     // odc
	expect_bad(0, "070702", "bad magic (not 070701: not a cpio newc archive)");     // crc
	expect_bad(6 + 8, "0000g1ED", "header field is not 8 hex digits");              // mode
	expect_bad(6 + 8 * 11, "00000001", "name size out of range");                   // namesize 1
	expect_bad(6 + 8 * 11, "00000101", "name size out of range");                   // 257
	expect_bad(6 + 8 * 11, "00000003", "name not NUL-terminated");                  // "he"
	expect_bad(6 + 8 * 6, "FFFFFFF0", "data truncated");                            // filesize
}

Test(cpio, a_nul_inside_a_name_fails)
{
	base();
	trailer();
	buf[110 + 2] = 0; // "he\0lo"
	struct cpio_entry e;
	const char *why;
	cr_assert_eq(find(blen, "init", &e, &why), E_INVAL);
	cr_assert_str_eq(why, "NUL inside the name");
}

Test(cpio, a_huge_name_size_is_truncation_not_overflow)
{
	base();
	trailer();
	memcpy(buf + 6 + 8 * 11, "000000F0", 8); // 240: in range, past the end of a 5-byte member
	struct cpio_entry e;
	const char *why;
	size_t len = 110 + 8; // only the header and a bit of the name
	cr_assert_eq(find(len, "hello", &e, &why), E_INVAL);
	cr_assert_str_eq(why, "name truncated");
}
