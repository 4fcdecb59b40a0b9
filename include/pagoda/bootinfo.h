// bootinfo.h: what the kernel hands the root task. The kernel starts exactly one
// program, init (user/init/init.c), from the boot archive, in the root space, and maps
// one read-only page at PG_BOOTINFO_VA into it: a struct pg_bootinfo, whose address is
// init's main argument (rdi). Its handles are init's: every boot module as a read-only
// mem object, and the resource handle. See docs/boot.md.
#ifndef PAGODA_BOOTINFO_H
#define PAGODA_BOOTINFO_H
#include <stdint.h>
#include "include/pagoda/abi.h"

#define PG_BOOTINFO_VA    0x7fffe0000000UL
#define PG_BOOTINFO_MAGIC 0x6f666e69746f6f62ULL // "bootinfo", little-endian
#define PG_BOOT_MAX_MODS  16
#define PG_BOOT_NAME_MAX  64

struct pg_boot_module {
	handle_t mem;               // R_READ | R_MAP | R_DUP | R_TRANSFER: map it PROT_READ
	uint32_t reserved;
	uint64_t size;              // bytes of the module (the mem is rounded up to pages, zero-padded)
	char name[PG_BOOT_NAME_MAX]; // the loader's string for it (file name and arguments), NUL-terminated
};

struct pg_bootinfo {
	uint64_t magic;             // PG_BOOTINFO_MAGIC
	uint32_t version;           // 1
	handle_t resource;          // the resource handle (R_READ | R_WRITE; no R_DUP, no R_TRANSFER)
	uint32_t nmods;             // mods[0, nmods) are valid
	uint32_t ncpus;             // CPUs online
	char cmdline[256];          // the kernel command line, NUL-terminated; init's arguments
	                            // are the words after " -- " (docs/boot.md)
	struct pg_boot_module mods[PG_BOOT_MAX_MODS];
};
_Static_assert(sizeof(struct pg_bootinfo) <= 4096, "boot info fits its page");

#endif
