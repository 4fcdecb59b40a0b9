// kva.c: grows the kernel global region (see kva.h). Pages are backed by fresh frames
// and mapped in the kernel tables (shared by every address space under PML4[511]).
// If a frame runs out mid-way, the frames mapped so far go back and their addresses
// stay unused: VA is plentiful (510 GiB), frames are not. The region running out of
// addresses is an allocation failure like any other, never a panic.
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

// npages of fresh addresses, or 0 when the region is spent.
static uintptr_t reserve(size_t npages)
{
	spin_lock(&kva_lock);
	uintptr_t va = next;
	if (npages > (KGLOBAL_END - next) / PAGE_SIZE)
		va = 0;
	else
		next += npages * PAGE_SIZE;
	spin_unlock(&kva_lock);
	return va;
}

// Undoes the first n pages of back(). Nobody was handed these addresses, so no CPU
// used them, and they are never handed out again: no translation of them, cached or
// not, is ever used, and the frames can go back at once.
static void unback(uintptr_t va, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t pa = pt_unmap(kernel_cr3, va + i * PAGE_SIZE);
		frame_free(pa);
		atomic_fetch_sub_explicit(&mapped, 1, memory_order_relaxed);
	}
}

// relax (may be NULL) runs after each page: a caller under a lock lets interrupts in.
static int back(uintptr_t va, size_t npages, void (*relax)(void))
{
	for (size_t i = 0; i < npages; i++) {
		if (relax && i)
			relax();
		uint64_t pa;
		int err = frame_alloc_zeroed(&pa);
		if (err == E_OK && (err = pt_map(kernel_cr3, va + i * PAGE_SIZE, pa, PTE_W | PTE_G | PTE_NX)) != E_OK)
			frame_free(pa);
		if (err != E_OK) {
			unback(va, i);
			return E_NOMEM;
		}
		atomic_fetch_add_explicit(&mapped, 1, memory_order_relaxed);
	}
	return E_OK;
}

void *kva_alloc_relax(size_t npages, void (*relax)(void))
{
	if (finject_fail())
		return NULL;
	uintptr_t va = reserve(npages);
	return va && back(va, npages, relax) == E_OK ? (void *)va : NULL;
}

void *kva_alloc(size_t npages) { return kva_alloc_relax(npages, NULL); }

int kva_alloc_stack(size_t npages, uintptr_t *base)
{
	if (finject_fail())
		return E_NOMEM;
	uintptr_t va = reserve(npages + 1);
	if (!va)
		return E_NOMEM;
	va += PAGE_SIZE; // the first page stays a guard
	int err = back(va, npages, NULL);
	if (err == E_OK)
		*base = va;
	return err;
}

void *kva_map_mmio(uint64_t pa, size_t npages)
{
	uintptr_t va = reserve(npages);
	if (!va)
		return NULL;
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
