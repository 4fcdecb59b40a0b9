// elf.h: checks a static ELF64 x86-64 executable and describes what to map before a
// loader (the kernel's, for init; libpagoda's pg_spawn) puts it in a user address space.
// Pure: reads the image only, allocates nothing, keeps no state, and does not lock.
#ifndef PAGODA_LIB_ELF_H
#define PAGODA_LIB_ELF_H
#include <stdint.h>
#include <stddef.h>

#define ELF_MAX_SEGS  16  // PT_LOAD segments an image may have
#define ELF_MAX_PHDRS 64  // program headers of any type an image may have

// One PT_LOAD segment: map [page_down(va), page_up(va + memsz)) with prot, copy
// img[off, off + filesz) to va, and zero the rest up to va + memsz.
struct elf_seg {
	uint64_t va, memsz, filesz, off;
	uint32_t prot;  // PROT_* (abi.h); PROT_READ always set, never WRITE with EXEC
};

// What a valid image holds. After E_OK:
//  - 1 <= nseg <= ELF_MAX_SEGS; seg[] is in program-header order (not sorted).
//  - each seg: 0 < memsz, filesz <= memsz, off + filesz <= len (no overflow),
//    va % 4096 == off % 4096, USER_BASE <= va, va + memsz <= USER_TOP.
//  - no two segments' page ranges share a page.
//  - entry lies in [va, va + memsz) of a segment with PROT_EXEC.
struct elf_info {
	uint64_t entry;
	uint32_t nseg;
	struct elf_seg seg[ELF_MAX_SEGS];
};

// Checks img[0, len) and fills *out. img may have any alignment; nothing outside
// img[0, len) is read (img may be NULL when len is 0). Checks run in this order and
// the first failure is returned, with *out unspecified:
//
//   code      why (elf_parse_why)
//   E_INVAL   len < 64 (shorter than the ELF header)
//   E_INVAL   e_ident magic is not \x7f E L F
//   E_INVAL   EI_CLASS is not ELFCLASS64
//   E_INVAL   EI_DATA is not ELFDATA2LSB (little-endian)
//   E_INVAL   EI_VERSION is not 1
//   E_INVAL   e_type is not ET_EXEC (PIE and shared objects are ET_DYN)
//   E_INVAL   e_machine is not EM_X86_64 (62)
//   E_INVAL   e_version is not 1
//   E_INVAL   e_ehsize is not 64
//   E_INVAL   e_phentsize is not 56
//   E_INVAL   e_phnum is 0 or more than ELF_MAX_PHDRS
//   E_INVAL   e_phoff + e_phnum * 56 overflows or passes len
//   then each program header in order:
//   E_INVAL   PT_DYNAMIC or PT_INTERP (only static executables are loaded)
//             (every other type but PT_LOAD is ignored: PT_NULL, PT_NOTE, PT_PHDR,
//             PT_TLS, PT_GNU_STACK, PT_GNU_RELRO, PT_GNU_PROPERTY, unknown ones)
//   and for each PT_LOAD:
//   E_INVAL   p_filesz > p_memsz
//   E_INVAL   p_memsz is 0
//   E_INVAL   p_offset + p_filesz overflows or passes len
//   E_INVAL   p_align is not 0, 1 or a power of two
//   E_INVAL   p_vaddr % 4096 != p_offset % 4096 (pages could not be copied whole)
//   E_RANGE   [p_vaddr, p_vaddr + p_memsz) overflows or leaves [USER_BASE, USER_TOP)
//   E_RIGHTS  PF_W and PF_X both set (W^X)
//   E_INVAL   its page range shares a page with an earlier PT_LOAD's
//   E_RANGE   it is PT_LOAD number ELF_MAX_SEGS + 1
//   then over the whole image:
//   E_INVAL   no PT_LOAD at all
//   E_RANGE   e_entry is not inside a segment with PF_X
//
// Permissions: PF_R, PF_W, PF_X map to PROT_READ, PROT_WRITE, PROT_EXEC. A segment
// without PF_R is mapped PROT_READ anyway: x86 page tables cannot express a present
// page that is not readable, so refusing it would only break execute-only links.
// Other p_flags bits are ignored. EI_OSABI, e_flags and the section headers are
// not looked at.
int elf_parse(const void *img, size_t len, struct elf_info *out);

// As elf_parse, and sets *why (must not be NULL) to a static string naming the
// failed check from the table above, or to NULL on E_OK.
int elf_parse_why(const void *img, size_t len, struct elf_info *out, const char **why);

#endif
