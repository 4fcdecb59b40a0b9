// kheap.c: the kernel heap: heap.c's allocator under a lock, growing through kva.
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

static void *grow(void *ctx, size_t npages)
{
	(void)ctx;
	return kva_alloc(npages);
}

static void corrupt(void *ctx, const void *p, const char *what)
{
	(void)ctx;
	panic("kernel heap: %s at %p", what, p);
}

// Boot, one CPU, before the first allocation: nothing to lock against yet.
void kheap_init(bool poison) NO_LOCK_ANALYSIS { heap_init(&heap, grow, corrupt, NULL, poison); }

size_t kheap_cost(size_t n) { return heap_cost(n); }

void *kmalloc(size_t n)
{
	if (finject_fail())
		return NULL;
	spin_lock(&kheap_lock);
	void *p = heap_alloc(&heap, n);
	spin_unlock(&kheap_lock);
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
