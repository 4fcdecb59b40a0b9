// heap.h: the kernel heap's allocator logic, over a page source that only grows.
// Small requests (<= 2048 bytes) come from power-of-two size-class pages; larger ones
// take whole-page runs. It never gives memory back to the page source, and it does
// not lock: the kernel wraps every call in its own spinlock.
#ifndef KERN_HEAP_H
#define KERN_HEAP_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define HEAP_PAGE        4096u
#define HEAP_MIN_CLASS   16u     // smallest size class, and the alignment of every pointer
#define HEAP_MAX_SMALL   2048u   // largest size class; bigger requests take page runs
#define HEAP_NCLASSES    8       // 16, 32, ..., 2048
#define HEAP_RUN_HDR     32u     // bytes before the pointer handed out for a page run

// Byte patterns written when poison is on: freed memory, and fresh allocations.
#define HEAP_POISON_FREE  0x6bu
#define HEAP_POISON_FRESH 0xa5u

// Returns npages of fresh 4096-aligned, mapped memory, or NULL.
typedef void *(*heap_grow_fn)(void *ctx, size_t npages);
// Called on detected misuse with the offending pointer (the kernel panics; tests record).
typedef void (*heap_corrupt_fn)(void *ctx, const void *p, const char *what);

struct heap_run;  // header of a page run; private to heap.c

// One size class. Its pages each start with a 16-byte header (magic, class, check)
// and hold objects at every multiple of the class size from offset size on, so
// 4096/size - 1 objects per page.
// Invariants:
//  - free is NULL or a valid object of this class; every object on the list holds
//    the next pointer in its first word and a free tag (derived from its address)
//    in its second; with poison on, the rest of it is HEAP_POISON_FREE bytes.
//  - nfree is the length of the free list.
//  - [bump, bump_end) are the never-handed-out objects of the class's newest page
//    (bump == bump_end == 0 before the first page); they hold no list links.
struct heap_class {
	void *free;
	size_t nfree;
	uintptr_t bump, bump_end;
};

// Invariants:
//  - every page obtained from grow is either a class page of exactly one class
//    (forever) or part of exactly one page run, used or free.
//  - runs is the list of free page runs in ascending address order, none of them
//    touching the next (contiguous free runs are merged on free); with poison on,
//    every byte of a free run after its header is HEAP_POISON_FREE.
//  - in_use is the sum over live allocations of their class size, or for page
//    runs, the run's pages * 4096 (header included).
//  - pages is the total number of pages grow has returned.
struct heap {
	heap_grow_fn grow;
	heap_corrupt_fn corrupt;
	void *ctx;
	bool poison;
	struct heap_class cls[HEAP_NCLASSES];
	struct heap_run *runs;
	size_t in_use;
	size_t pages;
};

// Sets up an empty heap that asks grow(ctx, n) for pages and reports misuse through
// corrupt(ctx, ...). poison turns on the freed/fresh fill patterns and their checks.
void heap_init(struct heap *h, heap_grow_fn grow, heap_corrupt_fn corrupt, void *ctx, bool poison);

// What heap_alloc(n) adds to in_use: the class size, or the whole page run (0 for
// n == 0). Callers charge it, so a quota counts what the heap really gives out.
size_t heap_cost(size_t n);
// Pages a fresh heap_alloc(n) takes when no free memory fits it: a class page, or the
// run (0 if n can never be allocated, n == 0 included).
size_t heap_grow_pages(size_t n);
// Gives the heap npages of fresh 4096-aligned memory as a free run, as if grow had
// returned it: for a caller that grows the heap itself, outside its lock.
void heap_add_pages(struct heap *h, void *p, size_t npages);

// Returns n bytes, 16-byte aligned, or NULL for n == 0 or when grow fails (then
// nothing changed and nothing leaked). With poison on, the memory is filled with
// HEAP_POISON_FRESH; freed memory found damaged on reuse is reported as "use after free".
void *heap_alloc(struct heap *h, size_t n);

// Returns p (from heap_alloc) to the heap; NULL is a no-op. A double free or a
// pointer the heap never handed out is reported through corrupt and otherwise ignored.
void heap_free(struct heap *h, void *p);

// Bytes currently handed out, as rounded sizes (class size, or whole run pages).
size_t heap_in_use(const struct heap *h);

// Pages obtained from grow so far.
size_t heap_pages(const struct heap *h);

#endif
