// test_multiboot2.c: host unit tests for kern/multiboot2.c, built against libc with
// Criterion. Each test builds a tag list the way GRUB lays one out (or a hostile one),
// parses it from a heap copy of exactly total_size bytes, and checks boot_info, the
// MB2_HAVE_ bits and the notes. The read callback fails the test on any read outside
// the copy, so "every size is checked first" is asserted, not assumed.
#define _POSIX_C_SOURCE 200809L // strnlen
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/errors.h"
#include "kern/multiboot2.h"

#define MAXBUF 65536

// A tag list under construction: b[0..len), total_size patched in by finish().
struct list {
	uint8_t b[MAXBUF];
	size_t len;
};

struct source_ctx {
	const uint8_t *buf;
	size_t len;
	int notes;
	char last[128];
};

struct parsed {
	struct boot_info bi;
	unsigned found;
	int err, notes;
	char last[128];
};

static void put(struct list *l, const void *p, size_t n)
{
	cr_assert_leq(l->len + n, MAXBUF);
	memcpy(l->b + l->len, p, n);
	l->len += n;
}

static void put32(struct list *l, uint32_t v) { put(l, &v, 4); }
static void put64(struct list *l, uint64_t v) { put(l, &v, 8); }
static void align8(struct list *l)
{
	while (l->len % 8)
		l->b[l->len++] = 0;
}

static void begin(struct list *l)
{
	memset(l, 0, sizeof *l);
	put32(l, 0); // total_size, set by finish()
	put32(l, 0);
}

// A tag of the given type with size = 8 + n and n payload bytes.
static void tag(struct list *l, uint32_t type, const void *payload, size_t n)
{
	put32(l, type);
	put32(l, (uint32_t)(8 + n));
	put(l, payload, n);
	align8(l);
}

static void tag_string(struct list *l, uint32_t type, const char *s) { tag(l, type, s, strlen(s) + 1); }

static void tag_module(struct list *l, uint32_t start, uint32_t end, const char *s)
{
	uint8_t p[256];
	size_t n = strlen(s) + 1;
	memcpy(p, &start, 4);
	memcpy(p + 4, &end, 4);
	memcpy(p + 8, s, n);
	tag(l, 3, p, 8 + n);
}

// Tag 6 with entry_size esz (>= 24: base, len, type, reserved, then padding).
static void tag_mmap(struct list *l, uint32_t esz, const struct mmap_entry *e, size_t n)
{
	put32(l, 6);
	put32(l, (uint32_t)(16 + n * esz));
	put32(l, esz);
	put32(l, 0);
	for (size_t i = 0; i < n; i++) {
		uint8_t ent[64] = { 0 };
		memcpy(ent, &e[i].base, 8);
		memcpy(ent + 8, &e[i].len, 8);
		memcpy(ent + 16, &e[i].type, 4);
		put(l, ent, esz);
	}
	align8(l);
}

struct efi_d {
	uint32_t type;
	uint64_t phys, pages;
};

static void tag_efi_mmap(struct list *l, const struct efi_d *d, size_t n)
{
	put32(l, 17);
	put32(l, (uint32_t)(16 + n * 48));
	put32(l, 48); // descriptor size as OVMF reports it: larger than the struct
	put32(l, 1);
	for (size_t i = 0; i < n; i++) {
		put32(l, d[i].type);
		put32(l, 0);
		put64(l, d[i].phys);
		put64(l, 0);
		put64(l, d[i].pages);
		put64(l, 0xf);
		put64(l, 0); // padding to 48
	}
	align8(l);
}

static void tag_rsdp(struct list *l, int v2)
{
	uint8_t r[36] = "RSD PTR ";
	r[15] = v2 ? 2 : 0;
	r[9] = 'Q';
	tag(l, v2 ? 15 : 14, r, v2 ? 36 : 20);
}

static void tag_end(struct list *l) { put32(l, 0), put32(l, 8); }

static void finish(struct list *l) { memcpy(l->b, &(uint32_t){ (uint32_t)l->len }, 4); }

static void rd(void *ctx, uint64_t off, void *dst, size_t n)
{
	struct source_ctx *c = ctx;
	cr_assert(off <= c->len && n <= c->len - off, "read of %zu bytes at %lu outside the %zu-byte list",
		  n, (unsigned long)off, c->len);
	memcpy(dst, c->buf + off, n);
}

static void note(void *ctx, const char *what, uint32_t type, uint64_t off)
{
	struct source_ctx *c = ctx;
	c->notes++;
	snprintf(c->last, sizeof c->last, "%s (type %u at %lu)", what, type, (unsigned long)off);
}

// Parses bytes [0, len) from a heap copy of exactly len bytes.
static void parse_bytes(const void *bytes, size_t len, struct parsed *p)
{
	uint8_t *copy = malloc(len);
	memcpy(copy, bytes, len);
	struct source_ctx c = { copy, len, 0, "" };
	const struct mb2_source src = { rd, note, &c };
	memset(p, 0, sizeof *p);
	p->err = mb2_parse(&src, &p->bi, &p->found);
	p->notes = c.notes;
	memcpy(p->last, c.last, sizeof p->last);
	free(copy);
}

static void parse(struct list *l, struct parsed *p)
{
	finish(l);
	parse_bytes(l->b, l->len, p);
}

static const struct mmap_entry qemu_map[] = {
	{ 0, 0x9fc00, 1 }, { 0x9fc00, 0x400, 2 }, { 0xf0000, 0x10000, 2 }, { 0x100000, 0x1fee0000, 1 },
};
#define NQ (sizeof qemu_map / sizeof qemu_map[0])

// A list as GRUB builds it: a command line, two modules, the memory map, the RSDP.
static void grub_like(struct list *l)
{
	begin(l);
	tag_string(l, 1, "mode=demo ktest=x");
	tag_string(l, 2, "GRUB 2.06"); // boot loader name: not ours, skipped
	tag_module(l, 0x200000, 0x201234, "boot.cpio");
	tag_module(l, 0x202000, 0x202000, "empty arg1 arg2");
	tag_mmap(l, 24, qemu_map, NQ);
	tag_rsdp(l, 1);
}

Test(multiboot2, grub_like_list_parses)
{
	struct list l;
	struct parsed p;
	grub_like(&l);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.notes, 0, "unexpected note: %s", p.last);
	cr_assert_eq(p.found, MB2_HAVE_CMDLINE | MB2_HAVE_MODS | MB2_HAVE_MMAP | MB2_HAVE_RSDP | MB2_HAVE_END);
	cr_assert_str_eq(p.bi.cmdline, "mode=demo ktest=x");
	cr_assert_eq(p.bi.nmods, 2);
	cr_assert_eq(p.bi.mods[0].start, 0x200000);
	cr_assert_eq(p.bi.mods[0].end, 0x201234);
	cr_assert_str_eq(p.bi.mods[0].name, "boot.cpio");
	cr_assert_str_eq(p.bi.mods[1].name, "empty arg1 arg2");
	cr_assert_eq(p.bi.nmmap, NQ);
	for (size_t i = 0; i < NQ; i++) {
		cr_assert_eq(p.bi.mmap[i].base, qemu_map[i].base);
		cr_assert_eq(p.bi.mmap[i].len, qemu_map[i].len);
		cr_assert_eq(p.bi.mmap[i].type, qemu_map[i].type);
	}
	cr_assert_eq(p.bi.rsdp_len, 36);
	cr_assert_eq(memcmp(p.bi.rsdp, "RSD PTR ", 8), 0);
	cr_assert_eq(p.bi.rsdp[15], 2);
}

Test(multiboot2, missing_tags_are_reported_in_found)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.found, MB2_HAVE_MMAP | MB2_HAVE_END);
	cr_assert_str_eq(p.bi.cmdline, "");
	cr_assert_eq(p.bi.nmods, 0);
	cr_assert_eq(p.bi.rsdp_len, 0);
}

Test(multiboot2, larger_mmap_entry_size_is_honoured)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 40, qemu_map, NQ);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.bi.nmmap, NQ);
	cr_assert_eq(p.bi.mmap[3].base, 0x100000);
	cr_assert_eq(p.bi.mmap[3].len, 0x1fee0000);
}

static const struct efi_d ovmf_map[] = {
	{ 7, 0, 0xa0 },           // conventional
	{ 4, 0x100000, 0x700 },   // boot services data
	{ 2, 0x800000, 0x10 },    // loader data
	{ 9, 0x900000, 0x1 },     // ACPI reclaim
	{ 10, 0x901000, 0x1 },    // ACPI NVS
	{ 6, 0x902000, 0x2 },     // runtime services data
	{ 11, 0xffc00000, 0x400 }, // MMIO
};
#define NO (sizeof ovmf_map / sizeof ovmf_map[0])

Test(multiboot2, efi_map_converted_when_no_mmap_tag)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_efi_mmap(&l, ovmf_map, NO);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.found, MB2_HAVE_EFI_MMAP | MB2_HAVE_END);
	cr_assert_eq(p.bi.nmmap, NO);
	const uint32_t want[NO] = { 1, 1, 1, 3, 4, 2, 2 };
	for (size_t i = 0; i < NO; i++) {
		cr_assert_eq(p.bi.mmap[i].type, want[i], "descriptor %zu type %u", i, p.bi.mmap[i].type);
		cr_assert_eq(p.bi.mmap[i].base, ovmf_map[i].phys);
		cr_assert_eq(p.bi.mmap[i].len, ovmf_map[i].pages << 12);
	}
}

Test(multiboot2, efi_map_ignored_when_mmap_tag_present)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_efi_mmap(&l, ovmf_map, NO); // before tag 6: still not used
	tag_mmap(&l, 24, qemu_map, NQ);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.found, MB2_HAVE_MMAP | MB2_HAVE_END);
	cr_assert_eq(p.bi.nmmap, NQ);
	cr_assert_eq(p.bi.mmap[1].type, 2);
}

Test(multiboot2, efi_descriptor_with_impossible_page_count_is_skipped)
{
	struct list l;
	struct parsed p;
	const struct efi_d d[] = { { 7, 0x100000, 1ull << 52 }, { 7, 0x200000, 0x10 } };
	begin(&l);
	tag_efi_mmap(&l, d, 2);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.bi.nmmap, 1);
	cr_assert_eq(p.bi.mmap[0].base, 0x200000);
	cr_assert_eq(p.notes, 1);
}

Test(multiboot2, new_rsdp_wins_over_old_in_either_order)
{
	for (int order = 0; order < 2; order++) {
		struct list l;
		struct parsed p;
		begin(&l);
		tag_mmap(&l, 24, qemu_map, NQ);
		tag_rsdp(&l, order);
		tag_rsdp(&l, !order);
		tag_end(&l);
		parse(&l, &p);
		cr_assert_eq(p.err, E_OK);
		cr_assert_eq(p.bi.rsdp_len, 36, "order %d", order);
		cr_assert_eq(p.bi.rsdp[15], 2);
	}
}

Test(multiboot2, old_rsdp_alone_is_kept)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	tag_rsdp(&l, 0);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.bi.rsdp_len, 20);
	cr_assert(p.found & MB2_HAVE_RSDP);
	for (size_t i = 20; i < 36; i++)
		cr_assert_eq(p.bi.rsdp[i], 0);
}

Test(multiboot2, short_rsdp_tag_fails_to_count)
{
	struct list l;
	struct parsed p;
	uint8_t r[35] = "RSD PTR ";
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	tag(&l, 15, r, sizeof r);
	tag(&l, 14, r, 19);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.bi.rsdp_len, 0);
	cr_assert_eq(p.notes, 2);
	cr_assert_not(p.found & MB2_HAVE_RSDP);
}

Test(multiboot2, total_size_out_of_range_fails)
{
	const uint32_t sizes[] = { 0, 8, 15, MB2_MAX_SIZE + 1, UINT32_MAX };
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		uint32_t hdr[4] = { sizes[i], 0, 0, 8 };
		struct parsed p;
		parse_bytes(hdr, sizeof hdr, &p);
		cr_assert_eq(p.err, E_INVAL, "total_size %u", sizes[i]);
		cr_assert_eq(p.notes, 1);
		cr_assert_eq(p.found, 0);
	}
}

Test(multiboot2, no_memory_map_fails)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_string(&l, 1, "mode=demo");
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_INVAL);
	cr_assert(strstr(p.last, "no memory map"), "%s", p.last);
}

Test(multiboot2, mmap_entries_too_small_fails)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 16, qemu_map, NQ); // entry_size below 24
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_INVAL);
	cr_assert_eq(p.bi.nmmap, 0);
	cr_assert_eq(p.notes, 2); // the tag, then "no memory map"
}

Test(multiboot2, mmap_zero_entry_size_fails)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	memset(l.b + 8 + 8, 0, 4); // entry_size 0: a division by zero if unchecked
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_INVAL);
}

Test(multiboot2, mmap_entries_beyond_capacity_are_dropped)
{
	static struct mmap_entry many[BOOT_MAX_MMAP + 5];
	for (size_t i = 0; i < BOOT_MAX_MMAP + 5; i++)
		many[i] = (struct mmap_entry){ i * 0x10000, 0x10000, 1 };
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, many, BOOT_MAX_MMAP + 5);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.bi.nmmap, BOOT_MAX_MMAP);
	cr_assert_eq(p.notes, 1);
	cr_assert_eq(p.bi.mmap[BOOT_MAX_MMAP - 1].base, (BOOT_MAX_MMAP - 1) * 0x10000ull);
}

Test(multiboot2, second_mmap_and_cmdline_tags_are_ignored)
{
	struct list l;
	struct parsed p;
	const struct mmap_entry other[] = { { 0, 0x1000, 1 } };
	begin(&l);
	tag_string(&l, 1, "first");
	tag_mmap(&l, 24, qemu_map, NQ);
	tag_string(&l, 1, "second");
	tag_mmap(&l, 24, other, 1);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_str_eq(p.bi.cmdline, "first");
	cr_assert_eq(p.bi.nmmap, NQ);
	cr_assert_eq(p.notes, 2);
}

Test(multiboot2, tag_shorter_than_its_header_ends_the_walk)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	put32(&l, 1);
	put32(&l, 4); // size 4: the next tag would overlap this one
	put32(&l, 0);
	put32(&l, 0);
	tag_string(&l, 1, "never read");
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK); // what came before is kept
	cr_assert_eq(p.bi.nmmap, NQ);
	cr_assert_str_eq(p.bi.cmdline, "");
	cr_assert_eq(p.notes, 1);
	cr_assert(strstr(p.last, "shorter than its header"), "%s", p.last);
	cr_assert_not(p.found & MB2_HAVE_END);
}

Test(multiboot2, tag_running_past_total_size_ends_the_walk)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	size_t at = l.len;
	tag_string(&l, 1, "cut short");
	tag_end(&l);
	memcpy(l.b + at + 4, &(uint32_t){ 0xfffffff0 }, 4);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_str_eq(p.bi.cmdline, "");
	cr_assert(strstr(p.last, "past total_size"), "%s", p.last);
}

Test(multiboot2, mmap_tag_claiming_more_than_total_size_ends_the_walk)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	memcpy(l.b + 8 + 4, &(uint32_t){ 16 + 1000 * 24 }, 4);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_INVAL); // the only map was in the broken tag
	cr_assert_eq(p.bi.nmmap, 0);
}

Test(multiboot2, missing_end_tag_is_noted)
{
	struct list l;
	struct parsed p;
	grub_like(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.notes, 1);
	cr_assert(strstr(p.last, "no end tag"), "%s", p.last);
	cr_assert_not(p.found & MB2_HAVE_END);
}

Test(multiboot2, tags_after_the_end_tag_are_not_read)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	tag_end(&l);
	tag_string(&l, 1, "after the end");
	parse(&l, &p);
	cr_assert_str_eq(p.bi.cmdline, "");
	cr_assert_eq(p.notes, 0);
}

Test(multiboot2, long_strings_are_cut_and_terminated)
{
	char big[600];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	tag_string(&l, 1, big);
	tag_module(&l, 0x200000, 0x300000, big + 400);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(strlen(p.bi.cmdline), sizeof p.bi.cmdline - 1);
	cr_assert_eq(strlen(p.bi.mods[0].name), sizeof p.bi.mods[0].name - 1);
}

Test(multiboot2, unterminated_string_ends_at_its_tag)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	tag(&l, 1, "abc", 3); // no NUL inside the tag; padding follows
	put32(&l, 2);         // the next tag's bytes must not join the string
	put32(&l, 16);
	put(&l, "XXXXXXXX", 8);
	tag_end(&l);
	parse(&l, &p);
	cr_assert_str_eq(p.bi.cmdline, "abc");
}

Test(multiboot2, bad_modules_are_skipped)
{
	struct list l;
	struct parsed p;
	uint32_t short_mod[1] = { 0x200000 };
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	tag_module(&l, 0x300000, 0x200000, "backwards");
	tag(&l, 3, short_mod, sizeof short_mod);
	tag_module(&l, 0x400000, 0x401000, "good");
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.bi.nmods, 1);
	cr_assert_str_eq(p.bi.mods[0].name, "good");
	cr_assert_eq(p.notes, 2);
}

Test(multiboot2, modules_beyond_capacity_are_dropped)
{
	struct list l;
	struct parsed p;
	begin(&l);
	tag_mmap(&l, 24, qemu_map, NQ);
	for (uint32_t i = 0; i < BOOT_MAX_MODS + 3; i++)
		tag_module(&l, 0x200000 + i * 0x1000, 0x201000 + i * 0x1000, "m");
	tag_end(&l);
	parse(&l, &p);
	cr_assert_eq(p.err, E_OK);
	cr_assert_eq(p.bi.nmods, BOOT_MAX_MODS);
	cr_assert_eq(p.notes, 3);
}

// Random corruption of a good list: never a read outside it (rd asserts), strings
// always terminated, counts within boot_info's arrays.
Test(multiboot2, corrupted_lists_never_read_out_of_bounds)
{
	struct list good, l;
	grub_like(&good);
	tag_efi_mmap(&good, ovmf_map, NO);
	tag_end(&good);
	finish(&good);
	srand(11);
	for (int iter = 0; iter < 5000; iter++) {
		l = good;
		int flips = 1 + rand() % 8;
		for (int k = 0; k < flips; k++) {
			size_t at = 4 + (size_t)rand() % (l.len - 4); // keep total_size, mostly
			l.b[at] = (uint8_t)rand();
		}
		struct parsed p;
		parse_bytes(l.b, l.len, &p);
		cr_assert(p.err == E_OK || p.err == E_INVAL);
		cr_assert_leq(p.bi.nmmap, BOOT_MAX_MMAP);
		cr_assert_leq(p.bi.nmods, BOOT_MAX_MODS);
		cr_assert_leq(p.bi.rsdp_len, 36);
		cr_assert_lt(strnlen(p.bi.cmdline, sizeof p.bi.cmdline), sizeof p.bi.cmdline);
		for (size_t i = 0; i < p.bi.nmods; i++) {
			cr_assert_lt(strnlen(p.bi.mods[i].name, sizeof p.bi.mods[i].name), sizeof p.bi.mods[i].name);
			cr_assert_leq(p.bi.mods[i].start, p.bi.mods[i].end);
		}
	}
}
