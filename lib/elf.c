// elf.c: validates a static ELF64 x86-64 executable and lists its PT_LOAD segments
// for the loader. Headers are memcpy'd out of the image before any field is read,
// so the image may sit at any alignment, and every offset is bounds-checked against
// len first. See elf.h for the checks and their order.
#include <stdbool.h>

#include "lib/elf.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"

// ELF64 layouts (System V gABI and the x86-64 psABI). Fields are read in host
// order, which is right because both the image and the kernel are little-endian.
struct elf64_ehdr {
	unsigned char e_ident[16];
	uint16_t e_type;
	uint16_t e_machine;
	uint32_t e_version;
	uint64_t e_entry;
	uint64_t e_phoff;
	uint64_t e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize;
	uint16_t e_phentsize;
	uint16_t e_phnum;
	uint16_t e_shentsize;
	uint16_t e_shnum;
	uint16_t e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type;
	uint32_t p_flags;
	uint64_t p_offset;
	uint64_t p_vaddr;
	uint64_t p_paddr;
	uint64_t p_filesz;
	uint64_t p_memsz;
	uint64_t p_align;
};

_Static_assert(sizeof(struct elf64_ehdr) == 64, "ELF64 header layout");
_Static_assert(sizeof(struct elf64_phdr) == 56, "ELF64 program header layout");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "fields are read in host order");

#define EI_CLASS      4
#define EI_DATA       5
#define EI_VERSION    6
#define ELFCLASS64    2
#define ELFDATA2LSB   1
#define EV_CURRENT    1
#define ET_EXEC       2
#define EM_X86_64     62

#define PT_LOAD       1
#define PT_DYNAMIC    2
#define PT_INTERP     3

#define PF_X          1u
#define PF_W          2u
#define PF_R          4u

#define PG      4096ull
#define PG_MASK (PG - 1)

_Static_assert(USER_BASE % PG == 0 && USER_TOP % PG == 0,
               "user bounds page-aligned, so page rounding cannot leave them");

// Records the reason and returns the code: every failure goes through here.
#define FAIL(code, reason) do { *why = (reason); return (code); } while (0)

// __builtin_memcpy, not memcpy: this file includes no libc header, and gcc
// expands the fixed-size copies inline even under -fno-builtin.
#define COPY(dst, src, n) __builtin_memcpy((dst), (src), (n))

// Copies the ELF header out of img and checks it, including that the program
// header table lies inside img.
static int check_ehdr(const void *img, size_t len, struct elf64_ehdr *eh, const char **why)
{
	if (len < sizeof *eh)
		FAIL(E_INVAL, "image shorter than the ELF header");
	COPY(eh, img, sizeof *eh);
	const unsigned char *id = eh->e_ident;
	if (id[0] != 0x7f || id[1] != 'E' || id[2] != 'L' || id[3] != 'F')
		FAIL(E_INVAL, "bad ELF magic");
	if (id[EI_CLASS] != ELFCLASS64)
		FAIL(E_INVAL, "EI_CLASS is not ELFCLASS64");
	if (id[EI_DATA] != ELFDATA2LSB)
		FAIL(E_INVAL, "EI_DATA is not little-endian");
	if (id[EI_VERSION] != EV_CURRENT)
		FAIL(E_INVAL, "EI_VERSION is not 1");
	if (eh->e_type != ET_EXEC)
		FAIL(E_INVAL, "e_type is not ET_EXEC (PIE or shared object?)");
	if (eh->e_machine != EM_X86_64)
		FAIL(E_INVAL, "e_machine is not x86-64");
	if (eh->e_version != EV_CURRENT)
		FAIL(E_INVAL, "e_version is not 1");
	if (eh->e_ehsize != sizeof(struct elf64_ehdr))
		FAIL(E_INVAL, "e_ehsize is not 64");
	if (eh->e_phentsize != sizeof(struct elf64_phdr))
		FAIL(E_INVAL, "e_phentsize is not 56");
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHDRS)
		FAIL(E_INVAL, "e_phnum is 0 or more than ELF_MAX_PHDRS");
	// The product is at most 64 * 56, so only the sum can overflow.
	uint64_t tab = (uint64_t)eh->e_phnum * sizeof(struct elf64_phdr);
	if (eh->e_phoff > len || tab > len - eh->e_phoff)
		FAIL(E_INVAL, "program headers outside the image");
	return E_OK;
}

// Checks one PT_LOAD header against an image of len bytes and describes it in *s.
static int check_load(const struct elf64_phdr *ph, size_t len, struct elf_seg *s,
                      const char **why)
{
	if (ph->p_filesz > ph->p_memsz)
		FAIL(E_INVAL, "PT_LOAD p_filesz > p_memsz");
	if (ph->p_memsz == 0)
		FAIL(E_INVAL, "PT_LOAD p_memsz is 0");
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		FAIL(E_INVAL, "PT_LOAD file bytes outside the image");
	if (ph->p_align > 1 && (ph->p_align & (ph->p_align - 1)) != 0)
		FAIL(E_INVAL, "PT_LOAD p_align is not 0, 1 or a power of two");
	if ((ph->p_vaddr & PG_MASK) != (ph->p_offset & PG_MASK))
		FAIL(E_INVAL, "PT_LOAD p_vaddr and p_offset differ mod 4096");
	// Written so va + memsz cannot overflow: memsz is compared with the room left.
	if (ph->p_vaddr < USER_BASE || ph->p_vaddr >= USER_TOP ||
	    ph->p_memsz > USER_TOP - ph->p_vaddr)
		FAIL(E_RANGE, "PT_LOAD outside user space");
	if ((ph->p_flags & PF_W) && (ph->p_flags & PF_X))
		FAIL(E_RIGHTS, "PT_LOAD both writable and executable");
	s->va = ph->p_vaddr;
	s->memsz = ph->p_memsz;
	s->filesz = ph->p_filesz;
	s->off = ph->p_offset;
	// Always readable: a present x86 page is; see elf.h.
	s->prot = PROT_READ;
	if (ph->p_flags & PF_W)
		s->prot |= PROT_WRITE;
	if (ph->p_flags & PF_X)
		s->prot |= PROT_EXEC;
	return E_OK;
}

// True when a's and b's page ranges share a page. Rounding up cannot overflow:
// both segments end at or below USER_TOP.
static bool pages_overlap(const struct elf_seg *a, const struct elf_seg *b)
{
	uint64_t alo = a->va & ~PG_MASK, ahi = (a->va + a->memsz + PG_MASK) & ~PG_MASK;
	uint64_t blo = b->va & ~PG_MASK, bhi = (b->va + b->memsz + PG_MASK) & ~PG_MASK;
	return alo < bhi && blo < ahi;
}

// Appends a checked segment to out, refusing page sharing and the (MAX+1)th load.
static int add_seg(struct elf_info *out, const struct elf_seg *s, const char **why)
{
	for (uint32_t i = 0; i < out->nseg; i++)
		if (pages_overlap(&out->seg[i], s))
			FAIL(E_INVAL, "PT_LOAD segments share a page");
	if (out->nseg == ELF_MAX_SEGS)
		FAIL(E_RANGE, "more than ELF_MAX_SEGS PT_LOAD segments");
	out->seg[out->nseg++] = *s;
	return E_OK;
}

// True when entry lies inside an executable segment of out.
static bool entry_ok(const struct elf_info *out)
{
	for (uint32_t i = 0; i < out->nseg; i++) {
		const struct elf_seg *s = &out->seg[i];
		if ((s->prot & PROT_EXEC) && out->entry >= s->va && out->entry - s->va < s->memsz)
			return true;
	}
	return false;
}

int elf_parse_why(const void *img, size_t len, struct elf_info *out, const char **why)
{
	struct elf64_ehdr eh;
	int rc = check_ehdr(img, len, &eh, why);
	if (rc != E_OK)
		return rc;
	out->entry = eh.e_entry;
	out->nseg = 0;
	const unsigned char *tab = (const unsigned char *)img + eh.e_phoff;
	for (uint32_t i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph;
		struct elf_seg s;
		COPY(&ph, tab + (size_t)i * sizeof ph, sizeof ph);
		if (ph.p_type == PT_DYNAMIC)
			FAIL(E_INVAL, "PT_DYNAMIC: not a static executable");
		if (ph.p_type == PT_INTERP)
			FAIL(E_INVAL, "PT_INTERP: not a static executable");
		if (ph.p_type != PT_LOAD)
			continue;
		if ((rc = check_load(&ph, len, &s, why)) != E_OK ||
		    (rc = add_seg(out, &s, why)) != E_OK)
			return rc;
	}
	if (out->nseg == 0)
		FAIL(E_INVAL, "no PT_LOAD segment");
	if (!entry_ok(out))
		FAIL(E_RANGE, "e_entry is not in an executable segment");
	*why = NULL;
	return E_OK;
}

int elf_parse(const void *img, size_t len, struct elf_info *out)
{
	const char *why;
	return elf_parse_why(img, len, out, &why);
}
