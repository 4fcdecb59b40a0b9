// gather.h: a TLB gather (Linux mmu_gather, Zircon's ConsistencyManager): what one
// mapping change must flush, and what may be freed only once that flush is done.
// A caller edits PTEs, adds the ranges it edited, defers the references (and page
// tables) those PTEs reached, and calls gather_finish(), which flushes local and remote
// CPUs and only then releases. It is the kernel's only path that frees after a flush:
// sync unmap, protect, lazy reclaim and teardown all end in gather_finish().
// Pure bookkeeping: the flush, the release and storage are the caller's ops (space.c
// for the kernel, fakes in tests/host/test_gather.c). docs/shootdown.md has the rules.
#ifndef KERN_GATHER_H
#define KERN_GATHER_H
#include <stdint.h>
#include <stddef.h>
#include "kern/vmmap.h"

#define GATHER_PIECES_ON_STACK 8   // pieces held without heap allocation
#define GATHER_RANGES 8            // separate ranges one flush request carries

// Pages to flush: [va, va + npages pages).
struct tlb_range {
	uintptr_t va;
	size_t npages;
};

struct space;
struct tlb_gather;

enum gather_mode {
	// CPUs of s may still cache translations of the ranges: finish shoots them down
	// (charged to payer) before releasing anything.
	GATHER_FLUSH = 1,
	// No CPU can cache a translation of what is released: every CPU that could has
	// passed a quiescent point since the PTEs went (lazy reclaim, epoch.h), or none has
	// the space loaded (teardown). Nothing is flushed; adding a range is a bug.
	GATHER_QUIESCED,
};

struct gather_ops {
	// Makes [g->start, g->end) of g->s coherent on every CPU, this one included, and
	// returns only once every target has acknowledged (space.c: shootdown()).
	void (*flush)(struct tlb_gather *g);
	// Drops the per-page references of one piece (obj, len / VM_PAGE).
	void (*release)(struct tlb_gather *g, const struct vm_range *piece);
	// Frees every user-half page table of a root (mmu_destroy).
	void (*free_root)(struct tlb_gather *g, uint64_t root);
	// Frees a list of page tables already detached from g->s's root (mmu_free_list).
	void (*free_tables)(struct tlb_gather *g, uint64_t list);
	void *(*alloc)(size_t bytes);  // NULL: out of memory
	void (*dealloc)(void *p);
};

// Used by one CPU, under the space's lock, from gather_init to gather_finish. The
// fields are the gather's own; callers go through the functions.
struct tlb_gather {
	const struct gather_ops *ops;
	struct space *s;            // whose translations change
	struct space *payer;        // charged for the flush (NULL: the kernel)
	enum gather_mode mode;
	uintptr_t start, end;       // union of the ranges added since the last flush; empty: start == end
	// The same ranges kept apart (neighbours and overlaps merged), while they fit: a
	// batch of scattered pages is flushed page by page, not as their whole span.
	struct tlb_range range[GATHER_RANGES];
	uint32_t nranges;           // GATHER_RANGES + 1: too many, flush the union
	uint64_t flushes;           // flushes done so far (an early one, then finish's)
	struct vm_range *piece;     // pieces whose references go after the flush
	uint32_t npieces, cap;      // piece is stack[] until gather_reserve() needs more
	struct vm_range stack[GATHER_PIECES_ON_STACK];
	// Page tables freed after the flush (which also drops the paging-structure caches:
	// docs/shootdown.md, "Freeing page tables"): tables the edits detached, and a
	// whole torn-down root (with no CPU holding the space).
	uint64_t tables;            // the caller's list (mmu.h's mmu_unlink_empty); 0: none
	uint64_t root;              // 0: none
	bool finished;
};

void gather_init(struct tlb_gather *g, const struct gather_ops *ops, struct space *s,
		 struct space *payer, enum gather_mode mode);

// Adds [va, va + npages pages), whose PTEs the caller has just edited, to what finish
// flushes: one flush request carries them all, apart up to GATHER_RANGES (touching
// ones merged), else their union. GATHER_FLUSH only.
void gather_add_range(struct tlb_gather *g, uintptr_t va, size_t npages);

// What the next flush must cover, for the flush op: the ranges added since the last
// one, apart while GATHER_RANGES hold them, else their union as one; *out points into
// g. Returns how many (0: nothing added).
uint32_t gather_flush_ranges(struct tlb_gather *g, const struct tlb_range **out);

// Makes room for n more pieces (the stack first, then ops->alloc). E_NOMEM: nothing
// changed.
int gather_reserve(struct tlb_gather *g, uint32_t n);

// For callers that fill pieces in bulk (vmmap_remove): the free slots after the
// pieces deferred so far (*room of them), then gather_commit(g, n) defers the first n
// (after the range that reached them was added). Never flushes early: a sync unmap
// sends one request, as its budget check counted.
struct vm_range *gather_slots(struct tlb_gather *g, uint32_t *room);
void gather_commit(struct tlb_gather *g, uint32_t n);

// Defers dropping the references of one piece until after the flush. Never fails
// nor allocates: when the batch fills it flushes what was added so far (GATHER_FLUSH),
// releases the batch and starts again (as Linux's tlb_flush_mmu when its batch
// fills), so a piece must be deferred only after the range whose PTEs reached it.
void gather_defer_unref(struct tlb_gather *g, const struct vm_range *piece);

// The list that page tables detached by the caller's edits go on (the caller threads
// it: mmu_unlink_empty prepends to *gather_tables(g)); they are freed after the flush
// and the releases. GATHER_FLUSH: only tables under a range already added.
uint64_t *gather_tables(struct tlb_gather *g);

// Defers freeing a root's user-half tables until after the releases. GATHER_QUIESCED.
void gather_defer_root(struct tlb_gather *g, uint64_t root);

// Flushes the ranges (GATHER_FLUSH with any added), then releases every deferred
// piece, then frees the detached tables, the deferred root and the gather's heap
// storage. Exactly once.
void gather_finish(struct tlb_gather *g);

#endif
