// boot.h: what the boot loader told us, copied out of its structures at start-up.
#ifndef KERN_BOOT_H
#define KERN_BOOT_H
#include <stdint.h>
#include <stddef.h>
#include "kern/memmap.h"

#define BOOT_MAX_MMAP 128
#define BOOT_MAX_MODS 16

struct boot_module {
	uint64_t start, end; // physical
	char name[64];       // the loader's string for it (QEMU -initrd "file args", GRUB module2 args); "" if none
};

struct boot_info {
	char cmdline[256];
	struct mmap_entry mmap[BOOT_MAX_MMAP];
	size_t nmmap;
	struct boot_module mods[BOOT_MAX_MODS];
	size_t nmods;
	// The loader's copy of the ACPI RSDP (multiboot2 tags 14/15, unchecked): 20 bytes
	// (ACPI 1.0) or 36 (2.0+). rsdp_len 0: none given, acpi.c scans the BIOS areas.
	uint8_t rsdp[36];
	uint32_t rsdp_len;
};

extern struct boot_info boot_info;
// Reads the multiboot v1 or v2 information at mbi_pa (through kwin), as the magic
// says, and reports on the console what it lacks. E_INVAL if the magic is neither,
// or the information is malformed beyond use, or has no memory map.
int boot_parse_multiboot(uint32_t magic, uint64_t mbi_pa);
// The lowest usable page (firmware map, not a module, not page 0) if it lies below
// `below`: where the AP trampoline goes (real mode needs it under 1 MiB). E_NOENT if none.
int boot_low_page(uint64_t below, uint64_t *pa);
// Value of "key=value" in the command line, copied into buf; 0 if found, E_NOENT if not.
// Words after a "--" are init's arguments, not the kernel's: they are not searched.
int boot_arg(const char *key, char *buf, size_t n);

#endif
