// multiboot2.h: the multiboot2 boot information (GRUB's `multiboot2`, BIOS or UEFI)
// parsed into boot_info. Pure: it reads the loader's tag list only through src->read
// and reports problems only through src->note, so the host tests (tests/host/
// test_multiboot2.c) feed it hand-made and hostile tag lists; multiboot.c binds it to
// kwin_read_phys and the console.
#ifndef KERN_MULTIBOOT2_H
#define KERN_MULTIBOOT2_H
#include <stdint.h>
#include <stddef.h>
#include "kern/boot.h"

#define MB2_BOOTLOADER_MAGIC 0x36d76289
// A larger total_size is taken for garbage (GRUB's, with an EFI memory map, is a few KiB).
#define MB2_MAX_SIZE (1u << 20)

// What the tag list held (bits of *found): what is missing, the caller says so.
#define MB2_HAVE_CMDLINE  (1u << 0) // tag 1
#define MB2_HAVE_MODS     (1u << 1) // tag 3, at least one kept
#define MB2_HAVE_MMAP     (1u << 2) // tag 6
#define MB2_HAVE_EFI_MMAP (1u << 3) // tag 17 (used only without tag 6)
#define MB2_HAVE_RSDP     (1u << 4) // tag 14 or 15
#define MB2_HAVE_END      (1u << 5) // the end tag, where the walk stopped

struct mb2_source {
	// Copies n bytes at offset off of the boot information into dst. mb2_parse reads
	// only [0, 8) and then [0, total_size) for the total_size it found there.
	void (*read)(void *ctx, uint64_t off, void *dst, size_t n);
	// One problem with the tag list: what, the type of the tag and its offset.
	void (*note)(void *ctx, const char *what, uint32_t type, uint64_t off);
	void *ctx;
};

// Fills out (which the caller zeroed) from the tag list: command line (tag 1), modules
// with their strings (tag 3), memory map (tag 6; else the EFI map, tag 17, converted),
// the ACPI RSDP copy (tag 15 preferred over 14). A tag whose size does not fit its type
// is skipped with a note; a tag that runs past total_size or is shorter than its own
// header ends the walk (what came before it is kept) with a note; more entries or
// modules than boot_info holds are dropped with a note. Strings are cut to fit and
// always NUL-terminated. Sets *found to the MB2_HAVE_ bits.
// Returns E_OK, or E_INVAL (out then partly filled) if total_size is below 16 or above
// MB2_MAX_SIZE, or if no memory map survived.
int mb2_parse(const struct mb2_source *src, struct boot_info *out, unsigned *found);

#endif
