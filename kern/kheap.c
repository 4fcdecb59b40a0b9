// kheap.c: the kernel heap: heap.c's allocator under a lock, growing through kva.
// It never grows under its lock: backing pages means zeroing frames, as many as a
// request is large (a mem's frame list is 8 bytes per page of the mem), and the lock
// keeps interrupts off. kmalloc backs the pages first, with interrupts on, and gives
// them to the heap (heap_add_pages).
#include "kern/finject.h"
#include "kern/kheap.h"
#include "kern/heap.h"
#include "kern/kva.h"
#include "kern/spinlock.h"
#include "kern/panic.h"
#include "lib/string.h"

// lock protects: heap.
static struct spinlock kheap_lock = SPINLOCK_INIT("kheap");
static struct heap heap GUARDED_BY(kheap_lock);

// heap.c's page source, called under the lock: it has nothing (kmalloc grows).
static void *grow(void *ctx, size_t npages)
{
	(void)ctx;
	(void)npages;
	return NULL;
}

static void corrupt(void *ctx, const void *p, const char *what)
{
	(void)ctx;
	panic("kernel heap: %s at %p", what, p);
}

// Boot, one CPU, before the first allocation: nothing to lock against yet.
void kheap_init(bool poison) NO_LOCK_ANALYSIS { heap_init(&heap, grow, corrupt, NULL, poison); }

size_t kheap_cost(size_t n) { return heap_cost(n); }

void *kmalloc(size_t n) { return kmalloc_relax(n, NULL); }

void *kmalloc_relax(size_t n, void (*relax)(void))
{
	if (finject_fail())
		return NULL;
	spin_lock(&kheap_lock);
	void *p = heap_alloc(&heap, n);
	spin_unlock(&kheap_lock);
	// Out of free pages: back some outside the lock, then try again. Another CPU may
	// take them first; then back more (every page backed stays in the heap), a few
	// times: past that the heap is being drained faster than it grows.
	for (int tries = 0; !p && tries < 8; tries++) {
		size_t pages = heap_grow_pages(n);
		void *m = pages ? kva_alloc_relax(pages, relax) : NULL;
		if (!m)
			return NULL;
		spin_lock(&kheap_lock);
		heap_add_pages(&heap, m, pages);
		p = heap_alloc(&heap, n);
		spin_unlock(&kheap_lock);
	}
	return p;
}

void *kzalloc(size_t n)
{
	void *p = kmalloc(n);
	if (p)
		memset(p, 0, n);
	return p;
}

void kfree(void *p)
{
	spin_lock(&kheap_lock);
	heap_free(&heap, p);
	spin_unlock(&kheap_lock);
}

size_t kheap_in_use(void)
{
	spin_lock(&kheap_lock);
	size_t n = heap_in_use(&heap);
	spin_unlock(&kheap_lock);
	return n;
}
