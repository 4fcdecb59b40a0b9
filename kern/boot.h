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
};

extern struct boot_info boot_info;
// Reads the multiboot v1 information at mbi_pa (through kwin). E_INVAL if the magic
// or the required memory map is missing.
int boot_parse_multiboot(uint32_t magic, uint64_t mbi_pa);
// Value of "key=value" in the command line, copied into buf; 0 if found, E_NOENT if not.
// Words after a "--" are init's arguments, not the kernel's: they are not searched.
int boot_arg(const char *key, char *buf, size_t n);

#endif
