// uprog.h: the user programs of the boot archive, and the kernel's ELF loader. The
// kernel image holds no program: the build packs every one (tests/user/<name>.c,
// user/prog/<name>.c, user/init/init.c) into a cpio newc archive passed as a multiboot
// module (docs/boot.md). The kernel itself starts only init from it (kern/roottask.c);
// the in-kernel tests and benchmarks (mode=test, mode=bench) read the others here.
#ifndef KERN_UPROG_H
#define KERN_UPROG_H
#include <stdint.h>
#include <stddef.h>

struct uprog {
	const uint8_t *start; // its ELF image, in the archive's read-only kernel mapping
	const uint8_t *end;
};

// Maps every boot module read-only into the kernel (kva: their frames are never
// given to the allocator, memory_init keeps them out) and finds the boot archive: the
// first module that starts with the newc magic. Boot only, after memory_init.
void uprog_init(void);
// The boot archive's kernel mapping and length, or NULL if the loader gave none.
const uint8_t *uprog_archive(size_t *len);
// Module i's kernel mapping (i < boot_info.nmods), or NULL if it could not be mapped.
const uint8_t *uprog_module(size_t i);
// Program name in the boot archive: E_OK and *out, E_NOENT if there is no archive or
// no such member, E_INVAL if the archive is malformed (the reason is printed).
int uprog_find(const char *name, struct uprog *out);

struct space;
struct mem;
// A new mem object of len bytes (a page multiple) charged to payer, with data[0, dlen)
// copied in at byte doff (data may be NULL: all zeros). One reference, the caller's.
int uprog_mem_with(struct space *payer, uint64_t len, const uint8_t *data, uint64_t doff, uint64_t dlen,
		   struct mem **out);
// Loads an ELF image into s (segments, plus a stack): E_OK with the entry point and
// the stack top, or the loader's error (elf_parse's for a malformed image). On
// error, what was mapped stays in s and goes with it.
int uprog_load(struct space *s, const uint8_t *img, size_t len, uintptr_t *entry, uintptr_t *stack);
// Loads p and starts its first thread (main's arg = arg) on cpu (-1: any).
int uprog_start(struct space *s, const struct uprog *p, uint64_t arg, int cpu);

struct uprog_result {
	int status;       // first non-zero exit status of its threads, else 0
	uint32_t faults;  // threads killed by a fault
};
// Runs program name in a new space until its last thread exits, then deletes the
// space. Call from cpu0's idle thread (kmain). E_NOENT if there is no such program.
// For the in-kernel tests and benchmarks only: the system itself starts with init.
int uprog_run(const char *name, uint64_t arg, int cpu, struct uprog_result *res);

// Several programs at once, each in its own space with a shootdown budget (0: none)
// and a quota (0: SPACE_QUOTA_KERNEL).
#define UPROG_GROUP_MAX 4
struct uprog_spec {
	const char *name;
	uint64_t arg;
	int cpu;
	uint64_t budget;
	uint64_t quota;
};
int uprog_run_group(const struct uprog_spec *specs, int n, struct uprog_result *res);

#endif
