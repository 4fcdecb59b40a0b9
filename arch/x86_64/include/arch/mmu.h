// mmu.h: page tables of user address spaces and the TLB operations on them.
// A user root (PML4) shares the kernel half with every other root: its slot 511 points
// at the kernel's own PDPT, so kernel mappings are identical everywhere and never need
// a shootdown. Tables are reached through the temporary window (kwin), never a direct map.
#ifndef ARCH_MMU_H
#define ARCH_MMU_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <arch/paging.h>

int mmu_create(uint64_t *root);    // E_OK or E_NOMEM
// Frees every table of the user half. Leaves must be cleared already.
void mmu_destroy(uint64_t root);
// Tables the roots created so far still hold (for leak tests).
uint64_t mmu_tables_in_use(void);

uint64_t mmu_prot_flags(unsigned prot);  // PROT_* -> leaf PTE bits (P|U, W, NX)
// Leaf bits of a device's memory (uncached: PCD|PWT select UC in the default PAT),
// which belong to the frame, not the rights: protect keeps them (PTE_FRAME_BITS).
#define PTE_UNCACHED   (PTE_PCD | PTE_PWT)
#define PTE_FRAME_BITS (PTE_ADDR | PTE_UNCACHED)
// True if leaf entry old allows an access that leaf bits flags (0: no access) do not:
// changing old to flags needs a TLB flush.
static inline bool mmu_flags_lower(pte_t old, uint64_t flags)
{
	if (!(old & PTE_P))
		return false;
	if (!(flags & PTE_P))
		return true;
	return ((old & PTE_W) && !(flags & PTE_W)) || (!(old & PTE_NX) && (flags & PTE_NX));
}

// The leaf tables of recently used 2 MiB regions of one root, so a range walk maps
// one table instead of four. mmu_unlink_empty drops the entry of a leaf it detaches,
// so a cached address names a table the root still holds. Used under the owner's lock.
#define MMU_CACHE 16
struct mmu_cache {
	uint64_t tag[MMU_CACHE];   // (va >> 21) + 1; 0: empty
	uint64_t leaf[MMU_CACHE];  // physical address of the leaf table
};

// Calls fn on the leaf PTE of each page of [va, va + npages * 4 KiB), keeping each
// leaf table mapped once per 2 MiB; pages under missing tables are skipped.
// cache may be NULL.
typedef void (*mmu_pte_fn)(pte_t *pte, uintptr_t va, void *arg);
void mmu_range(uint64_t root, struct mmu_cache *cache, uintptr_t va, size_t npages, mmu_pte_fn fn, void *arg);
// Creates the missing tables of [va, va + npages * 4 KiB): E_OK, or E_NOMEM when one
// cannot be (the ones made before stay, empty, until an unmap's walk reaches them or
// mmu_destroy). *made: how many it
// created either way, at most mmu_tables_max(va, npages).
int mmu_prepare(uint64_t root, struct mmu_cache *cache, uintptr_t va, size_t npages, uint64_t *made);
uint64_t mmu_tables_max(uintptr_t va, size_t npages); // npages > 0

// Page tables go when their region is unused, in two steps with a flush between
// (SDM 4.10.4; the argument is in docs/shootdown.md, "Freeing page tables"):
// mmu_unlink_unused clears the entry of every table below the root that the range
// reaches and whose whole region [lo, hi] in_use() reports holds no PTE (the caller
// knows: a PTE is non-zero only in a mapped record), together with every table
// under it, and puts them on *list (threaded through the tables; 0 is the empty
// list). Returns how many. The caller frees the list with mmu_free_list only once
// every CPU that may cache the old entries has flushed (INVLPG and a CR3 load both
// drop every paging-structure cache entry, whatever its address) or has passed a
// quiescent point. The root goes only with mmu_destroy.
uint64_t mmu_unlink_unused(uint64_t root, struct mmu_cache *cache, uintptr_t va, size_t npages,
			   bool (*in_use)(uintptr_t lo, uintptr_t hi, void *arg), void *arg, uint64_t *list);
uint64_t mmu_list_join(uint64_t *list, uint64_t other); // moves other's tables onto *list: how many
uint64_t mmu_free_list(uint64_t list);                   // frees them: how many
// Makes root the current user address space (a kernel-only root: kernel_cr3). Without
// PCID this drops every non-global TLB entry: the old space's translations are gone.
static inline void arch_mmu_switch(uint64_t root) { __asm__ volatile("mov %0, %%cr3" ::"r"(root) : "memory"); }
static inline void arch_tlb_flush_page(uintptr_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }
// Drops every non-global TLB entry (kernel mappings are global and stay).
static inline void arch_tlb_flush_all(void)
{
	uint64_t r;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(r) :: "memory");
}

// Past this many pages one full flush is cheaper than invlpg per page. Under TCG a full
// flush is dear (QEMU refills its software TLB), so the number is measured: the bench
// sweeps 8/16/32 pages (docs/shootdown.md).
#ifndef TLB_FULL_FLUSH_PAGES
#define TLB_FULL_FLUSH_PAGES 32
#endif
static inline bool arch_tlb_flush_is_full(size_t npages) { return npages > TLB_FULL_FLUSH_PAGES; }
// Invalidates this CPU's translations of [va, va + npages pages): page by page, or the
// whole TLB past the threshold. Returns whether it flushed everything (for the stats).
static inline bool arch_tlb_flush_range(uintptr_t va, size_t npages)
{
	if (arch_tlb_flush_is_full(npages)) {
		arch_tlb_flush_all();
		return true;
	}
	for (size_t i = 0; i < npages; i++)
		arch_tlb_flush_page(va + i * PAGE_SIZE);
	return false;
}

#endif
