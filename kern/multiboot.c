// multiboot.c: copies the multiboot v1 information (command line, memory map,
// modules), or the v2 tags (multiboot2.c), into boot_info, so nothing later depends on
// the loader's memory, and says on the console what the loader did not give.
#include <stdbool.h>

#include "kern/boot.h"
#include "kern/multiboot2.h"
#include "kern/console.h"
#include "kern/kwin.h"
#include "lib/string.h"
#include "include/pagoda/errors.h"

#define MB_BOOTLOADER_MAGIC 0x2BADB002
#define MBI_CMDLINE (1 << 2)
#define MBI_MODS    (1 << 3)
#define MBI_MMAP    (1 << 6)

struct mbi {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t base, len;
	uint32_t type;
} __attribute__((packed));

struct mb_mod {
	uint32_t start, end, string, rsvd;
};

struct boot_info boot_info;

static void read_mmap(const struct mbi *m)
{
	uint64_t pa = m->mmap_addr, end = pa + m->mmap_length;
	while (pa + sizeof(struct mb_mmap) <= end && boot_info.nmmap < BOOT_MAX_MMAP) {
		struct mb_mmap e;
		kwin_read_phys(&e, pa, sizeof e);
		boot_info.mmap[boot_info.nmmap++] = (struct mmap_entry){ e.base, e.len, e.type };
		pa += e.size + 4;
	}
}

static void read_mods(const struct mbi *m)
{
	for (uint32_t i = 0; i < m->mods_count && i < BOOT_MAX_MODS; i++) {
		struct mb_mod mod;
		kwin_read_phys(&mod, m->mods_addr + i * sizeof mod, sizeof mod);
		struct boot_module *b = &boot_info.mods[boot_info.nmods++];
		*b = (struct boot_module){ .start = mod.start, .end = mod.end };
		if (mod.string)
			kwin_read_phys(b->name, mod.string, sizeof b->name - 1); // NUL from the zeroing
	}
}

static int parse_v1(uint64_t mbi_pa)
{
	struct mbi m;
	kwin_read_phys(&m, mbi_pa, sizeof m);
	if (!(m.flags & MBI_MMAP)) {
		kprintf("multiboot: no memory map\n");
		return E_INVAL;
	}
	if (m.flags & MBI_CMDLINE) {
		kwin_read_phys(boot_info.cmdline, m.cmdline, sizeof boot_info.cmdline - 1);
		boot_info.cmdline[sizeof boot_info.cmdline - 1] = 0;
	}
	read_mmap(&m);
	if (m.flags & MBI_MODS)
		read_mods(&m);
	if (!(m.flags & MBI_CMDLINE))
		kprintf("multiboot: no command line\n");
	return E_OK;
}

// The v2 tags are read in place, through kwin, at most total_size bytes from mbi_pa.
static void v2_read(void *ctx, uint64_t off, void *dst, size_t n)
{
	kwin_read_phys(dst, *(uint64_t *)ctx + off, n);
}

static void v2_note(void *ctx, const char *what, uint32_t type, uint64_t off)
{
	(void)ctx;
	kprintf("multiboot2: %s (tag type %u at offset %lu)\n", what, type, off);
}

static int parse_v2(uint64_t mbi_pa)
{
	const struct mb2_source src = { v2_read, v2_note, &mbi_pa };
	unsigned found;
	int err = mb2_parse(&src, &boot_info, &found);
	if (err != E_OK)
		return err;
	if (!(found & MB2_HAVE_CMDLINE))
		kprintf("multiboot2: no command line tag\n");
	if (!(found & MB2_HAVE_MMAP))
		kprintf("multiboot2: no memory map tag, using the EFI memory map\n");
	if (!(found & MB2_HAVE_RSDP))
		kprintf("multiboot2: no ACPI RSDP tag, will scan the BIOS areas\n");
	return E_OK;
}

static void report(const char *proto)
{
	kprintf("boot: %s, %lu memory map entries, %lu modules%s\n", proto, boot_info.nmmap,
		boot_info.nmods, boot_info.nmods ? "" : " (none given)");
	for (size_t i = 0; i < boot_info.nmods; i++)
		kprintf("boot: module %lu at %#lx, %lu bytes: \"%s\"\n", i, boot_info.mods[i].start,
			boot_info.mods[i].end - boot_info.mods[i].start, boot_info.mods[i].name);
}

int boot_parse_multiboot(uint32_t magic, uint64_t mbi_pa)
{
	bool v1 = magic == MB_BOOTLOADER_MAGIC;
	if (!v1 && magic != MB2_BOOTLOADER_MAGIC) {
		kprintf("boot: magic %#x is neither multiboot v1 nor multiboot2\n", magic);
		return E_INVAL;
	}
	int err = v1 ? parse_v1(mbi_pa) : parse_v2(mbi_pa);
	if (err == E_OK)
		report(v1 ? "multiboot" : "multiboot2");
	return err;
}

int boot_low_page(uint64_t below, uint64_t *pa)
{
	struct mrange excl[1 + BOOT_MAX_MODS] = { { 0, 0x1000 } }, usable[BOOT_MAX_MMAP + BOOT_MAX_MODS + 1];
	size_t nexcl = 1;
	for (size_t i = 0; i < boot_info.nmods; i++)
		excl[nexcl++] = (struct mrange){ boot_info.mods[i].start,
						 boot_info.mods[i].end - boot_info.mods[i].start };
	int n = memmap_usable(boot_info.mmap, boot_info.nmmap, excl, nexcl, usable,
			      BOOT_MAX_MMAP + BOOT_MAX_MODS + 1);
	if (n > 0 && usable[0].base < below) { // sorted: the lowest range comes first
		*pa = usable[0].base;
		return E_OK;
	}
	return E_NOENT;
}

int boot_arg(const char *key, char *buf, size_t n)
{
	size_t klen = strlen(key);
	for (const char *p = boot_info.cmdline; *p;) {
		while (*p == ' ')
			p++;
		const char *w = p;
		while (*p && *p != ' ')
			p++;
		if (p - w == 2 && w[0] == '-' && w[1] == '-')
			break; // the rest is init's (docs/boot.md)
		if ((size_t)(p - w) > klen && strncmp(w, key, klen) == 0 && w[klen] == '=') {
			size_t vlen = p - w - klen - 1;
			if (vlen >= n)
				vlen = n - 1;
			memcpy(buf, w + klen + 1, vlen);
			buf[vlen] = 0;
			return E_OK;
		}
	}
	return E_NOENT;
}
