// test_elf.c: host unit tests for kern/elf.c, built against libc with Criterion.
// Each test builds a small valid static executable in memory (glibc's <elf.h>
// describes the layout here, so the module's own structs are checked against it),
// breaks one thing and expects that rule's error. Images are parsed from a heap
// copy of exactly len bytes, so an over-read lands outside the allocation.
#include <criterion/criterion.h>
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include "lib/elf.h"

#define PG      0x1000ull
#define IMG_LEN 0x2080u  // headers page, text page, 0x80 bytes of data

// The base image, like a small `ld -static` output:
//   [0] PT_LOAD      R   off 0x0000 va 0x400000 filesz 0x200 memsz 0x200   (ELF headers)
//   [1] PT_LOAD      R X off 0x1000 va 0x401000 filesz 0x100 memsz 0x100   (text)
//   [2] PT_LOAD      RW  off 0x2000 va 0x402000 filesz 0x080 memsz 0x3000  (data + bss)
//   [3] PT_NOTE      R   off 0x0200 filesz 0x20
//   [4] PT_GNU_STACK RW
// entry 0x401010. The buffer has room for 65 program headers below 0x1000.
#define NPH      5
#define HDR_VA   0x400000ull
#define TEXT_VA  0x401000ull
#define DATA_VA  0x402000ull
#define ENTRY    (TEXT_VA + 0x10)
#define PH_END   (sizeof(Elf64_Ehdr) + NPH * sizeof(Elf64_Phdr))  // end of the base headers

struct img {
	unsigned char *b;  // calloc'd, so the header casts below are aligned
	size_t len;
};

static Elf64_Ehdr *eh(struct img *m)
{
	return (Elf64_Ehdr *)m->b;
}

static Elf64_Phdr *ph(struct img *m, unsigned i)
{
	return (Elf64_Phdr *)(m->b + eh(m)->e_phoff) + i;
}

static void set_ph(struct img *m, unsigned i, uint32_t type, uint32_t flags, uint64_t off,
                   uint64_t va, uint64_t filesz, uint64_t memsz)
{
	*ph(m, i) = (Elf64_Phdr){ .p_type = type, .p_flags = flags, .p_offset = off,
	                          .p_vaddr = va, .p_paddr = va, .p_filesz = filesz,
	                          .p_memsz = memsz, .p_align = type == PT_LOAD ? PG : 8 };
}

static struct img make_img(void)
{
	struct img m = { calloc(1, IMG_LEN), IMG_LEN };
	cr_assert_not_null(m.b);
	Elf64_Ehdr *e = eh(&m);
	memcpy(e->e_ident, ELFMAG, SELFMAG);
	e->e_ident[EI_CLASS] = ELFCLASS64;
	e->e_ident[EI_DATA] = ELFDATA2LSB;
	e->e_ident[EI_VERSION] = EV_CURRENT;
	e->e_ident[EI_OSABI] = ELFOSABI_SYSV;
	e->e_type = ET_EXEC;
	e->e_machine = EM_X86_64;
	e->e_version = EV_CURRENT;
	e->e_entry = ENTRY;
	e->e_phoff = sizeof(Elf64_Ehdr);
	e->e_ehsize = sizeof(Elf64_Ehdr);
	e->e_phentsize = sizeof(Elf64_Phdr);
	e->e_phnum = NPH;
	set_ph(&m, 0, PT_LOAD, PF_R, 0, HDR_VA, 0x200, 0x200);
	set_ph(&m, 1, PT_LOAD, PF_R | PF_X, 0x1000, TEXT_VA, 0x100, 0x100);
	set_ph(&m, 2, PT_LOAD, PF_R | PF_W, 0x2000, DATA_VA, 0x80, 0x3000);
	set_ph(&m, 3, PT_NOTE, PF_R, 0x200, 0, 0x20, 0x20);
	set_ph(&m, 4, PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0);
	ph(&m, 4)->p_align = 16;
	memset(m.b + 0x1000, 0x90, 0x100);  // nops, for looks
	memset(m.b + 0x2000, 0x5a, 0x80);
	return m;
}

// Parses b[0, len) from an exact-size heap copy. why is always checked against rc.
static int parse(const void *b, size_t len, struct elf_info *out, const char **why)
{
	unsigned char *copy = malloc(len ? len : 1);
	cr_assert_not_null(copy);
	memcpy(copy, b, len);
	memset(out, 0xa5, sizeof *out);
	int rc = elf_parse_why(copy, len, out, why);
	if (rc == E_OK)
		cr_assert_null(*why, "E_OK but why = \"%s\"", *why);
	else
		cr_assert_not_null(*why, "error %d without a reason", rc);
	struct elf_info again;
	cr_assert_eq(elf_parse(copy, len, &again), rc, "elf_parse and elf_parse_why disagree");
	free(copy);
	return rc;
}

static void expect_ok(struct img *m, struct elf_info *out)
{
	const char *why;
	int rc = parse(m->b, m->len, out, &why);
	cr_assert_eq(rc, E_OK, "rc %d: %s", rc, why ? why : "?");
}

// Expects error code with a reason containing word; frees the image.
static void expect_fail(struct img *m, int code, const char *word)
{
	struct elf_info out;
	const char *why;
	int rc = parse(m->b, m->len, &out, &why);
	cr_assert_eq(rc, code, "want %d, got %d (%s)", code, rc, why ? why : "ok");
	cr_assert_not_null(strstr(why, word), "reason \"%s\" lacks \"%s\"", why, word);
	free(m->b);
}

static void check_seg(const struct elf_seg *s, uint64_t va, uint64_t memsz, uint64_t filesz,
                      uint64_t off, uint32_t prot)
{
	cr_assert_eq(s->va, va, "va %#lx want %#lx", s->va, va);
	cr_assert_eq(s->memsz, memsz);
	cr_assert_eq(s->filesz, filesz);
	cr_assert_eq(s->off, off);
	cr_assert_eq(s->prot, prot, "prot %#x want %#x", s->prot, prot);
}

static bool same_info(const struct elf_info *a, const struct elf_info *b)
{
	if (a->entry != b->entry || a->nseg != b->nseg)
		return false;
	for (uint32_t i = 0; i < a->nseg; i++) {
		const struct elf_seg *x = &a->seg[i], *y = &b->seg[i];
		if (x->va != y->va || x->memsz != y->memsz || x->filesz != y->filesz ||
		    x->off != y->off || x->prot != y->prot)
			return false;
	}
	return true;
}

// Everything elf.h promises after E_OK, checked from scratch.
static void check_invariants(const struct elf_info *in, size_t len)
{
	cr_assert(in->nseg >= 1 && in->nseg <= ELF_MAX_SEGS, "nseg %u", in->nseg);
	bool entry_in_exec = false;
	for (uint32_t i = 0; i < in->nseg; i++) {
		const struct elf_seg *s = &in->seg[i];
		cr_assert_gt(s->memsz, 0);
		cr_assert_leq(s->filesz, s->memsz);
		cr_assert(s->off <= len && s->filesz <= len - s->off, "file bytes past len");
		cr_assert_eq(s->va % PG, s->off % PG);
		cr_assert(s->va >= USER_BASE && s->va < USER_TOP && s->memsz <= USER_TOP - s->va,
		          "segment %#lx+%#lx outside user space", s->va, s->memsz);
		cr_assert(s->prot & PROT_READ);
		cr_assert_eq(s->prot & ~PROT_ALL, 0);
		cr_assert(!((s->prot & PROT_WRITE) && (s->prot & PROT_EXEC)), "W^X");
		if ((s->prot & PROT_EXEC) && in->entry >= s->va && in->entry - s->va < s->memsz)
			entry_in_exec = true;
		uint64_t lo = s->va / PG, hi = (s->va + s->memsz + PG - 1) / PG;
		for (uint32_t j = 0; j < i; j++) {
			const struct elf_seg *t = &in->seg[j];
			uint64_t tlo = t->va / PG, thi = (t->va + t->memsz + PG - 1) / PG;
			cr_assert(hi <= tlo || thi <= lo, "segments %u and %u share a page", i, j);
		}
	}
	cr_assert(entry_in_exec, "entry %#lx not in an executable segment", in->entry);
}

// Appends n small R-only PT_LOADs in fresh pages from 0x500000, after the base headers.
static void add_loads(struct img *m, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		set_ph(m, NPH + k, PT_LOAD, PF_R, 0, 0x500000 + k * PG, 0x10, 0x10);
	eh(m)->e_phnum = NPH + n;
}

// --- valid images ---

Test(elf, base_image_parses)
{
	struct img m = make_img();
	struct elf_info in;
	expect_ok(&m, &in);
	cr_assert_eq(in.entry, ENTRY);
	cr_assert_eq(in.nseg, 3);
	check_seg(&in.seg[0], HDR_VA, 0x200, 0x200, 0, PROT_READ);
	check_seg(&in.seg[1], TEXT_VA, 0x100, 0x100, 0x1000, PROT_READ | PROT_EXEC);
	check_seg(&in.seg[2], DATA_VA, 0x3000, 0x80, 0x2000, PROT_READ | PROT_WRITE);
	check_invariants(&in, m.len);
	free(m.b);
}

Test(elf, struct_layouts_match_glibc)
{
	// The module's private structs are asserted at 64 and 56 bytes; so are glibc's.
	cr_assert_eq(sizeof(Elf64_Ehdr), 64);
	cr_assert_eq(sizeof(Elf64_Phdr), 56);
}

Test(elf, unaligned_image_parses_the_same)
{
	struct img m = make_img();
	struct elf_info want, got;
	expect_ok(&m, &want);
	unsigned char *buf = malloc(IMG_LEN + 8);
	for (size_t k = 1; k < 8; k++) {
		memcpy(buf + k, m.b, IMG_LEN);
		cr_assert_eq(elf_parse(buf + k, IMG_LEN, &got), E_OK, "offset %zu", k);
		cr_assert(same_info(&want, &got), "offset %zu parses differently", k);
	}
	eh(&m)->e_phoff = 0x101;  // the program headers themselves unaligned in the image
	memmove(m.b + 0x101, m.b + sizeof(Elf64_Ehdr), NPH * sizeof(Elf64_Phdr));
	expect_ok(&m, &got);
	cr_assert(same_info(&want, &got));
	free(buf);
	free(m.b);
}

Test(elf, flags_map_to_prot_and_read_is_implied)
{
	struct img m = make_img();
	struct elf_info in;
	ph(&m, 1)->p_flags = PF_X;           // execute-only text
	ph(&m, 2)->p_flags = PF_W;           // write-only data
	ph(&m, 0)->p_flags = 0;              // no flags at all
	expect_ok(&m, &in);
	cr_assert_eq(in.seg[0].prot, PROT_READ);
	cr_assert_eq(in.seg[1].prot, PROT_READ | PROT_EXEC);
	cr_assert_eq(in.seg[2].prot, PROT_READ | PROT_WRITE);
	ph(&m, 1)->p_flags = PF_R | PF_X | PF_MASKOS | PF_MASKPROC;  // unknown bits ignored
	expect_ok(&m, &in);
	cr_assert_eq(in.seg[1].prot, PROT_READ | PROT_EXEC);
	free(m.b);
}

Test(elf, other_header_types_are_ignored)
{
	uint32_t types[] = { PT_NULL, PT_NOTE, PT_SHLIB, PT_PHDR, PT_TLS, PT_GNU_EH_FRAME,
	                     PT_GNU_STACK, PT_GNU_RELRO, PT_GNU_PROPERTY, 0x12345678, 0xffffffff };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		struct img m = make_img();
		struct elf_info in;
		// Garbage fields that would fail every PT_LOAD check.
		set_ph(&m, 3, types[i], PF_W | PF_X, UINT64_MAX, 0, UINT64_MAX, 1);
		ph(&m, 3)->p_align = 3;
		expect_ok(&m, &in);
		cr_assert_eq(in.nseg, 3, "type %#x", types[i]);
		free(m.b);
	}
}

Test(elf, single_segment_image_parses)
{
	struct img m = make_img();
	struct elf_info in;
	ph(&m, 0)->p_type = PT_NULL;
	ph(&m, 2)->p_type = PT_NULL;
	expect_ok(&m, &in);
	cr_assert_eq(in.nseg, 1);
	check_seg(&in.seg[0], TEXT_VA, 0x100, 0x100, 0x1000, PROT_READ | PROT_EXEC);
	free(m.b);
}

Test(elf, bss_only_segment_parses)
{
	struct img m = make_img();
	struct elf_info in;
	add_loads(&m, 1);
	set_ph(&m, NPH, PT_LOAD, PF_R | PF_W, IMG_LEN, 0x410000 + IMG_LEN % PG, 0, 0x5000);
	expect_ok(&m, &in);  // offset == len is fine when nothing is read
	check_seg(&in.seg[3], 0x410080, 0x5000, 0, IMG_LEN, PROT_READ | PROT_WRITE);
	free(m.b);
}

Test(elf, entry_at_both_ends_of_text_parses)
{
	struct img m = make_img();
	struct elf_info in;
	eh(&m)->e_entry = TEXT_VA;
	expect_ok(&m, &in);
	eh(&m)->e_entry = TEXT_VA + 0xff;
	expect_ok(&m, &in);
	ph(&m, 1)->p_memsz = 0x1000;  // entry in the zero-filled tail still counts as loaded
	eh(&m)->e_entry = TEXT_VA + 0xfff;
	expect_ok(&m, &in);
	free(m.b);
}

Test(elf, sixteen_loads_parse)
{
	struct img m = make_img();
	struct elf_info in;
	add_loads(&m, ELF_MAX_SEGS - 3);
	expect_ok(&m, &in);
	cr_assert_eq(in.nseg, ELF_MAX_SEGS);
	check_invariants(&in, m.len);
	free(m.b);
}

Test(elf, sixty_four_headers_parse)
{
	struct img m = make_img();
	struct elf_info in;
	eh(&m)->e_phnum = ELF_MAX_PHDRS;  // the rest are zero: PT_NULL
	expect_ok(&m, &in);
	cr_assert_eq(in.nseg, 3);
	free(m.b);
}

Test(elf, segments_at_the_user_bounds_parse)
{
	struct img m = make_img();
	struct elf_info in;
	ph(&m, 0)->p_vaddr = USER_BASE;
	ph(&m, 2)->p_vaddr = USER_TOP - 0x3000;  // ends exactly at USER_TOP
	expect_ok(&m, &in);
	check_invariants(&in, m.len);
	free(m.b);
}

Test(elf, segments_in_neighbouring_pages_parse)
{
	struct img m = make_img();
	struct elf_info in;
	ph(&m, 1)->p_memsz = 0x1000;  // text fills its page; data starts on the next
	ph(&m, 0)->p_memsz = 0x1000;
	expect_ok(&m, &in);
	check_invariants(&in, m.len);
	free(m.b);
}

Test(elf, powers_of_two_alignment_parse)
{
	uint64_t ok[] = { 0, 1, 2, 8, PG, 0x200000, 1ull << 63 };
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		struct img m = make_img();
		struct elf_info in;
		ph(&m, 1)->p_align = ok[i];
		expect_ok(&m, &in);
		free(m.b);
	}
}

// --- ELF header rules ---

Test(elf, short_image_fails)
{
	struct img m = make_img();
	size_t lens[] = { 0, 1, 4, sizeof(Elf64_Ehdr) - 1 };
	struct elf_info in;
	const char *why;
	for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		cr_assert_eq(parse(m.b, lens[i], &in, &why), E_INVAL, "len %zu", lens[i]);
		cr_assert_not_null(strstr(why, "shorter"));
	}
	cr_assert_eq(elf_parse(NULL, 0, &in), E_INVAL);
	free(m.b);
}

Test(elf, bad_magic_fails)
{
	for (int i = 0; i < SELFMAG; i++) {
		struct img m = make_img();
		m.b[i] ^= 0x20;
		expect_fail(&m, E_INVAL, "magic");
	}
}

Test(elf, elfclass32_fails)
{
	struct img m = make_img();
	m.b[EI_CLASS] = ELFCLASS32;
	expect_fail(&m, E_INVAL, "EI_CLASS");
	m = make_img();
	m.b[EI_CLASS] = ELFCLASSNONE;
	expect_fail(&m, E_INVAL, "EI_CLASS");
}

Test(elf, big_endian_fails)
{
	struct img m = make_img();
	m.b[EI_DATA] = ELFDATA2MSB;
	expect_fail(&m, E_INVAL, "EI_DATA");
	m = make_img();
	m.b[EI_DATA] = ELFDATANONE;
	expect_fail(&m, E_INVAL, "EI_DATA");
}

Test(elf, ident_version_fails)
{
	struct img m = make_img();
	m.b[EI_VERSION] = 2;
	expect_fail(&m, E_INVAL, "EI_VERSION");
	m = make_img();
	m.b[EI_VERSION] = EV_NONE;
	expect_fail(&m, E_INVAL, "EI_VERSION");
}

Test(elf, not_et_exec_fails)
{
	uint16_t types[] = { ET_NONE, ET_REL, ET_DYN, ET_CORE, 0xfe00, 0xffff };
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
		struct img m = make_img();
		eh(&m)->e_type = types[i];
		expect_fail(&m, E_INVAL, "ET_EXEC");
	}
}

Test(elf, wrong_machine_fails)
{
	uint16_t machines[] = { EM_NONE, EM_386, EM_AARCH64, EM_RISCV, EM_X86_64 + 256 };
	for (size_t i = 0; i < sizeof machines / sizeof machines[0]; i++) {
		struct img m = make_img();
		eh(&m)->e_machine = machines[i];
		expect_fail(&m, E_INVAL, "e_machine");
	}
}

Test(elf, header_version_fails)
{
	struct img m = make_img();
	eh(&m)->e_version = 0;
	expect_fail(&m, E_INVAL, "e_version");
	m = make_img();
	eh(&m)->e_version = 2;
	expect_fail(&m, E_INVAL, "e_version");
}

Test(elf, ehsize_fails)
{
	struct img m = make_img();
	eh(&m)->e_ehsize = 52;  // the ELF32 size
	expect_fail(&m, E_INVAL, "e_ehsize");
	m = make_img();
	eh(&m)->e_ehsize = 65;
	expect_fail(&m, E_INVAL, "e_ehsize");
}

Test(elf, phentsize_fails)
{
	struct img m = make_img();
	eh(&m)->e_phentsize = 32;  // the ELF32 size
	expect_fail(&m, E_INVAL, "e_phentsize");
	m = make_img();
	eh(&m)->e_phentsize = 64;
	expect_fail(&m, E_INVAL, "e_phentsize");
}

Test(elf, no_program_headers_fails)
{
	struct img m = make_img();
	eh(&m)->e_phnum = 0;
	expect_fail(&m, E_INVAL, "e_phnum");
}

Test(elf, sixty_five_headers_fails)
{
	struct img m = make_img();
	eh(&m)->e_phnum = ELF_MAX_PHDRS + 1;
	expect_fail(&m, E_INVAL, "e_phnum");
	m = make_img();
	eh(&m)->e_phnum = PN_XNUM;  // the "real count is in section 0" escape: not supported
	expect_fail(&m, E_INVAL, "e_phnum");
}

Test(elf, program_headers_past_the_end_fails)
{
	struct img m = make_img();
	eh(&m)->e_phoff = IMG_LEN - NPH * sizeof(Elf64_Phdr) + 1;  // last byte one past len
	expect_fail(&m, E_INVAL, "program headers");
	m = make_img();
	eh(&m)->e_phoff = IMG_LEN + 1;
	expect_fail(&m, E_INVAL, "program headers");
	m = make_img();
	m.len = PH_END - 1;  // the table itself truncated
	expect_fail(&m, E_INVAL, "program headers");
}

Test(elf, program_header_offset_overflow_fails)
{
	uint64_t offs[] = { UINT64_MAX, UINT64_MAX - 55, UINT64_MAX - NPH * 56 + 1, 1ull << 63 };
	for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
		struct img m = make_img();
		eh(&m)->e_phoff = offs[i];
		expect_fail(&m, E_INVAL, "program headers");
	}
}

Test(elf, program_headers_end_exactly_at_len_parse)
{
	struct img m = make_img();
	struct elf_info in;
	m.len = PH_END;  // only the headers: segments past len must then fail, so trim them
	ph(&m, 1)->p_offset = 0;
	ph(&m, 1)->p_filesz = 0;
	ph(&m, 2)->p_offset = 0;
	ph(&m, 2)->p_filesz = 0;
	ph(&m, 0)->p_filesz = PH_END;
	expect_ok(&m, &in);
	free(m.b);
}

// --- program header rules ---

Test(elf, dynamic_segment_fails)
{
	struct img m = make_img();
	set_ph(&m, 3, PT_DYNAMIC, PF_R | PF_W, 0x2000, DATA_VA, 0x10, 0x10);
	expect_fail(&m, E_INVAL, "PT_DYNAMIC");
}

Test(elf, interp_segment_fails)
{
	struct img m = make_img();
	set_ph(&m, 3, PT_INTERP, PF_R, 0x200, HDR_VA + 0x200, 0x1c, 0x1c);
	expect_fail(&m, E_INVAL, "PT_INTERP");
}

Test(elf, seventeen_loads_fails)
{
	struct img m = make_img();
	add_loads(&m, ELF_MAX_SEGS - 2);
	expect_fail(&m, E_RANGE, "ELF_MAX_SEGS");
}

Test(elf, no_loads_fails)
{
	struct img m = make_img();
	for (unsigned i = 0; i < 3; i++)
		ph(&m, i)->p_type = PT_NULL;
	expect_fail(&m, E_INVAL, "no PT_LOAD");
}

Test(elf, filesz_above_memsz_fails)
{
	struct img m = make_img();
	ph(&m, 1)->p_filesz = 0x101;
	expect_fail(&m, E_INVAL, "p_filesz > p_memsz");
}

Test(elf, memsz_zero_fails)
{
	struct img m = make_img();
	ph(&m, 2)->p_filesz = 0;
	ph(&m, 2)->p_memsz = 0;
	expect_fail(&m, E_INVAL, "p_memsz is 0");
}

Test(elf, file_bytes_past_the_end_fails)
{
	struct img m = make_img();
	ph(&m, 2)->p_filesz = 0x81;  // one byte past len
	expect_fail(&m, E_INVAL, "outside the image");
	m = make_img();
	m.len = IMG_LEN - 1;          // the same, by truncation
	expect_fail(&m, E_INVAL, "outside the image");
	m = make_img();
	ph(&m, 2)->p_offset = IMG_LEN + PG - 0x80;  // starts past len, nothing read yet
	ph(&m, 2)->p_vaddr = DATA_VA + (IMG_LEN + PG - 0x80) % PG;
	ph(&m, 2)->p_filesz = 0;
	expect_fail(&m, E_INVAL, "outside the image");
}

Test(elf, file_bytes_overflow_fails)
{
	struct img m = make_img();
	ph(&m, 2)->p_offset = UINT64_MAX - 0xfff;  // congruent with DATA_VA; sum wraps
	ph(&m, 2)->p_filesz = 0x2000;
	expect_fail(&m, E_INVAL, "outside the image");
}

Test(elf, align_not_power_of_two_fails)
{
	uint64_t bad[] = { 3, 0x1001, 0x3000, UINT64_MAX, (1ull << 63) + 1 };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct img m = make_img();
		ph(&m, 1)->p_align = bad[i];
		expect_fail(&m, E_INVAL, "p_align");
	}
}

Test(elf, vaddr_offset_not_congruent_fails)
{
	struct img m = make_img();
	ph(&m, 2)->p_vaddr = DATA_VA + 0x10;
	expect_fail(&m, E_INVAL, "mod 4096");
	m = make_img();
	ph(&m, 1)->p_offset = 0x1008;  // 8 off, the other way
	ph(&m, 1)->p_filesz = 0x10;
	expect_fail(&m, E_INVAL, "mod 4096");
}

Test(elf, segment_below_user_base_fails)
{
	struct img m = make_img();
	ph(&m, 0)->p_vaddr = 0;  // the zero page
	expect_fail(&m, E_RANGE, "user space");
	m = make_img();
	ph(&m, 0)->p_vaddr = USER_BASE - PG;
	expect_fail(&m, E_RANGE, "user space");
}

Test(elf, segment_above_user_top_fails)
{
	uint64_t vas[] = { USER_TOP, USER_TOP + PG, 0xffffffff80000000ull, 1ull << 63 };
	for (size_t i = 0; i < sizeof vas / sizeof vas[0]; i++) {
		struct img m = make_img();
		ph(&m, 0)->p_vaddr = vas[i];
		expect_fail(&m, E_RANGE, "user space");
	}
	struct img m = make_img();
	ph(&m, 2)->p_vaddr = USER_TOP - 0x3000;
	ph(&m, 2)->p_memsz = 0x3001;  // one byte over the top
	expect_fail(&m, E_RANGE, "user space");
}

Test(elf, segment_end_overflow_fails)
{
	struct img m = make_img();
	ph(&m, 2)->p_memsz = UINT64_MAX;  // va + memsz wraps to just below va
	expect_fail(&m, E_RANGE, "user space");
	m = make_img();
	ph(&m, 2)->p_memsz = UINT64_MAX - DATA_VA + 2;  // wraps to 1
	expect_fail(&m, E_RANGE, "user space");
}

Test(elf, writable_and_executable_fails)
{
	struct img m = make_img();
	ph(&m, 1)->p_flags = PF_R | PF_W | PF_X;
	expect_fail(&m, E_RIGHTS, "writable and executable");
	m = make_img();
	ph(&m, 2)->p_flags = PF_W | PF_X;
	expect_fail(&m, E_RIGHTS, "writable and executable");
}

Test(elf, segments_sharing_a_page_fails)
{
	struct img m = make_img();
	ph(&m, 2)->p_vaddr = TEXT_VA + 0x800;  // data starts inside the text page
	ph(&m, 2)->p_offset = 0x1800;
	expect_fail(&m, E_INVAL, "share a page");
	m = make_img();
	ph(&m, 1)->p_memsz = 0x1001;  // text's last byte spills into the data page
	expect_fail(&m, E_INVAL, "share a page");
	m = make_img();
	*ph(&m, 3) = *ph(&m, 2);      // the same segment twice
	expect_fail(&m, E_INVAL, "share a page");
	m = make_img();
	ph(&m, 0)->p_vaddr = DATA_VA + PG;  // headers inside data's bss, listed first
	expect_fail(&m, E_INVAL, "share a page");
}

Test(elf, entry_outside_segments_fails)
{
	uint64_t entries[] = { 0, TEXT_VA - 1, TEXT_VA + 0x100, DATA_VA + 0x10, UINT64_MAX };
	for (size_t i = 0; i < sizeof entries / sizeof entries[0]; i++) {
		struct img m = make_img();
		eh(&m)->e_entry = entries[i];
		expect_fail(&m, E_RANGE, "e_entry");
	}
}

Test(elf, entry_in_non_executable_segment_fails)
{
	struct img m = make_img();
	eh(&m)->e_entry = HDR_VA + 0x10;  // loaded, but PF_R only
	expect_fail(&m, E_RANGE, "e_entry");
	m = make_img();
	ph(&m, 1)->p_flags = PF_R;        // the text loses PF_X
	expect_fail(&m, E_RANGE, "e_entry");
}

// --- a real binary ---

// This test program itself: built PIE by Debian's gcc (ET_DYN) and dynamically
// linked, so it must be refused either way.
Test(elf, host_test_binary_fails)
{
	FILE *f = fopen("/proc/self/exe", "rb");
	cr_assert_not_null(f);
	size_t cap = 1 << 20, len = 0, n;
	unsigned char *b = malloc(cap);
	while ((n = fread(b + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	cr_assert_geq(len, sizeof(Elf64_Ehdr));
	struct elf_info in;
	const char *why;
	Elf64_Ehdr e;
	memcpy(&e, b, sizeof e);
	int rc = parse(b, len, &in, &why);
	cr_assert_eq(rc, E_INVAL, "host binary: rc %d (%s)", rc, why ? why : "ok");
	if (e.e_type == ET_DYN)
		cr_assert_not_null(strstr(why, "ET_EXEC"), "why: %s", why);
	// Claimed as ET_EXEC, its PT_INTERP still gives it away as dynamic.
	e.e_type = ET_EXEC;
	memcpy(b, &e, sizeof e);
	rc = parse(b, len, &in, &why);
	cr_assert_eq(rc, E_INVAL, "retyped host binary: rc %d (%s)", rc, why ? why : "ok");
	cr_assert_not_null(strstr(why, "static"), "why: %s", why);
	free(b);
}

// --- fuzzing ---

static uint64_t rng_state;

static uint64_t rnd(void)
{
	// xorshift64*: reproducible on every libc.
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

// Values that sit on the edges the checks care about.
static const uint64_t edges[] = {
	0, 1, 2, 55, 56, 57, 63, 64, 65, 0xfff, 0x1000, 0x1001, IMG_LEN - 1, IMG_LEN,
	IMG_LEN + 1, HDR_VA, TEXT_VA, TEXT_VA + 0x10, TEXT_VA + 0xfff, DATA_VA, DATA_VA + 0x3000,
	USER_BASE - 1, USER_TOP - PG, USER_TOP - 1, USER_TOP, USER_TOP + 1, 1ull << 63,
	UINT64_MAX - 0xfff, UINT64_MAX - 1, UINT64_MAX, PT_LOAD, PT_DYNAMIC, PT_INTERP, 7,
};

// One random edit of the header area of b (len bytes, len >= PH_END).
static void mutate(unsigned char *b, size_t len)
{
	uint64_t r = rnd();
	size_t at;
	switch (r % 4) {
	case 0:  // flip a bit in the headers
		b[(r >> 8) % PH_END] ^= (unsigned char)(1u << ((r >> 40) % 8));
		break;
	case 1:  // a random byte anywhere
		b[(r >> 8) % len] = (unsigned char)(r >> 56);
		break;
	default: {  // an edge value into an aligned 2-, 4- or 8-byte field of the headers
		uint64_t v = edges[(r >> 8) % (sizeof edges / sizeof edges[0])];
		size_t w = (size_t)1 << (1 + (r >> 20) % 3);
		at = ((r >> 24) % (PH_END / w)) * w;
		if (r & (1ull << 62))
			v += (r >> 32) % 3 - 1;  // and its neighbours
		memcpy(b + at, &v, w);
		break;
	}
	}
}

Test(elf, random_corruptions_never_crash_and_keep_invariants, .timeout = 120)
{
	struct img base = make_img();
	unsigned char *b = malloc(IMG_LEN);
	long ok = 0, bad = 0;
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int iter = 0; iter < 100000; iter++) {
		memcpy(b, base.b, IMG_LEN);
		size_t len = IMG_LEN;
		int nmut = 1 + (int)(rnd() % 4);
		for (int k = 0; k < nmut; k++)
			mutate(b, len);
		uint64_t r = rnd();
		if (r % 4 == 0)  // truncate, half the time near the segment ends
			len = r & 4 ? (r >> 8) % (IMG_LEN + 1) : IMG_LEN - (r >> 8) % 0x90;
		struct elf_info in;
		const char *why;
		int rc = parse(b, len, &in, &why);
		if (rc == E_OK) {
			check_invariants(&in, len);
			ok++;
		} else {
			cr_assert(rc == E_INVAL || rc == E_RANGE || rc == E_RIGHTS,
			          "iteration %d: unexpected rc %d (%s)", iter, rc, why);
			bad++;
		}
	}
	// Both outcomes must be common, or the fuzzer is not exercising the checks.
	cr_assert_gt(ok, 1000, "only %ld successes", ok);
	cr_assert_gt(bad, 1000, "only %ld failures", bad);
	free(b);
	free(base.b);
}
