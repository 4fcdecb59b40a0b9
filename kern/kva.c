// kva.c: grows the kernel global region (see kva.h). Pages are backed by fresh frames
// and mapped in the kernel tables (shared by every address space under PML4[511]).
// If a frame runs out mid-way, the pages mapped so far stay mapped and are lost to
// the region: acceptable for a region that only grows and only fails when RAM is gone.
#include "kern/finject.h"
#include "kern/kva.h"
#include "kern/frame.h"
#include "kern/spinlock.h"
#include "kern/panic.h"
#include <arch/paging.h>
#include "include/pagoda/errors.h"

// lock protects: next.   mapped: atomic (bumped by back() outside the lock).
static struct spinlock kva_lock = SPINLOCK_INIT("kva");
static uintptr_t next GUARDED_BY(kva_lock) = KGLOBAL_BASE;
static _Atomic size_t mapped;

static uintptr_t reserve(size_t npages)
{
	spin_lock(&kva_lock);
	uintptr_t va = next;
	next += npages * PAGE_SIZE;
	KASSERT(next <= KGLOBAL_END);
	spin_unlock(&kva_lock);
	return va;
}

static int back(uintptr_t va, size_t npages)
{
	for (size_t i = 0; i < npages; i++) {
		uint64_t pa;
		if (frame_alloc_zeroed(&pa) != E_OK)
			return E_NOMEM;
		int err = pt_map(kernel_cr3, va + i * PAGE_SIZE, pa, PTE_W | PTE_G | PTE_NX);
		if (err != E_OK) {
			frame_free(pa);
			return err;
		}
		atomic_fetch_add_explicit(&mapped, 1, memory_order_relaxed);
	}
	return E_OK;
}

void *kva_alloc(size_t npages)
{
	if (finject_fail())
		return NULL;
	uintptr_t va = reserve(npages);
	return back(va, npages) == E_OK ? (void *)va : NULL;
}

int kva_alloc_stack(size_t npages, uintptr_t *base)
{
	if (finject_fail())
		return E_NOMEM;
	uintptr_t va = reserve(npages + 1) + PAGE_SIZE; // the first page stays a guard
	int err = back(va, npages);
	if (err == E_OK)
		*base = va;
	return err;
}

void *kva_map_mmio(uint64_t pa, size_t npages)
{
	uintptr_t va = reserve(npages);
	for (size_t i = 0; i < npages; i++)
		if (pt_map(kernel_cr3, va + i * PAGE_SIZE, pa + i * PAGE_SIZE,
			   PTE_W | PTE_PCD | PTE_PWT | PTE_G | PTE_NX) != E_OK)
			return NULL;
	return (void *)va;
}

// Frames the allocator never hands out (boot modules): mapped, never backed or freed.
void *kva_map_ro(uint64_t pa, size_t npages)
{
	uintptr_t va = reserve(npages);
	for (size_t i = 0; i < npages; i++)
		if (pt_map(kernel_cr3, va + i * PAGE_SIZE, pa + i * PAGE_SIZE, PTE_G | PTE_NX) != E_OK)
			return NULL;
	return (void *)va;
}

size_t kva_pages_mapped(void) { return atomic_load_explicit(&mapped, memory_order_relaxed); }
