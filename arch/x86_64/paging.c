// paging.c: builds the kernel's own page tables (image + windows, nothing else) and
// walks/edits 4-level tables through kwin. After paging_init() no physical memory is
// mapped except the kernel image: there is no direct map (SPEC principle 5).
#include <arch/paging.h>
#include "asm.h"
#include "x86.h"
#include "kern/kwin.h"
#include "kern/frame.h"
#include "kern/panic.h"
#include "include/pagoda/errors.h"

#define IMG_PTS 4 // page tables for the first 8 MiB above KERNEL_VMA (kernel.ld asserts)

static pte_t kernel_pml4[512] __attribute__((aligned(4096)));
static pte_t kpdpt[512] __attribute__((aligned(4096)));       // PML4[511]
static pte_t kpd_img[512] __attribute__((aligned(4096)));     // PDPT[510]: the image
static pte_t img_pt[IMG_PTS][512] __attribute__((aligned(4096)));
static pte_t kpd_top[512] __attribute__((aligned(4096)));     // PDPT[511]: windows
pte_t kwin_pt[512] __attribute__((aligned(4096)));
uint64_t kernel_cr3;

extern char _text[], _etext[], _rodata[], _erodata[], _data[], _end[];

static unsigned idx(uintptr_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

static void map_image_range(char *from, char *to, uint64_t flags)
{
	for (uintptr_t va = (uintptr_t)from; va < (uintptr_t)to; va += PAGE_SIZE) {
		uintptr_t off = va - KERNEL_VMA;
		img_pt[off >> 21][idx(va, 0)] = kimg_pa((void *)va) | flags;
	}
}

// Called once on the BSP while the boot tables are live. Interrupts are off.
void paging_init(void)
{
	const uint64_t tbl = PTE_P | PTE_W;
	kernel_pml4[511] = kimg_pa(kpdpt) | tbl;
	kpdpt[510] = kimg_pa(kpd_img) | tbl;
	kpdpt[511] = kimg_pa(kpd_top) | tbl;
	for (int i = 0; i < IMG_PTS; i++)
		kpd_img[i] = kimg_pa(img_pt[i]) | tbl;
	kpd_top[0] = kimg_pa(kwin_pt) | tbl;

	map_image_range(_text, _etext, PTE_P | PTE_G);                       // RX
	map_image_range(_rodata, _erodata, PTE_P | PTE_G | PTE_NX);          // R
	map_image_range(_data, _end, PTE_P | PTE_W | PTE_G | PTE_NX);        // RW
	kernel_cr3 = kimg_pa(kernel_pml4);
	write_cr3(kernel_cr3);
}

// Returns the physical address of the next-level table under entry i of the table at
// table_pa, allocating (zeroed) if absent and alloc is set; 0 if absent or no memory.
static uint64_t next_table(uint64_t table_pa, unsigned i, bool alloc, int *err)
{
	pte_t *t = kwin_map(table_pa);
	uint64_t next = 0;
	if (t[i] & PTE_P) {
		KASSERT(!(t[i] & PTE_PS)); // we never create large pages below a walk
		next = t[i] & PTE_ADDR;
	} else if (alloc) {
		if (frame_alloc_zeroed(&next) == E_OK)
			t[i] = next | PTE_P | PTE_W | PTE_U; // leaves decide the real rights
		else
			*err = E_NOMEM;
	}
	kwin_unmap(t);
	return next;
}

static uint64_t walk(uint64_t root_pa, uintptr_t va, bool alloc, int *err)
{
	uint64_t t = root_pa;
	for (int level = 3; level > 0 && t; level--)
		t = next_table(t, idx(va, level), alloc, err);
	return t; // the leaf table, or 0
}

int pt_map(uint64_t root_pa, uintptr_t va, uint64_t pa, uint64_t flags)
{
	int err = E_OK;
	uint64_t leaf = walk(root_pa, va, true, &err);
	if (!leaf)
		return err;
	pte_t *t = kwin_map(leaf);
	if (t[idx(va, 0)] & PTE_P)
		err = E_EXISTS;
	else
		t[idx(va, 0)] = (pa & PTE_ADDR) | flags | PTE_P;
	kwin_unmap(t);
	return err;
}

uint64_t pt_unmap(uint64_t root_pa, uintptr_t va)
{
	int err = E_OK;
	uint64_t leaf = walk(root_pa, va, false, &err);
	KASSERT(leaf);
	pte_t *t = kwin_map(leaf);
	pte_t e = t[idx(va, 0)];
	KASSERT(e & PTE_P);
	t[idx(va, 0)] = 0;
	kwin_unmap(t);
	return e & PTE_ADDR;
}

pte_t pt_lookup(uint64_t root_pa, uintptr_t va)
{
	int err = E_OK;
	uint64_t leaf = walk(root_pa, va, false, &err);
	if (!leaf)
		return 0;
	pte_t *t = kwin_map(leaf);
	pte_t e = t[idx(va, 0)];
	kwin_unmap(t);
	return e;
}
