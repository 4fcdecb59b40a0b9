// kheap.h: kmalloc/kfree for the kernel, on pages of the global region.
// In test mode freed memory is poisoned and checked on reuse.
#ifndef KERN_KHEAP_H
#define KERN_KHEAP_H
#include <stddef.h>
#include <stdbool.h>

void kheap_init(bool poison);
void *kmalloc(size_t n);   // NULL when out of memory
// kmalloc, calling relax (may be NULL) between the pages it backs when the heap must
// grow: for a caller under a lock, whose relax lets interrupts in (irq_window).
void *kmalloc_relax(size_t n, void (*relax)(void));
void *kzalloc(size_t n);
void kfree(void *p);
size_t kheap_cost(size_t n); // what kmalloc(n) takes from the heap (heap_cost)
size_t kheap_in_use(void); // bytes handed out and not freed: leak tests compare it

#endif
