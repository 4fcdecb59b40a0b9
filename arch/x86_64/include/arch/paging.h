// paging.h: x86-64 4-level page tables. Tables are frames reached only through the
// temporary window (kwin), so this works for any physical address.
#ifndef ARCH_PAGING_H
#define ARCH_PAGING_H
#include <stdint.h>
#include <stdbool.h>

typedef uint64_t pte_t;
#define PTE_P    (1ULL << 0)
#define PTE_W    (1ULL << 1)
#define PTE_U    (1ULL << 2)
#define PTE_PWT  (1ULL << 3)
#define PTE_PCD  (1ULL << 4)
#define PTE_A    (1ULL << 5)
#define PTE_D    (1ULL << 6)
#define PTE_PS   (1ULL << 7)
#define PTE_G    (1ULL << 8)
#define PTE_NX   (1ULL << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ULL

// Page-fault error code bits.
#define PF_ERR_PRESENT (1u << 0)
#define PF_ERR_WRITE   (1u << 1)
#define PF_ERR_USER    (1u << 2)
#define PF_ERR_FETCH   (1u << 4)

#define PAGE_SIZE 4096UL
#define PAGE_MASK (PAGE_SIZE - 1)

// Kernel virtual layout: everything lives under PML4 slot 511, shared by every
// address space, so growing it never needs a shootdown (nothing stale can exist).
#define KGLOBAL_BASE 0xffffff8000000000UL  // kva.c: heap, stacks, per-CPU areas, MMIO
#define KGLOBAL_END  0xffffffff80000000UL
#define KWIN_BASE    0xffffffffc0000000UL  // kwin.c: per-CPU temporary windows (2 MiB)

extern uint64_t kernel_cr3;  // physical address of the kernel-only PML4
extern pte_t kwin_pt[512];   // PTEs of the temporary windows (kwin.c writes them)

void paging_init(void);
// Map one 4 KiB page at va in the tables rooted at root_pa, allocating missing
// tables. E_EXISTS if va is mapped already, E_NOMEM if a table cannot be allocated
// (tables allocated so far stay, empty: harmless, reused by the next call).
int pt_map(uint64_t root_pa, uintptr_t va, uint64_t pa, uint64_t flags);
// Clears the mapped page at va and returns its frame. No TLB flush: for addresses no
// CPU may have used (kva.c says when that holds).
uint64_t pt_unmap(uint64_t root_pa, uintptr_t va);
// The leaf PTE for va, or 0 if any level is not present.
pte_t pt_lookup(uint64_t root_pa, uintptr_t va);
static inline uint64_t kimg_pa(const void *p) { return (uintptr_t)p - 0xffffffff80000000UL; }

#endif
