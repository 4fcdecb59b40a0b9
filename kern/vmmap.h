// vmmap.h: a space's mapping bookkeeping: which page ranges are mapped to which object
// at which offset with which maximum rights, and which were lazily unmapped and are
// not yet reclaimed (their VA stays busy). Pure: it never touches page tables, counts
// no references, and does not lock (the kernel wraps every call in the space's lock).
//
// The rights a page has now are not here: they live in its PTE, which the caller owns.
// So protect is a PTE edit checked against vmmap_maxprot, never a record edit, and can
// neither split a record nor need memory. Records hold what protect cannot change:
// object, offset and maxprot, plus the lazy state and tag.
//
// Storage is a sorted array of records in memory from the caller's grow callback:
// find is O(log n); insert, remove and mark_lazy are O(log n + n) (a memmove of the
// tail, in chunks with the caller's relax between); reclaim is O(n); pages is O(1). Fine
// while spaces hold thousands of records, not millions; a B-tree or radix tree can
// replace it behind the same API.
//
// Records split (remove or mark_lazy part of one) and merge (neighbours that continue
// each other: same object, contiguous offsets, same maxprot, same state and tag), so
// a record is not "one map call", and the pages of one record may have different
// rights in their PTEs. Count object references per page, not per record: the pieces
// vmmap hands back (remove, reclaim) add up to exactly the pages that go.
#ifndef KERN_VMMAP_H
#define KERN_VMMAP_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define VM_PAGE 4096ull

#define VMR_MAPPED 1u  // mapped: PTEs present, the object's pages in use
#define VMR_LAZY   2u  // lazily unmapped: PTEs gone, VA and object kept until reclaimed

// [va, va+len) of the space shows [off, off+len) of obj.
struct vm_range {
	uint64_t va, len;     // page-aligned, len > 0, va+len does not wrap
	void *obj;            // the object (never NULL); kept while lazy, dropped on reclaim
	uint64_t off;         // page-aligned offset into obj; off+len does not wrap
	uint32_t maxprot;     // PROT_* bits: the most the PTEs may ever give (what the object's
	                      // handle allowed at map); the rights they give now are theirs
	uint32_t state;       // VMR_MAPPED or VMR_LAZY
	uint64_t epoch_tag;   // VMR_LAZY: the kernel's tag for reclaim; VMR_MAPPED: 0, or
	                      // the tag of a record made by vmmap_insert_alone
};
// Five 8-byte fields and two 4-byte ones, each at its natural alignment: no padding.
// (Narrower maxprot or state would only turn into padding: 8-byte alignment keeps 48.)
_Static_assert(sizeof(struct vm_range) == 5 * 8 + 2 * 4, "struct vm_range has no padding");

// Invariants:
//  - r[0..n-1] are valid records (as above) sorted by va, not overlapping:
//    r[i].va + r[i].len <= r[i+1].va; maxprot has no bits outside PROT_ALL;
//  - no two neighbours merge (see the header comment): the records are the fewest
//    that describe the space, so equal contents give equal record lists;
//  - pages[0] and pages[1] are the sums of len / VM_PAGE over the VMR_MAPPED and the
//    VMR_LAZY records;
//  - n <= cap; r holds cap records (r is NULL when cap is 0). Storage only grows,
//    until vmmap_destroy.
struct vmmap {
	struct vm_range *r;
	uint32_t n, cap;
	uint64_t pages[2];         // pages in VMR_MAPPED and in VMR_LAZY records
	void *(*grow)(size_t bytes, void *ctx);  // fresh storage of that size; NULL = failed
	void (*release)(void *p, void *ctx);     // frees what grow returned
	void (*relax)(void *ctx);  // NULL, or called between chunks of a long edit (see set_relax)
	void *ctx;
};

// An empty map whose storage comes from grow and goes back through release. To grow,
// vmmap takes a larger array from grow, moves the records into it itself and releases
// the old one.
void vmmap_init(struct vmmap *m, void *(*grow)(size_t bytes, void *ctx),
                void (*release)(void *p, void *ctx), void *ctx);

// Long edits (moving the records above an edit or into grown storage, a reclaim pass)
// call relax(ctx) after
// every 64 KiB of records, and relax must not call into m: the kernel lets interrupts
// in there. Off (NULL) after init.
void vmmap_set_relax(struct vmmap *m, void (*relax)(void *ctx));

// Releases the storage and leaves m empty (still usable). References held by the
// records are the caller's: walk them with vmmap_next first.
void vmmap_destroy(struct vmmap *m);

// Records [va, va+len) -> [off, off+len) of obj, whose PTEs may never exceed maxprot,
// merged with neighbours that continue it. The caller picks the initial rights (within
// maxprot) and writes them to the PTEs. Returns E_OK; E_INVAL if va, len or off is not
// page-aligned, len is 0, va+len or off+len wraps, obj is NULL or maxprot has bits
// outside PROT_ALL; E_EXISTS if any page is already in a record (mapped or lazy);
// E_NOMEM if the storage could not grow (never when the range merges with a
// neighbour). Checked in that order; nothing changes on error.
int vmmap_insert(struct vmmap *m, uint64_t va, uint64_t len, void *obj, uint64_t off,
                 uint32_t maxprot);

// As insert, but the record never merges with a neighbour (its tag, non-zero, differs
// from theirs): removing exactly its range later needs no split, so cannot fail for
// memory. E_INVAL also for tag 0.
int vmmap_insert_alone(struct vmmap *m, uint64_t va, uint64_t len, void *obj, uint64_t off,
                       uint32_t maxprot, uint64_t tag);

// Copies the whole record containing va (mapped or lazy: see out->state) to *out
// (when out is not NULL). Returns E_OK, or E_NOENT if no record contains va.
int vmmap_find(const struct vmmap *m, uint64_t va, struct vm_range *out);

// The first record that ends above va (it contains va or starts above it), for
// walks: for (va = 0; vmmap_next(m, va, &r) == E_OK; va = r.va + r.len).
// Returns E_OK, or E_NOENT when there is none.
int vmmap_next(const struct vmmap *m, uint64_t va, struct vm_range *out);

// True when every page of [va, va+len) is in a VMR_MAPPED record; false also for
// arguments insert would reject (misaligned, empty, wrapping).
bool vmmap_covered(const struct vmmap *m, uint64_t va, uint64_t len);

// The rights every page of [va, va+len) may have: the intersection of the records'
// maxprot; 0 if any page is not in a VMR_MAPPED record or the range is malformed.
// This is protect's whole check (then the caller rewrites the PTEs); it reads only.
uint32_t vmmap_maxprot(const struct vmmap *m, uint64_t va, uint64_t len);

// Removes [va, va+len), splitting records at the ends, and copies the removed pieces
// (obj, off and len cut to the piece, maxprot kept, state VMR_MAPPED) to
// out[0..*nout-1] in address order so the caller can drop their references. Returns
// E_OK; E_INVAL as in insert; E_NOENT if any page is not in a VMR_MAPPED record;
// E_RANGE if more than maxout pieces would be returned (then *nout is set to the
// number needed); E_NOMEM if a record had to split in two (a hole strictly inside it)
// and storage could not grow. Nothing else changes on error.
int vmmap_remove(struct vmmap *m, uint64_t va, uint64_t len, struct vm_range *out,
                 uint32_t *nout, uint32_t maxout);

// Turns [va, va+len) into VMR_LAZY records tagged tag, splitting at the ends: the
// pages stop being mapped but stay busy (insert refuses them) until reclaimed. obj,
// off and maxprot are kept. Returns E_OK; E_INVAL as in insert; E_NOENT if any page
// of the range is not in a VMR_MAPPED record; E_NOMEM if a split at an end needed
// storage that could not grow (at most 2 more records; none when the range starts and
// ends on record boundaries). Checked in that order; nothing changes on error. One
// call can leave several records with this tag (one per run of the range that does
// not continue the last), and reclaim drops each: whatever the tag owns must be
// counted per page (the pieces add up to len), not freed on the first drop.
int vmmap_mark_lazy(struct vmmap *m, uint64_t va, uint64_t len, uint64_t tag);

// Removes every VMR_LAZY record whose tag done() accepts, calling drop (when not
// NULL) with each one first. done and drop must not call into m. Never fails;
// returns the number of records removed.
uint32_t vmmap_reclaim(struct vmmap *m, bool (*done)(uint64_t tag, void *arg), void *arg,
                       void (*drop)(const struct vm_range *r, void *arg));

// The capacity (records) the storage will have once it has room for k more: cap if
// it has already. Storage grows by a quarter plus 8 records at a time.
uint32_t vmmap_cap_for(const struct vmmap *m, uint32_t k);

// Makes room for k more records (storage grows to vmmap_cap_for(m, k)), so that edits
// adding at most k records in all cannot fail for memory. E_NOMEM: nothing changed.
int vmmap_reserve(struct vmmap *m, uint32_t k);

// Number of pages in records of the given state (VMR_MAPPED or VMR_LAZY; any other
// value counts nothing).
uint64_t vmmap_pages(const struct vmmap *m, uint32_t state);

#endif
