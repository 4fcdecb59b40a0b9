// cpio.c: the newc archive reader (cpio.h). Every length comes from the archive, so
// each is checked against what is left of it before use, in an order that cannot
// overflow (sizes are at most 0xffffffff, positions at most len).
#include <stdbool.h>

#include "lib/cpio.h"
#include "include/pagoda/errors.h"

#define HDR_LEN 110 // "070701" and 13 fields of 8 hex digits
enum { F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE, F_DEVMAJOR, F_DEVMINOR,
       F_RDEVMAJOR, F_RDEVMINOR, F_NAMESIZE, F_CHECK, F_COUNT };

// The 8 hex digits at p, or -1 if one is not a hex digit.
static int64_t hex8(const char *p)
{
	int64_t v = 0;
	for (int i = 0; i < 8; i++) {
		char c = p[i];
		int d = c >= '0' && c <= '9' ? c - '0'
		      : c >= 'a' && c <= 'f' ? c - 'a' + 10
		      : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static bool same(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static size_t align4(size_t v) { return (v + 3) & ~(size_t)3; }

static int bad(const char **why, const char *what)
{
	*why = what;
	return E_INVAL;
}

int cpio_next(const void *ar, size_t len, size_t *pos, struct cpio_entry *e, const char **why)
{
	const char *a = ar, *h = a + *pos;
	*why = NULL;
	if (*pos > len || len - *pos < HDR_LEN)
		return bad(why, *pos == len ? "archive ends without TRAILER!!!" : "header truncated");
	if (h[0] != '0' || h[1] != '7' || h[2] != '0' || h[3] != '7' || h[4] != '0' || h[5] != '1')
		return bad(why, "bad magic (not 070701: not a cpio newc archive)");
	int64_t f[F_COUNT];
	for (int i = 0; i < F_COUNT; i++)
		if ((f[i] = hex8(h + 6 + 8 * i)) < 0)
			return bad(why, "header field is not 8 hex digits");
	size_t namesize = (size_t)f[F_NAMESIZE], size = (size_t)f[F_FILESIZE];
	if (namesize < 2 || namesize > CPIO_NAME_MAX + 1)
		return bad(why, "name size out of range");
	size_t left = len - *pos - HDR_LEN;
	if (namesize > left)
		return bad(why, "name truncated");
	const char *name = h + HDR_LEN;
	for (size_t i = 0; i + 1 < namesize; i++)
		if (!name[i])
			return bad(why, "NUL inside the name");
	if (name[namesize - 1])
		return bad(why, "name not NUL-terminated");
	size_t doff = align4(*pos + HDR_LEN + namesize); // <= len + 3: no overflow
	if (doff > len || size > len - doff)
		return bad(why, "data truncated");
	if (same(name, "TRAILER!!!"))
		return 0;
	*e = (struct cpio_entry){ name, (const uint8_t *)a + doff, size, (uint32_t)f[F_MODE] };
	*pos = align4(doff + size) < len ? align4(doff + size) : len;
	return 1;
}

int cpio_find(const void *ar, size_t len, const char *name, struct cpio_entry *e, const char **why)
{
	size_t pos = 0;
	int r;
	while ((r = cpio_next(ar, len, &pos, e, why)) == 1) {
		const char *n = e->name[0] == '.' && e->name[1] == '/' ? e->name + 2 : e->name;
		if (CPIO_IS_REG(e->mode) && same(n, name))
			return E_OK;
	}
	return r == 0 ? E_NOENT : r;
}
