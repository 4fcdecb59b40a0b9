// multiboot2.c: walks the multiboot2 tag list into boot_info. The information is an
// 8-byte header (total_size, reserved) and then tags {type, size, ...}, each starting
// 8-aligned, up to an end tag. Every size is checked against what holds it before
// anything behind it is read, so a hostile list costs notes, never a wild read.
#include <stdbool.h>

#include "kern/multiboot2.h"
#include "lib/string.h"
#include "include/pagoda/errors.h"

#define TAG_END      0
#define TAG_CMDLINE  1
#define TAG_MODULE   3
#define TAG_MMAP     6
#define TAG_ACPI_OLD 14
#define TAG_ACPI_NEW 15
#define TAG_EFI_MMAP 17

#define RSDP_V1_LEN 20
#define RSDP_V2_LEN 36
#define EFI_PAGE_SHIFT 12

struct tag {
	uint32_t type, size;
};

// Tags 6 and 17 follow their tag header with this, then entries of entry_size bytes.
struct map_hdr {
	uint32_t entry_size, entry_version;
};

struct mb2_mmap_entry {
	uint64_t base, len;
	uint32_t type, reserved;
};

struct efi_desc {
	uint32_t type, pad;
	uint64_t phys, virt, pages, attr;
};

_Static_assert(sizeof(struct mb2_mmap_entry) == 24, "multiboot2 memory map entry");
_Static_assert(sizeof(struct efi_desc) == 40, "EFI memory descriptor (UEFI 2.x, version 1)");
_Static_assert(sizeof(((struct boot_info *)0)->rsdp) == RSDP_V2_LEN, "boot_info.rsdp holds a 2.0 RSDP");

struct walk {
	const struct mb2_source *src;
	struct boot_info *out;
	unsigned found;
	uint64_t efi_off; // the first tag 17, parsed only if no tag 6 turns up
	uint32_t efi_size;
};

static void rd(const struct walk *w, uint64_t off, void *dst, size_t n)
{
	w->src->read(w->src->ctx, off, dst, n);
}

static void note(const struct walk *w, const char *what, uint32_t type, uint64_t off)
{
	w->src->note(w->src->ctx, what, type, off);
}

// Copies the len-byte string at off into dst[n], cut to fit; NUL-terminated, and
// zeroed after its first NUL so no loader bytes linger past the string's end.
static void read_string(const struct walk *w, uint64_t off, uint64_t len, char *dst, size_t n)
{
	size_t k = len < n - 1 ? (size_t)len : n - 1;
	rd(w, off, dst, k);
	size_t s = strnlen(dst, k); // then zeroes [s, n): dst[k] included
	memset(dst + s, 0, n - s);
}

static void tag_cmdline(struct walk *w, uint64_t off, const struct tag *t)
{
	if (w->found & MB2_HAVE_CMDLINE) {
		note(w, "second command line tag ignored", t->type, off);
		return;
	}
	read_string(w, off + 8, t->size - 8, w->out->cmdline, sizeof w->out->cmdline);
	w->found |= MB2_HAVE_CMDLINE;
}

static void tag_module(struct walk *w, uint64_t off, const struct tag *t)
{
	uint32_t range[2];
	if (t->size < 16) {
		note(w, "module tag shorter than 16 bytes skipped", t->type, off);
		return;
	}
	rd(w, off + 8, range, sizeof range);
	if (range[1] < range[0]) {
		note(w, "module that ends before it starts skipped", t->type, off);
		return;
	}
	if (w->out->nmods == BOOT_MAX_MODS) {
		note(w, "module beyond BOOT_MAX_MODS dropped", t->type, off);
		return;
	}
	struct boot_module *m = &w->out->mods[w->out->nmods++];
	m->start = range[0];
	m->end = range[1];
	read_string(w, off + 16, t->size - 16, m->name, sizeof m->name);
	w->found |= MB2_HAVE_MODS;
}

// Appends an entry; false (with a note, once) when boot_info is full.
static bool add_entry(struct walk *w, struct mmap_entry e, uint32_t type, uint64_t off)
{
	if (w->out->nmmap == BOOT_MAX_MMAP) {
		note(w, "memory map entries beyond BOOT_MAX_MMAP dropped", type, off);
		return false;
	}
	w->out->mmap[w->out->nmmap++] = e;
	return true;
}

// Reads a map tag's header; its entry count in *n, or false if the tag is unusable.
static bool map_entries(struct walk *w, uint64_t off, const struct tag *t, uint32_t min_entry,
			struct map_hdr *h, uint64_t *n)
{
	if (t->size < 16) {
		note(w, "memory map tag shorter than 16 bytes skipped", t->type, off);
		return false;
	}
	rd(w, off + 8, h, sizeof *h);
	if (h->entry_size < min_entry) {
		note(w, "memory map tag with entries too small for their fields skipped", t->type, off);
		return false;
	}
	*n = (t->size - 16) / h->entry_size;
	return true;
}

static void tag_mmap(struct walk *w, uint64_t off, const struct tag *t)
{
	struct map_hdr h;
	uint64_t n;
	if (w->found & MB2_HAVE_MMAP) {
		note(w, "second memory map tag ignored", t->type, off);
		return;
	}
	if (!map_entries(w, off, t, sizeof(struct mb2_mmap_entry), &h, &n))
		return;
	w->found |= MB2_HAVE_MMAP;
	for (uint64_t i = 0; i < n; i++) {
		struct mb2_mmap_entry e;
		rd(w, off + 16 + i * h.entry_size, &e, sizeof e);
		if (!add_entry(w, (struct mmap_entry){ e.base, e.len, e.type }, t->type, off))
			return;
	}
}

// EFI memory types free once boot services have exited (as Linux counts them): loader
// and boot-services code and data, and conventional memory. The kernel image and the
// modules sit in loader data, and are excluded from the frame pool by their own ranges.
static uint32_t efi_type(uint32_t t)
{
	switch (t) {
	case 1: case 2: case 3: case 4: case 7:
		return MMAP_USABLE;
	case 9:
		return 3; // ACPI reclaimable, as in multiboot2's own map
	case 10:
		return 4; // ACPI NVS
	default:
		return 2; // reserved
	}
}

static void parse_efi_mmap(struct walk *w)
{
	struct tag t = { TAG_EFI_MMAP, w->efi_size };
	struct map_hdr h;
	uint64_t n, off = w->efi_off;
	if (!map_entries(w, off, &t, sizeof(struct efi_desc), &h, &n))
		return;
	w->found |= MB2_HAVE_EFI_MMAP;
	for (uint64_t i = 0; i < n; i++) {
		struct efi_desc d;
		rd(w, off + 16 + i * h.entry_size, &d, sizeof d);
		if (d.pages >> (64 - EFI_PAGE_SHIFT)) {
			note(w, "EFI memory descriptor with an impossible page count skipped", t.type, off);
			continue;
		}
		struct mmap_entry e = { d.phys, d.pages << EFI_PAGE_SHIFT, efi_type(d.type) };
		if (!add_entry(w, e, t.type, off))
			return;
	}
}

// Tag 15 (ACPI 2.0+) wins over tag 14 (1.0), whichever comes first.
static void tag_rsdp(struct walk *w, uint64_t off, const struct tag *t)
{
	uint32_t len = t->type == TAG_ACPI_NEW ? RSDP_V2_LEN : RSDP_V1_LEN;
	if (t->size - 8 < len) {
		note(w, "ACPI RSDP tag too short for its RSDP skipped", t->type, off);
		return;
	}
	if (w->out->rsdp_len > len || (w->out->rsdp_len == len && t->type == TAG_ACPI_OLD))
		return;
	memset(w->out->rsdp, 0, sizeof w->out->rsdp);
	rd(w, off + 8, w->out->rsdp, len);
	w->out->rsdp_len = len;
	w->found |= MB2_HAVE_RSDP;
}

// One tag whose size is at least its header and within total_size.
static void tag_one(struct walk *w, uint64_t off, const struct tag *t)
{
	switch (t->type) {
	case TAG_CMDLINE:
		tag_cmdline(w, off, t);
		break;
	case TAG_MODULE:
		tag_module(w, off, t);
		break;
	case TAG_MMAP:
		tag_mmap(w, off, t);
		break;
	case TAG_ACPI_OLD:
	case TAG_ACPI_NEW:
		tag_rsdp(w, off, t);
		break;
	case TAG_EFI_MMAP:
		if (!w->efi_size)
			w->efi_off = off, w->efi_size = t->size;
		break;
	default: // boot loader name, framebuffer, ELF sections, ...: not ours to read
		break;
	}
}

// Walks the tags in [8, total). Ends at the end tag or the first broken link.
static void walk_tags(struct walk *w, uint32_t total)
{
	uint64_t off = 8;
	while (off + 8 <= total) {
		struct tag t;
		rd(w, off, &t, sizeof t);
		if (t.size < 8) {
			note(w, "tag shorter than its header: rest of the list ignored", t.type, off);
			return;
		}
		if (t.size > total - off) {
			note(w, "tag runs past total_size: rest of the list ignored", t.type, off);
			return;
		}
		if (t.type == TAG_END) {
			w->found |= MB2_HAVE_END;
			return;
		}
		tag_one(w, off, &t);
		off += ((uint64_t)t.size + 7) & ~7ull;
	}
	note(w, "no end tag before total_size", TAG_END, off);
}

int mb2_parse(const struct mb2_source *src, struct boot_info *out, unsigned *found)
{
	struct walk w = { .src = src, .out = out };
	uint32_t hdr[2];
	*found = 0;
	rd(&w, 0, hdr, sizeof hdr);
	if (hdr[0] < 16 || hdr[0] > MB2_MAX_SIZE) {
		note(&w, "total_size below 16 or above MB2_MAX_SIZE: information rejected", 0, 0);
		return E_INVAL;
	}
	walk_tags(&w, hdr[0]);
	if (!(w.found & MB2_HAVE_MMAP) && w.efi_size)
		parse_efi_mmap(&w);
	*found = w.found;
	if (out->nmmap == 0) {
		note(&w, "no memory map (tag 6, or the EFI map, tag 17)", TAG_MMAP, 0);
		return E_INVAL;
	}
	return E_OK;
}
