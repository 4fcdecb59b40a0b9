// cpio.h: reads a cpio archive in the "new ASCII" (newc) format, as `cpio -o -H newc`
// writes it: the boot archive of user programs (docs/boot.md). Pure: reads the archive
// only, allocates nothing, keeps no state; shared by the kernel (which finds init in
// it) and libpagoda (init's pg_spawn), and host-tested (tests/host/test_cpio.c).
#ifndef PAGODA_LIB_CPIO_H
#define PAGODA_LIB_CPIO_H
#include <stdint.h>
#include <stddef.h>

#define CPIO_NAME_MAX 255 // longest member name accepted (without its NUL)

// One member. name points into the archive (NUL-terminated there), data too.
struct cpio_entry {
	const char *name;
	const uint8_t *data;
	size_t size;
	uint32_t mode; // st_mode: CPIO_IS_REG(mode) for a regular file
};
#define CPIO_IS_REG(mode) (((mode) & 0170000u) == 0100000u)

// The member at byte *pos of ar[0, len) (start with *pos = 0): 1 and *e filled, *pos
// moved past it; 0 at the TRAILER!!! member that ends the archive; or E_INVAL with
// *why (must not be NULL) naming the failed check, and nothing read outside
// ar[0, len). Checked, in order: a 110-byte header fits; its magic is 070701 (newc;
// the 070702 checksum variant and the old binary and odc formats are refused); each
// of its 13 fields is 8 hex digits; 2 <= namesize <= CPIO_NAME_MAX + 1; the name fits,
// ends in its only NUL; the data (after the name, 4-byte aligned) fits. An archive
// that ends without the trailer is E_INVAL too.
int cpio_next(const void *ar, size_t len, size_t *pos, struct cpio_entry *e, const char **why);

// The regular file called name (or "./name") in ar: E_OK and *e, E_NOENT if the whole
// archive was read without finding it, or cpio_next's E_INVAL and *why for a malformed
// archive (up to the member found: what follows it is not checked).
int cpio_find(const void *ar, size_t len, const char *name, struct cpio_entry *e, const char **why);

#endif
