// vacore.h: the bookkeeping of libpagoda's VA allocator (va.c), without a system call
// or a lock, so tests/host/test_vacore.c builds it against a fake backend. Owns the
// region's bump pointer and the table of live ranges; va.c owns the lock, the memory
// behind the table and the unmapping.
//
// The rule: an address is handed out at most once. Ranges are cut from the region
// with a bump pointer that only grows, so the table, appended in allocation order, is
// sorted by start for free: a free is a binary search, an alloc an append. A freed
// range leaves a tombstone (len 0) where it was, keeping the order; the table is
// compacted (tombstones squeezed out) when an append finds it full and at least a
// quarter of it is tombstones, and grows (by an eighth, at least a page) otherwise.
// So a table of n live ranges holds at most 4n/3 + 1 slots and each alloc/free moves
// at most 4 slots amortised; a slot is 16 bytes. Nothing is ever shrunk: the table's
// memory stays at its high-water mark (giving it back would need its VA again).
#ifndef PAGODA_USER_VACORE_H
#define PAGODA_USER_VACORE_H
#include <stdint.h>

#define VA_PAGE 4096UL

struct va_slot {
	uint64_t start;
	uint64_t len; // bytes, a page multiple; 0: freed (a tombstone)
};

struct va_core {
	uint64_t base, next, top;  // the region [base, top); [base, next) is spent
	struct va_slot *t;         // the table: t[0, n) sorted by start
	uint64_t n, live;          // slots in use (tombstones too); live ranges
	uint64_t cap, cap_max;     // slots backed by memory; slots the table's VA holds
	// Backs [at, at + bytes) of the table's VA with zeroed RW memory: E_OK or an error.
	int (*grow)(void *ctx, uintptr_t at, uint64_t bytes);
	void *ctx;
	uint64_t allocs, frees, compactions;
};

// The region [base, top) (page-aligned, base < top) with its table at
// [table, table + table_bytes), none of it backed yet.
void va_core_init(struct va_core *c, uint64_t base, uint64_t top, uintptr_t table,
		  uint64_t table_bytes, int (*grow)(void *, uintptr_t, uint64_t), void *ctx);

// A fresh range of len bytes (rounded up to pages) at an align-aligned start (a power
// of two; below a page means a page): E_OK and *out, or E_INVAL (len 0, align not a
// power of two or above 2^46), E_RANGE (more than the whole region), E_NOVA (the
// region is spent: never again, whatever is freed) or E_NOMEM (the table cannot grow);
// on error nothing changed.
int va_core_alloc(struct va_core *c, uint64_t len, uint64_t align, uint64_t *out);

// The live range at va of len bytes (as passed to alloc or rounded to pages):
// E_OK and its rounded length in *rounded (may be NULL). The caller still unmaps it.
// E_INVAL: va not page-aligned or len 0; E_NOENT: no live range starts at va (never
// allocated, freed already, or inside a range); E_INVAL: it is not len bytes long.
// On error nothing changed.
int va_core_free(struct va_core *c, uint64_t va, uint64_t len, uint64_t *rounded);

// The live range's length at va, or E_NOENT.
int64_t va_core_len(const struct va_core *c, uint64_t va);

// Bytes of memory the bookkeeping uses: the table's backed slots and the struct.
uint64_t va_core_bytes(const struct va_core *c);

// Test hook: leaves only `left` bytes of the region unspent (it only shrinks):
// E_OK, or E_INVAL if less than that is left already.
int va_core_shrink(struct va_core *c, uint64_t left);

#endif
