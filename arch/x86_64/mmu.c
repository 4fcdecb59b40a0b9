// mmu.c: user page tables: creation, teardown and range walks through kwin.
// The callers (kern/space.c) serialise all edits of one root under the space's lock.
#include <arch/mmu.h>
#include "kern/kwin.h"
#include "kern/frame.h"
#include "kern/spinlock.h"
#include <arch/arch.h>
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"

#define USER_SLOTS 256 // PML4 entries of the lower (user) half

static _Atomic uint64_t tables_in_use;

static unsigned idx(uintptr_t va, int level) { return (va >> (12 + 9 * level)) & 511; }

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
	for (int level = 3; level > 0; level--) {
		pte_t *e = kwin_map(t);
		pte_t *slot = &e[idx(va, level)];
		if (!(*slot & PTE_P)) {
			uint64_t n;
			if (!alloc || (*err = table_alloc(&n)) != E_OK) {
				kwin_unmap(e);
				return 0;
			}
			// Upper levels allow everything; the leaf decides (SDM 4.6).
			*slot = n | PTE_P | PTE_W | PTE_U;
			++*made;
		}
		t = *slot & PTE_ADDR;
		kwin_unmap(e);
	}
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
// tables created before the failure stay, empty, and are freed with the root.
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
