// kva.h: the kernel global region: heap pages, stacks, per-CPU areas, MMIO windows.
// It only grows: VA handed out is never unmapped or reused, so no CPU can ever hold a
// stale translation for it and growth needs no shootdown.
#ifndef KERN_KVA_H
#define KERN_KVA_H
#include <stdint.h>
#include <stddef.h>

void *kva_alloc(size_t npages);                              // NULL when out of frames
void *kva_alloc_relax(size_t npages, void (*relax)(void));   // relax() between pages
int kva_alloc_stack(size_t npages, uintptr_t *base);        // with an unmapped guard page below
void *kva_map_mmio(uint64_t pa, size_t npages);              // uncached device mapping
void *kva_map_ro(uint64_t pa, size_t npages);                // read-only, cached (boot modules)
size_t kva_pages_mapped(void);

#endif
