// multiboot.c: copies the multiboot v1 information (command line, memory map,
// modules) into boot_info, so nothing later depends on the loader's memory.
#include "kern/boot.h"
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

int boot_parse_multiboot(uint32_t magic, uint64_t mbi_pa)
{
	struct mbi m;
	if (magic != MB_BOOTLOADER_MAGIC)
		return E_INVAL;
	kwin_read_phys(&m, mbi_pa, sizeof m);
	if (!(m.flags & MBI_MMAP))
		return E_INVAL;
	if (m.flags & MBI_CMDLINE) {
		kwin_read_phys(boot_info.cmdline, m.cmdline, sizeof boot_info.cmdline - 1);
		boot_info.cmdline[sizeof boot_info.cmdline - 1] = 0;
	}
	read_mmap(&m);
	if (m.flags & MBI_MODS)
		read_mods(&m);
	return E_OK;
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
