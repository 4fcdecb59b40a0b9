// mmu.c: user page tables: creation, teardown and range walks through kwin.
// The callers (kern/space.c) serialise all edits of one root under the space's lock.
#include <arch/mmu.h>
#include "kern/kwin.h"
#include "kern/frame.h"
#include "kern/spinlock.h"
#include "kern/panic.h"
#include "kern/console.h"
#include <arch/arch.h>
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"

#define USER_SLOTS 256 // PML4 entries of the lower (user) half

static _Atomic uint64_t tables_in_use;

static unsigned idx(uintptr_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

// A PML4 entry counts the present entries of its PDPT, a PDPT entry those of its PD,
// in bits the MMU ignores in an entry that references a table (62:52, SDM Vol. 3A
// Tables 4-15 and 4-17; protection keys use them only in entries that map pages):
// detaching a table whose region is unused then frees what is under it without
// reading its 512 entries. PD entries count nothing (in_use decides about leaves).
#define PTE_COUNT_SHIFT 52
#define PTE_COUNT(e) ((unsigned)(((e) >> PTE_COUNT_SHIFT) & 0x3ff))

uint64_t mmu_tables_in_use(void) { return tables_in_use; }

static int table_alloc(uint64_t *pa)
{
	int err = frame_alloc_zeroed(pa);
	if (err == E_OK)
		tables_in_use++;
	return err;
}

static void table_free(uint64_t pa)
{
	frame_free(pa);
	tables_in_use--;
}

int mmu_create(uint64_t *root)
{
	int err = table_alloc(root);
	if (err != E_OK)
		return err;
	pte_t *k = kwin_map(kernel_cr3), *u = kwin_map(*root);
	for (unsigned i = USER_SLOTS; i < 512; i++)
		u[i] = k[i];
	kwin_unmap(u);
	kwin_unmap(k);
	return E_OK;
}

// Frees the table at pa and, below level 1, the tables it points to.
static void free_tree(uint64_t pa, int level)
{
	if (level > 1) {
		pte_t *t = kwin_map(pa);
		for (unsigned i = 0; i < 512; i++)
			if (t[i] & PTE_P)
				free_tree(t[i] & PTE_ADDR, level - 1);
		kwin_unmap(t);
	}
	table_free(pa);
	if (!irq_enabled())
		irq_window(); // one per table: as many as the space made
}

void mmu_destroy(uint64_t root)
{
	pte_t *t = kwin_map(root);
	for (unsigned i = 0; i < USER_SLOTS; i++)
		if (t[i] & PTE_P)
			free_tree(t[i] & PTE_ADDR, 3);
	kwin_unmap(t);
	table_free(root);
}

uint64_t mmu_prot_flags(unsigned prot)
{
	uint64_t f = PTE_P | PTE_U;
	if (prot & PROT_WRITE)
		f |= PTE_W;
	if (!(prot & PROT_EXEC))
		f |= PTE_NX;
	return f;
}

// The leaf table covering va, or 0 (with *err = E_NOMEM if alloc failed). Tables it
// creates are counted in *made (when alloc).
static uint64_t leaf_table(uint64_t root, uintptr_t va, bool alloc, int *err, uint64_t *made)
{
	uint64_t t = root;
	pte_t *up = NULL; // mapped: the table whose entry up_i points to t (none for the root)
	unsigned up_i = 0;
	for (int level = 3; level > 0; level--) {
		pte_t *e = kwin_map(t);
		pte_t *slot = &e[idx(va, level)];
		if (!(*slot & PTE_P)) {
			uint64_t n;
			if (!alloc || (*err = table_alloc(&n)) != E_OK) {
				kwin_unmap(e);
				t = 0;
				break;
			}
			// Upper levels allow everything; the leaf decides (SDM 4.6).
			*slot = n | PTE_P | PTE_W | PTE_U;
			++*made;
			if (up) // t is a PDPT or a PD: up's entry counts t's entries
				up[up_i] += 1ull << PTE_COUNT_SHIFT;
		}
		t = *slot & PTE_ADDR;
		if (up)
			kwin_unmap(up);
		up = e;
		up_i = idx(va, level);
	}
	if (up)
		kwin_unmap(up);
	return t;
}

// leaf_table() through the cache: a hit costs no walk.
static uint64_t cached_leaf(uint64_t root, struct mmu_cache *c, uintptr_t va, bool alloc, int *err,
			    uint64_t *made)
{
	uint64_t tag = (va >> 21) + 1;
	unsigned slot = (unsigned)(tag % MMU_CACHE);
	if (c && c->tag[slot] == tag)
		return c->leaf[slot];
	uint64_t leaf = leaf_table(root, va, alloc, err, made);
	if (c && leaf) {
		c->tag[slot] = tag;
		c->leaf[slot] = leaf;
	}
	return leaf;
}

// One pass over the range; fn may be NULL (used to pre-create tables).
static int range_pass(uint64_t root, struct mmu_cache *c, uintptr_t va, size_t npages, bool alloc,
		      uint64_t *made, mmu_pte_fn fn, void *arg)
{
	int err = E_OK;
	while (npages) {
		size_t n = 512 - idx(va, 0);
		if (n > npages)
			n = npages;
		uint64_t leaf = cached_leaf(root, c, va, alloc, &err, made);
		if (!leaf && alloc)
			return err;
		if (leaf && fn) {
			pte_t *t = kwin_map_keep(leaf); // a second pass, or call, may come back to it
			for (size_t i = 0; i < n; i++)
				fn(&t[idx(va, 0) + i], va + i * PAGE_SIZE, arg);
			kwin_unmap_keep(t);
		}
		// A range is as long as user space asks, and its owner's lock keeps
		// interrupts off: serve other CPUs' cross-calls (their shootdowns wait for
		// our ack) and this CPU's interrupts between leaf tables, so their wait is
		// bounded by 512 PTEs, not by the size of this call. (None after the last:
		// the caller's own bounded work follows, up to its unlock.)
		va += n * PAGE_SIZE;
		npages -= n;
		if (npages && !irq_enabled())
			irq_window();
	}
	return E_OK;
}

// Creating every table before touching a leaf makes E_NOMEM leave no half-edit;
// tables created before the failure stay, empty, until an unmap's walk reaches their
// region (mmu_unlink_unused) or the root goes.
int mmu_prepare(uint64_t root, struct mmu_cache *c, uintptr_t va, size_t npages, uint64_t *made)
{
	*made = 0;
	return range_pass(root, c, va, npages, true, made, NULL, NULL);
}

// Each 512 GiB, 1 GiB and 2 MiB region the range touches may need one table.
uint64_t mmu_tables_max(uintptr_t va, size_t npages)
{
	uint64_t n = 0, last = va + npages * PAGE_SIZE - 1;
	for (int shift = 21; shift <= 39; shift += 9)
		n += (last >> shift) - (va >> shift) + 1;
	return n;
}

void mmu_range(uint64_t root, struct mmu_cache *c, uintptr_t va, size_t npages, mmu_pte_fn fn, void *arg)
{
	range_pass(root, c, va, npages, false, NULL, fn, arg);
}

// ---- Detaching empty tables (mmu.h) ---------------------------------------------

// Debug builds check what the caller's in_use promised; the check reads 512 entries,
// which under TCG costs more than the rest of an unmap.
#ifdef KERNEL_UBSAN
static bool table_empty(uint64_t pa)
{
	pte_t *t = kwin_map(pa);
	unsigned i = 0;
	while (i < 512 && t[i] == 0) // a no-access page keeps its frame in a non-present entry
		i++;
	kwin_unmap(t);
	return i == 512;
}
#define CHECK_EMPTY(pa) KASSERT(table_empty(pa))
#else
#define CHECK_EMPTY(pa) ((void)0)
#endif

// Entry 0 of a detached table links the list. The table's region is unused, and a
// page-aligned address has P clear: a CPU still walking the table through a stale
// paging-structure cache entry until the flush reads "not present" there.
static void list_push(pte_t *t, uint64_t pa, uint64_t *list)
{
	t[0] = *list;
	*list = pa;
}

static void cache_drop(struct mmu_cache *c, uintptr_t va)
{
	uint64_t tag = (va >> 21) + 1;
	if (c && c->tag[tag % MMU_CACHE] == tag)
		c->tag[tag % MMU_CACHE] = 0;
}

struct unlink {
	bool (*in_use)(uintptr_t lo, uintptr_t hi, void *arg);
	void *arg;
	struct mmu_cache *c;
	uint64_t *list;
	uint64_t n;
};

static uintptr_t span(int level) { return 1ull << (12 + 9 * level); } // what one entry covers
static uintptr_t entry_lo(uintptr_t va, int level, unsigned i) { return (va & ~(span(level) * 512 - 1)) + i * span(level); }

static void detach(uint64_t pa, int level, unsigned present, uintptr_t va, uintptr_t last, struct unlink *u);

// Detaches the table entry i of t (at level) points to, if any: 1 if there was one.
static unsigned detach_entry(pte_t *t, unsigned i, int level, uintptr_t va, struct unlink *u)
{
	if (!(t[i] & PTE_P))
		return 0;
	uintptr_t lo = entry_lo(va, level, i);
	detach(t[i] & PTE_ADDR, level - 1, PTE_COUNT(t[i]), lo, lo + span(level) - 1, u);
	return 1;
}

// The table at pa (its entries indexed at `level`; 0: a leaf) and every table under
// it go on the list: their whole region is unused. `present` of its entries are
// present (its parent's count). The ones [va, last] reaches are looked at first (the
// unmap emptied those); the rest is scanned only while some are left (tables a
// failed map made elsewhere in the region).
static void detach(uint64_t pa, int level, unsigned present, uintptr_t va, uintptr_t last, struct unlink *u)
{
	if (level == 0) {
		cache_drop(u->c, va);
		CHECK_EMPTY(pa);
	}
	pte_t *t = kwin_map(pa);
	unsigned a = idx(va, level), b = idx(last, level);
	for (unsigned i = a; level && i <= b && present; i++)
		present -= detach_entry(t, i, level, va, u);
	for (unsigned i = 0; level && i < 512 && present; i++)
		if (i < a || i > b)
			present -= detach_entry(t, i, level, va, u);
	list_push(t, pa, u->list); // last: entry 0 may have named a table
	kwin_unmap(t);
	u->n++;
	if (!irq_enabled())
		irq_window();
}

// Walks the table at pa (entries indexed at `level`, above 0) over [va, last]: an
// entry whose whole region in_use() reports unused is cleared and its table detached;
// under the others it goes on down. Returns how many entries it cleared here.
static unsigned unlink_below(uint64_t pa, int level, uintptr_t va, uintptr_t last, struct unlink *u)
{
	unsigned cleared = 0;
	pte_t *e = kwin_map(pa);
	for (unsigned i = idx(va, level); i <= idx(last, level); i++) {
		if (!(e[i] & PTE_P))
			continue;
		uintptr_t lo = entry_lo(va, level, i), hi = lo + span(level) - 1;
		uintptr_t from = lo > va ? lo : va, to = hi < last ? hi : last;
		if (!u->in_use(lo, hi, u->arg)) {
			pte_t old = e[i];
			e[i] = 0;
			cleared++;
			detach(old & PTE_ADDR, level - 1, PTE_COUNT(old), from, to, u);
		} else if (level > 1) {
			e[i] -= (pte_t)unlink_below(e[i] & PTE_ADDR, level - 1, from, to, u) << PTE_COUNT_SHIFT;
		}
	}
	kwin_unmap(e);
	return cleared;
}

uint64_t mmu_unlink_unused(uint64_t root, struct mmu_cache *c, uintptr_t va, size_t npages,
			   bool (*in_use)(uintptr_t lo, uintptr_t hi, void *arg), void *arg, uint64_t *list)
{
	struct unlink u = { in_use, arg, c, list, 0 };
	uintptr_t last = va + npages * PAGE_SIZE - 1, lo = va & ~(span(1) - 1);
	// The common case without a walk: a range inside one 2 MiB region still in use
	// leaves every table on its path in use (each covers that region).
	if ((va >> 21) == (last >> 21) && in_use(lo, lo + span(1) - 1, arg))
		return 0;
	unlink_below(root, 3, va, last, &u);
	return u.n;
}

uint64_t mmu_list_join(uint64_t *list, uint64_t other)
{
	uint64_t n = 0;
	while (other) {
		pte_t *t = kwin_map(other);
		uint64_t next = t[0];
		list_push(t, other, list);
		kwin_unmap(t);
		other = next;
		n++;
	}
	return n;
}

uint64_t mmu_free_list(uint64_t list)
{
	uint64_t n = 0;
	while (list) {
		pte_t *t = kwin_map(list);
		uint64_t next = t[0];
		kwin_unmap(t);
		table_free(list);
		list = next;
		n++;
		if (!irq_enabled())
			irq_window();
	}
	return n;
}
