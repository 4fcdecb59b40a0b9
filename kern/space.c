// space.c: address-space objects: creation, switching, the mapping calls, handles,
// quota and teardown. The shootdown itself is in shootdown.c.
// Lock order: a space's lock, then (only when tearing down an object whose last
// reference just went) the lock of a space nobody else can reach any more. Two
// spaces' locks are otherwise taken one after the other (a lease's two ends), or
// both in address order (handle_transfer). The budget lock, frame and heap locks are
// leaves.
#include <stddef.h>
#include "kern/space.h"
#include "kern/mem.h"
#include "kern/shootdown.h"
#include "kern/gather.h"
#include "kern/phase.h"
#include "kern/epoch.h"
#include "kern/sched.h"
#include "kern/notify.h"
#include "kern/xcall.h"
#include "kern/kheap.h"
#include "kern/panic.h"
#include "lib/string.h"
#include "lib/sort.h"
#include "include/pagoda/errors.h"
#include <arch/mmu.h>
#include <arch/uaccess.h>
#include <arch/arch.h>

// vmmap storage on the kernel heap. Its pages are backed under the space's lock, as
// many as the records need: an interrupt window after each (vmmap moves the records
// over itself, relaxed through map_relax).
static void *map_grow(size_t bytes, void *ctx)
{
	(void)ctx;
	return kmalloc_relax(bytes, irq_window);
}

static void map_release(void *p, void *ctx)
{
	(void)ctx;
	kfree(p);
}

static void map_relax(void *ctx)
{
	(void)ctx;
	irq_window();
}

// tree_lock guards every space's parent, children, sib_prev and sib_next, and
// serialises every change of a budget_per_tick or budget_carved. Nothing but budget
// locks is taken while holding it (space locks may be held when taking it).
static struct spinlock tree_lock = SPINLOCK_INIT("space tree");

// Moves a child's budget from old to new ipis per tick out of (or back into) parent p.
// E_BUDGET if p is budgeted and cannot spare the rise; an unlimited p spares anything.
static int budget_carve(struct space *p, uint64_t old, uint64_t new) REQUIRES(tree_lock)
{
	spin_assert_held(&tree_lock);
	int err = E_OK;
	spin_lock(&p->budget_lock);
	if (p->budget_per_tick && new > old && new - old > p->budget_per_tick - p->budget_carved)
		err = E_BUDGET;
	else
		p->budget_carved = p->budget_carved + new - old;
	spin_unlock(&p->budget_lock);
	return err;
}

static int tree_link(struct space *s, struct space *parent)
{
	spin_lock(&tree_lock);
	// A walk of parent's subtree starts after parent is marked dead and takes this
	// lock: either it sees s, or s sees parent dead here and is not made.
	int err = parent && space_dead(parent) ? E_NOENT : E_OK;
	if (err == E_OK && parent)
		err = budget_carve(parent, 0, s->budget_per_tick);
	if (err == E_OK && parent) {
		s->parent = parent;
		s->sib_next = parent->children;
		if (parent->children)
			parent->children->sib_prev = s;
		parent->children = s;
		atomic_fetch_add(&parent->holds, 1);
	}
	spin_unlock(&tree_lock);
	return err;
}

// s's struct is about to be freed: out of its parent's children (it has none of its
// own left: each held it), its budget back to the parent.
static void tree_unlink(struct space *s)
{
	spin_lock(&tree_lock);
	KASSERT(s->children == NULL);
	if (s->sib_prev)
		s->sib_prev->sib_next = s->sib_next;
	else if (s->parent)
		s->parent->children = s->sib_next;
	if (s->sib_next)
		s->sib_next->sib_prev = s->sib_prev;
	if (s->parent)
		budget_carve(s->parent, s->budget_per_tick, 0); // a fall never fails
	spin_unlock(&tree_lock);
}

// A reference on s unless it has none left: then it is being destroyed, and its
// destroy deletes its own children.
static bool ref_unless_zero(struct space *s)
{
	int64_t r = atomic_load(&s->obj.refs);
	while (r > 0)
		if (atomic_compare_exchange_weak(&s->obj.refs, &r, r + 1))
			return true;
	return false;
}

uint64_t space_cost(void) { return kheap_cost(sizeof(struct space)) + PAGE_SIZE; }

// Frees s's struct once nothing holds it (see holds in space.h), then gives its
// quota back to its parent, whose struct may go in turn: a loop up the tree, never
// a recursion, however deep the chain.
static void space_release(struct space *s)
{
	while (s && atomic_fetch_sub(&s->holds, 1) == 1) {
		struct space *p = s->parent;
		tree_unlink(s);
		space_uncharge(s, CHARGE_KERNEL, kheap_cost(sizeof *s));
		// Everything it paid for is gone: mem objects and vcpus held references,
		// children held it, teardown dropped its tables and records.
		KASSERT(atomic_load(&s->charged) == 0);
		if (p)
			space_uncharge(p, CHARGE_CHILDREN, s->quota);
		kfree(s);
		s = p;
	}
}

// The parent's share, then the struct and its root table charged to the share.
static int space_alloc(struct space **out, struct space *parent, uint64_t quota)
{
	if (quota < space_cost())
		return E_NOMEM;
	if (parent && space_charge(parent, CHARGE_CHILDREN, quota) != E_OK)
		return E_NOMEM;
	struct space *s = kzalloc(sizeof *s);
	if (s && mmu_create(&s->root) != E_OK) {
		kfree(s);
		s = NULL;
	}
	if (!s) {
		if (parent)
			space_uncharge(parent, CHARGE_CHILDREN, quota);
		return E_NOMEM;
	}
	s->quota = quota;
	space_charge(s, CHARGE_KERNEL, kheap_cost(sizeof *s)); // fits: quota >= space_cost()
	space_charge(s, CHARGE_TABLES, PAGE_SIZE);
	*out = s;
	return E_OK;
}

int space_create(struct space **out, struct space *parent, uint64_t quota, uint64_t ipis_per_tick)
{
	if ((parent && ipis_per_tick == 0) || ipis_per_tick > INT64_MAX)
		return E_INVAL; // every child is budgeted; tokens are signed
	struct space *s;
	int err = space_alloc(&s, parent, quota);
	if (err != E_OK)
		return err;
	s->obj.type = OBJ_SPACE;
	s->obj.refs = 1;
	s->holds = 1;
	spin_init(&s->lock, "space");
	spin_init(&s->budget_lock, "budget");
	s->budget_per_tick = ipis_per_tick;
	s->budget_tokens = (int64_t)ipis_per_tick;
	vmmap_init(&s->map, map_grow, map_release, s);
	vmmap_set_relax(&s->map, map_relax);
	htable_init(&s->handles);
	htable_install(&s->handles, H_SELF, s, OBJ_SPACE, SPACE_SELF_RIGHTS);
	if ((err = tree_link(s, parent)) != E_OK) {
		mmu_destroy(s->root); // never linked: nobody else saw it
		kfree(s);
		if (parent)
			space_uncharge(parent, CHARGE_CHILDREN, quota);
		return err;
	}
	*out = s;
	return E_OK;
}

void space_switch(struct space *to)
{
	struct cpu *c = this_cpu();
	struct space *from = c->loaded;
	if (from == to)
		return;
	// Join before loading, leave after loading (shootdown.c says why).
	if (to)
		atomic_fetch_or(&to->cpus, cpuset_of(c->id));
	arch_mmu_switch(to ? to->root : kernel_cr3);
	c->loaded = to;
	atomic_fetch_add_explicit(&c->qs_count, 1, memory_order_release);
	if (from)
		atomic_fetch_and(&from->cpus, ~cpuset_of(c->id));
}

// Acquire: a reader that sees dead also sees what the deleter did before setting it.
// Under s->lock the flag cannot change (it is set under the lock), so the value is exact.
bool space_dead(struct space *s) { return atomic_load_explicit(&s->dead, memory_order_acquire); }
bool space_lazy_waiting(struct space *s) { return atomic_load_explicit(&s->lazy_count, memory_order_relaxed) != 0; }

// ---- The gather's kernel side (gather.h) ------------------------------------------

// Reached through the ops pointer, so the analysis cannot see the caller: the gather
// flushes only under the space's lock (every gather_finish caller holds it).
static void gather_shootdown(struct tlb_gather *g) REQUIRES(g->s->lock)
{
	spin_assert_held(&g->s->lock);
	const struct tlb_range *r;
	uint32_t n = gather_flush_ranges(g, &r);
	shootdown(g->s, g->payer, r, n);
}

// One per record: as many as user space made, under the space's lock.
static void gather_unref(struct tlb_gather *g, const struct vm_range *piece)
{
	(void)g;
	obj_unref_n(piece->obj, (int64_t)(piece->len / PAGE_SIZE));
	irq_window();
}

static void gather_free_root(struct tlb_gather *g, uint64_t root)
{
	(void)g;
	mmu_destroy(root);
}

// Tables the edits detached (unlink_unused): the space paid for them.
static void gather_free_tables(struct tlb_gather *g, uint64_t list)
{
	space_uncharge(g->s, CHARGE_TABLES, mmu_free_list(list) * PAGE_SIZE);
}

static const struct gather_ops space_gather_ops = {
	gather_shootdown, gather_unref, gather_free_root, gather_free_tables, kmalloc, kfree,
};

// ---- What the records cost --------------------------------------------------------
//
// protect never edits a record (the rights live in the PTEs), but unmap may cut one
// in two and a lazy unmap may cut one in three, and neither may fail for want of quota.
// So the space pays, from its first map, for the most its records could ever grow to
// without another map: every record holds a page, so there are at most record_pages() of
// them, and vmmap grows its array by a quarter (plus 8), so the array never costs more
// than RECORD_PAGE_BYTES per page plus RECORD_BASE_BYTES, page rounding included.
// The charge is that bound, or the array's real cost when an unmap left it larger.

#define RECORD_PAGE_BYTES 64u
#define RECORD_BASE_BYTES 4608u
_Static_assert(RECORD_PAGE_BYTES * 4 >= sizeof(struct vm_range) * 5, "a quarter's growth per record");

// Pages in the space's records, mapped or lazy: a bound on how many records it can have.
static uint64_t record_pages(const struct space *s)
{
	return vmmap_pages(&s->map, VMR_MAPPED) + vmmap_pages(&s->map, VMR_LAZY);
}

static uint64_t records_cost(uint64_t pages, uint32_t cap)
{
	uint64_t real = kheap_cost((size_t)cap * sizeof(struct vm_range));
	uint64_t bound = pages ? pages * RECORD_PAGE_BYTES + RECORD_BASE_BYTES : 0;
	return real > bound ? real : bound;
}

// Charges what map's records cost with `pages` more pages and room for k more
// records: E_NOMEM (nothing charged) over quota.
static int records_charge(struct space *s, uint64_t pages, uint32_t k) REQUIRES(s->lock)
{
	spin_assert_held(&s->lock);
	uint64_t need = records_cost(record_pages(s) + pages, vmmap_cap_for(&s->map, k));
	if (need <= s->records_charged)
		return E_OK;
	if (space_charge(s, CHARGE_KERNEL, need - s->records_charged) != E_OK)
		return E_NOMEM;
	s->records_charged = need;
	return E_OK;
}

// After an edit: the charge drops to what the records now cost. Only map raises it
// (above); an unmap's growth is within what was charged (the bound above), checked.
static void records_settle(struct space *s) REQUIRES(s->lock)
{
	spin_assert_held(&s->lock);
	uint64_t need = records_cost(record_pages(s), s->map.cap);
	KASSERT(need <= s->records_charged);
	space_uncharge(s, CHARGE_KERNEL, s->records_charged - need);
	s->records_charged = need;
}

// ---- Lazy reclamation --------------------------------------------------------

// One per lazy unmap call. The call's range may span several vmmap records, all
// tagged with it; the tag goes when the last of its pages is reclaimed. Tags wait in
// a FIFO (s->lazy_head, under s->lock) in the order they were made, so a reclaim
// attempt that finds the oldest not yet passed costs O(1).
struct lazy_tag {
	struct epoch_snap snap;
	uint64_t pages;
	uint64_t tables;          // the page tables the unmap emptied (unlink_unused's list)
	struct lazy_tag *next;
	bool passed;
};

// Drops the pages of one lazy record from its tag; true when the tag is gone, its
// tables handed to g (quiesced: every CPU that could walk them has flushed since).
static bool lazy_tag_put(struct space *s, const struct vm_range *v, struct tlb_gather *g)
{
	struct lazy_tag *t = (struct lazy_tag *)v->epoch_tag;
	t->pages -= v->len / PAGE_SIZE;
	if (t->pages)
		return false;
	mmu_list_join(gather_tables(g), t->tables);
	kfree(t);
	space_uncharge(s, CHARGE_KERNEL, kheap_cost(sizeof *t));
	return true;
}

static bool lazy_done(uint64_t tag, void *arg)
{
	(void)arg;
	return ((struct lazy_tag *)tag)->passed;
}

struct reclaim {
	struct tlb_gather g;
	struct space *s;
	uint32_t tags;   // tags freed
};

static void lazy_drop(const struct vm_range *v, void *arg)
{
	struct reclaim *r = arg;
	gather_defer_unref(&r->g, v);
	if (lazy_tag_put(r->s, v, &r->g))
		r->tags++;
	irq_window(); // one per record reclaimed: user-sized
}

// Entries past ncpus stay unread: epoch.c reads only CPUs in a snapshot's set.
static void read_counters(uint64_t *c)
{
	for (uint32_t i = 0; i < ncpus; i++)
		c[i] = cpus[i] ? atomic_load_explicit(&cpus[i]->qs_count, memory_order_acquire) : 0;
}

// Frees the lazily unmapped ranges every CPU has since passed a quiescent point for:
// the passed prefix of the FIFO, detached first because reclaiming frees the tags.
// The epoch did the flushing, so the gather flushes nothing (GATHER_QUIESCED).
static void reclaim_locked(struct space *s) REQUIRES(s->lock)
{
	spin_assert_held(&s->lock);
	if (!s->lazy_head)
		return;
	uint64_t counters[MAX_CPUS];
	read_counters(counters);
	struct lazy_tag *t = s->lazy_head;
	for (; t && epoch_passed(&t->snap, counters); t = t->next)
		t->passed = true;
	if (t == s->lazy_head)
		return;
	s->lazy_head = t;
	if (!t)
		s->lazy_tail = NULL;
	struct reclaim r = { .s = s, .tags = 0 };
	gather_init(&r.g, &space_gather_ops, s, NULL, GATHER_QUIESCED);
	vmmap_reclaim(&s->map, lazy_done, &r, lazy_drop);
	records_settle(s);
	gather_finish(&r.g);
	atomic_fetch_sub(&s->lazy_count, r.tags);
	space_count(&s->counters.lazy_reclaimed, r.tags);
}

// ---- Mapping calls -----------------------------------------------------------

static bool range_args_ok(uintptr_t va, uint64_t len) { return len && !((va | len) & PAGE_MASK); }

struct fill {
	struct mem *m;
	uint64_t first;   // frame index of the first page
	uint64_t flags;
	uint64_t i;
};

static uint64_t leaf_flags(unsigned prot) { return prot ? mmu_prot_flags(prot) : 0; } // 0: no access

static void set_pte(pte_t *pte, uintptr_t va, void *arg)
{
	(void)va;
	struct fill *f = arg;
	*pte = f->m->frames[f->first + f->i++] | f->flags;
}

// True if a record of the given state overlaps [va, va + len).
static bool overlaps_state(struct space *s, uintptr_t va, uint64_t len, uint32_t state) REQUIRES(s->lock)
{
	struct vm_range r;
	for (uint64_t a = va; vmmap_next(&s->map, a, &r) == E_OK && r.va < va + len; a = r.va + r.len)
		if (r.state == state)
			return true;
	return false;
}

// True if a lease holds any page of [va, va + len) still (space_pin).
static bool pinned(struct space *s, uintptr_t va, uint64_t len) REQUIRES(s->lock)
{
	for (struct space_pin *p = s->pins; p; p = p->next)
		if (va < p->va + p->len && p->va < va + len)
			return true;
	return false;
}

static void pin_link(struct space *s, struct space_pin *p, uintptr_t va, uint64_t len) REQUIRES(s->lock)
{
	KASSERT(!p->linked);
	p->va = va;
	p->len = len;
	p->prev = NULL;
	p->next = s->pins;
	if (s->pins)
		s->pins->prev = p;
	s->pins = p;
	p->linked = true;
}

static void pin_unlink(struct space *s, struct space_pin *p) REQUIRES(s->lock)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		s->pins = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->linked = false;
}

// Creates the tables [va, va + n pages) lacks, charged to s: the most they could
// take first, then back to what they took (made also counts tables a failure left).
static int map_prepare(struct space *s, uintptr_t va, uint64_t n) REQUIRES(s->lock)
{
	uint64_t most = mmu_tables_max(va, n), made;
	if (space_charge(s, CHARGE_TABLES, most * PAGE_SIZE) != E_OK)
		return E_NOMEM;
	int err = mmu_prepare(s->root, &s->leaves, va, n, &made);
	space_uncharge(s, CHARGE_TABLES, (most - made) * PAGE_SIZE);
	return err;
}

// map's checks of its arguments alone, in the order its errors are documented.
static int map_args_check(uintptr_t va, struct mem *m, uint64_t off, uint64_t len, unsigned prot, unsigned maxprot)
{
	if ((prot & ~PROT_ALL) || (maxprot & ~PROT_ALL) || !range_args_ok(va, len) || (off & PAGE_MASK))
		return E_INVAL;
	if (prot & ~maxprot)
		return E_RIGHTS;
	uint64_t size = m->npages * PAGE_SIZE;
	if (!user_range_ok(va, len) || off > size || len > size - off)
		return E_RANGE;
	return E_OK;
}

// Whether [va, va + len) is free for a map: E_BUSY while a lazy range there may still
// be reached through stale entries somewhere, E_EXISTS over a mapping.
static int map_room_check(struct space *s, uintptr_t va, uint64_t len) REQUIRES(s->lock)
{
	if (overlaps_state(s, va, len, VMR_LAZY))
		return E_BUSY;
	return overlaps_state(s, va, len, VMR_MAPPED) ? E_EXISTS : E_OK;
}

// The PTEs of a fresh mapping of m at [va, va + len), whose record is in s->map and
// whose tables exist: one reference on m per page.
static void map_fill(struct space *s, uintptr_t va, struct mem *m, uint64_t off, uint64_t len, unsigned prot)
	REQUIRES(s->lock)
{
	struct fill f = { m, off / PAGE_SIZE, leaf_flags(prot) | (m->device ? PTE_UNCACHED : 0), 0 };
	mmu_range(s->root, &s->leaves, va, len / PAGE_SIZE, set_pte, &f);
	obj_ref_n(&m->obj, (int64_t)(len / PAGE_SIZE));
}

// map's work on s, its arguments checked; pin: NULL, or a pin (of a lease) that the
// new record gets, alone (never merged: its removal cannot fail).
static int map_locked(struct space *s, uintptr_t va, struct mem *m, uint64_t off, uint64_t len, unsigned prot,
		      unsigned maxprot, struct space_pin *pin)
{
	uint64_t n = len / PAGE_SIZE;
	int err;
	spin_lock(&s->lock);
	if (space_dead(s)) {
		err = E_NOENT;
		goto out;
	}
	reclaim_locked(s);
	if ((err = map_room_check(s, va, len)) != E_OK) // before any table is made for the range
		goto out;
	// Tables and records next: the only steps that can fail now, charged first.
	if ((err = map_prepare(s, va, n)) != E_OK)
		goto out;
	if ((err = records_charge(s, n, 1)) != E_OK)
		goto out;
	err = pin ? vmmap_insert_alone(&s->map, va, len, m, off, maxprot, (uint64_t)pin)
		  : vmmap_insert(&s->map, va, len, m, off, maxprot);
	if (err == E_OK) {
		map_fill(s, va, m, off, len, prot);
		if (pin)
			pin_link(s, pin, va, len);
	}
	records_settle(s);
out:
	spin_unlock(&s->lock);
	return err;
}

int space_map(struct space *s, uintptr_t va, struct mem *m, uint64_t off, uint64_t len, unsigned prot,
	      unsigned maxprot)
{
	int err = map_args_check(va, m, off, len, prot, maxprot);
	return err == E_OK ? map_locked(s, va, m, off, len, prot, maxprot, NULL) : err;
}

struct reprot {
	uint64_t flags;
	bool lowers;     // some page loses a right: needs a shootdown
};

// The PTEs hold the rights (vmmap only the most they may be), so whether a protect
// lowers any is read from them.
static void scan_lowers(pte_t *pte, uintptr_t va, void *arg)
{
	(void)va;
	struct reprot *r = arg;
	r->lowers |= mmu_flags_lower(*pte, r->flags);
}

static void reprot_pte(pte_t *pte, uintptr_t va, void *arg)
{
	(void)va;
	struct reprot *r = arg;
	r->lowers |= mmu_flags_lower(*pte, r->flags);
	*pte = (*pte & PTE_FRAME_BITS) | r->flags;
}

// Common checks of protect and unmap, taking the lock: E_OK with the lock held.
static int edit_begin(struct space *s, uintptr_t va, uint64_t len) TRY_ACQUIRES(0, s->lock) // 0: E_OK (an enum constant, which clang 14 does not take here)
{
	if (!range_args_ok(va, len))
		return E_INVAL;
	if (!user_range_ok(va, len))
		return E_RANGE;
	spin_lock(&s->lock);
	int err = space_dead(s) ? E_NOENT : E_OK;
	if (err == E_OK) {
		reclaim_locked(s);
		if (!vmmap_covered(&s->map, va, len))
			err = E_NOENT;
		else if (pinned(s, va, len))
			err = E_BUSY; // a lease holds it: lease_return first
	}
	if (err != E_OK)
		spin_unlock(&s->lock);
	return err;
}

int space_protect(struct space *s, struct space *payer, uintptr_t va, uint64_t len, unsigned prot)
{
	if (prot & ~PROT_ALL)
		return E_INVAL;
	int err = edit_begin(s, va, len);
	if (err != 0) // not E_OK: clang's lock analysis follows literals, not enum constants
		return err;
	if (prot & ~vmmap_maxprot(&s->map, va, len)) {
		err = E_RIGHTS; // above what a mem handle allowed: before any budget is spent
		goto out;
	}
	PHASE_MARK(PH_LOOKUP);
	uint64_t n = len / PAGE_SIZE;
	struct reprot r = { leaf_flags(prot), false };
	// Raising rights needs no shootdown: a CPU holding the old, narrower entry
	// faults, and the fault drops the entry before the access is retried (SDM 4.10.4.3).
	// A lowering others must flush is paid for before anything changes, so when other
	// CPUs may hold the space, a first pass finds out whether the call lowers.
	if (atomic_load(&s->cpus) & ~cpuset_of(cpu_id())) {
		mmu_range(s->root, &s->leaves, va, n, scan_lowers, &r);
		if (r.lowers && (err = shootdown_budget_check(s, payer)) != E_OK)
			goto out;
	}
	PHASE_MARK(PH_SCAN);
	// No record changes: protect allocates nothing and cannot fail from here on.
	struct tlb_gather g;
	gather_init(&g, &space_gather_ops, s, payer, GATHER_FLUSH);
	mmu_range(s->root, &s->leaves, va, n, reprot_pte, &r);
	if (r.lowers)
		gather_add_range(&g, va, n);
	gather_finish(&g); // nothing to release: a downgrade frees nothing
out:
	spin_unlock(&s->lock);
	return err;
}

// A PTE is non-zero only inside a mapped record (map writes them after inserting it,
// unmap and lazy unmap clear them as the record goes): a region with no mapped
// record has nothing in its tables.
static bool region_in_use(uintptr_t lo, uintptr_t hi, void *arg) NO_LOCK_ANALYSIS // under the lock: unlink_unused's caller's
{
	return overlaps_state(arg, lo, hi - lo + 1, VMR_MAPPED);
}

// After [va, va + len) lost its PTEs and its records: the tables it leaves with
// nothing in them go on *list (mmu.h), to be freed once no CPU can walk them.
static void unlink_unused(struct space *s, uintptr_t va, uint64_t len, uint64_t *list) REQUIRES(s->lock)
{
	spin_assert_held(&s->lock);
	mmu_unlink_unused(s->root, &s->leaves, va, len / PAGE_SIZE, region_in_use, s, list);
}

static void clear_pte(pte_t *pte, uintptr_t va, void *arg)
{
	(void)va;
	(void)arg;
	*pte = 0;
}

// The removed records land straight in the gather (on its stack up to
// GATHER_PIECES_ON_STACK, else reserved on the heap before anything changes), so
// finish flushes once and only then drops their references.
static int unmap_sync_locked(struct space *s, struct space *payer, uintptr_t va, uint64_t len, bool budgeted)
	REQUIRES(s->lock)
{
	spin_assert_held(&s->lock);
	int err = budgeted ? shootdown_budget_check(s, payer) : E_OK;
	if (err != E_OK)
		return err;
	struct tlb_gather g;
	gather_init(&g, &space_gather_ops, s, payer, GATHER_FLUSH);
	uint32_t room, n = 0;
	struct vm_range *slots = gather_slots(&g, &room);
	err = vmmap_remove(&s->map, va, len, slots, &n, room);
	if (err == E_RANGE && (err = gather_reserve(&g, n)) == E_OK) { // more than fit on the stack
		slots = gather_slots(&g, &room);
		err = vmmap_remove(&s->map, va, len, slots, &n, room);
	}
	if (err == E_OK) {
		mmu_range(s->root, &s->leaves, va, len / PAGE_SIZE, clear_pte, NULL);
		gather_add_range(&g, va, len / PAGE_SIZE);
		unlink_unused(s, va, len, gather_tables(&g));
		gather_commit(&g, n);
		records_settle(s);
	}
	gather_finish(&g); // on error: nothing gathered, nothing changed
	return err;
}

// No IPI: the PTEs go now, the VA and frames once every CPU that may hold the
// space's translations has passed a quiescent point (epoch.h). E_NOMEM if the tag or
// the records' split cannot be had: the caller unmaps synchronously instead.
static int unmap_lazy_locked(struct space *s, uintptr_t va, uint64_t len) REQUIRES(s->lock)
{
	spin_assert_held(&s->lock);
	if (space_charge(s, CHARGE_KERNEL, kheap_cost(sizeof(struct lazy_tag))) != E_OK)
		return E_NOMEM;
	struct lazy_tag *tag = kmalloc(sizeof *tag);
	int err = tag ? vmmap_mark_lazy(&s->map, va, len, (uint64_t)tag) : E_NOMEM;
	if (err != E_OK) {
		kfree(tag);
		space_uncharge(s, CHARGE_KERNEL, kheap_cost(sizeof *tag));
		return err;
	}
	records_settle(s);
	tag->pages = len / PAGE_SIZE;
	tag->tables = 0;
	tag->next = NULL;
	tag->passed = false;
	struct epoch_snap *snap = &tag->snap;
	mmu_range(s->root, &s->leaves, va, len / PAGE_SIZE, clear_pte, NULL);
	// Detached before the snapshot: the CPUs it waits for may cache the old entries.
	unlink_unused(s, va, len, &tag->tables);
	struct cpu *me = this_cpu();
	if (me->loaded == s)
		arch_tlb_flush_range(va, len / PAGE_SIZE); // one full flush past the threshold
	atomic_thread_fence(memory_order_seq_cst); // PTE writes before the read of cpus
	uint64_t counters[MAX_CPUS];
	read_counters(counters);
	epoch_snapshot(snap, atomic_load(&s->cpus) & ~cpuset_of(me->id), counters);
	if (s->lazy_tail)
		s->lazy_tail->next = tag;
	else
		s->lazy_head = tag;
	s->lazy_tail = tag;
	atomic_fetch_add(&s->lazy_count, 1);
	return E_OK;
}

int space_unmap(struct space *s, struct space *payer, uintptr_t va, uint64_t len, unsigned flags)
{
	if (flags & ~UNMAP_LAZY)
		return E_INVAL;
	int err = edit_begin(s, va, len);
	if (err != 0) // not E_OK: clang's lock analysis follows literals, not enum constants
		return err;
	// A lazy unmap is a promise of no IPI, not of the range staying busy: without the
	// memory for its tag it is done synchronously, so it never fails for memory.
	err = (flags & UNMAP_LAZY) ? unmap_lazy_locked(s, va, len) : E_NOMEM;
	if (err == E_NOMEM)
		err = unmap_sync_locked(s, payer, va, len, true);
	spin_unlock(&s->lock);
	return err;
}

// ---- Batches (mapv) -------------------------------------------------------------

int space_op_check(const struct space_op *o)
{
	switch (o->op) {
	case MAPOP_MAP:
		return map_args_check(o->va, o->m, o->off, o->len, o->prot, o->maxprot);
	case MAPOP_PROTECT:
		if (o->prot & ~PROT_ALL)
			return E_INVAL;
		/* fall through */
	case MAPOP_UNMAP:
		if (!range_args_ok(o->va, o->len))
			return E_INVAL;
		return user_range_ok(o->va, o->len) ? E_OK : E_RANGE;
	default:
		return E_INVAL;
	}
}

// The entries' ranges must not overlap: then no entry depends on another, each is
// checked against the space as it is, and the order they are applied in is no matter.
// keys: the start page and the index of each entry, sorted. E_INVAL and *bad: the
// later of two entries that overlap.
#define KEY_INDEX_BITS 11
_Static_assert(MAPV_MAX <= 1u << KEY_INDEX_BITS, "an index fits a key's low bits");

static int ops_disjoint(const struct space_op *ops, uint32_t n, uint64_t *keys, uint32_t *bad)
{
	for (uint32_t i = 0; i < n; i++)
		keys[i] = (ops[i].va / PAGE_SIZE) << KEY_INDEX_BITS | i;
	sort_u64(keys, n);
	uint64_t end = 0;   // the furthest end of the entries before, and whose it is
	uint32_t owner = 0;
	for (uint32_t k = 0; k < n; k++) {
		const struct space_op *o = &ops[keys[k] & ((1u << KEY_INDEX_BITS) - 1)];
		uint32_t i = (uint32_t)(o - ops);
		if (k && o->va < end) {
			*bad = i > owner ? i : owner;
			return E_INVAL;
		}
		if (o->va + o->len > end)
			end = o->va + o->len, owner = i;
	}
	return E_OK;
}

// Each entry against the space as it is, in vector order: E_OK with what the batch
// needs counted in *t.
struct batch {
	uint64_t map_pages;  // pages the maps add
	uint32_t records;    // records the batch may add at most (one per map or unmap)
	uint32_t pieces;     // records the unmaps remove, whole or in part
	bool flush;          // some entry unmaps, or lowers rights other CPUs may cache
};

static uint32_t records_in(struct space *s, uintptr_t va, uint64_t len) REQUIRES(s->lock)
{
	uint32_t k = 0;
	struct vm_range r;
	for (uint64_t a = va; vmmap_next(&s->map, a, &r) == E_OK && r.va < va + len; a = r.va + r.len)
		k++;
	return k;
}

static int op_check_in(struct space *s, const struct space_op *o, struct batch *t) REQUIRES(s->lock)
{
	if (o->op == MAPOP_MAP) {
		t->map_pages += o->len / PAGE_SIZE;
		t->records++;
		return map_room_check(s, o->va, o->len);
	}
	if (!vmmap_covered(&s->map, o->va, o->len))
		return E_NOENT;
	if (pinned(s, o->va, o->len))
		return E_BUSY;
	if (o->op == MAPOP_UNMAP) {
		t->records++;
		t->pieces += records_in(s, o->va, o->len);
		t->flush = true;
		return E_OK;
	}
	if (o->prot & ~vmmap_maxprot(&s->map, o->va, o->len))
		return E_RIGHTS;
	if (atomic_load(&s->cpus) & ~cpuset_of(cpu_id())) { // as protect: only a lowering others may cache
		struct reprot r = { leaf_flags(o->prot), false };
		mmu_range(s->root, &s->leaves, o->va, o->len / PAGE_SIZE, scan_lowers, &r);
		t->flush |= r.lowers;
	}
	return E_OK;
}

// Applies one checked entry whose storage is reserved: it cannot fail.
static void op_apply(struct space *s, const struct space_op *o, struct tlb_gather *g) REQUIRES(s->lock)
{
	uint64_t n = o->len / PAGE_SIZE;
	if (o->op == MAPOP_MAP) {
		int err = vmmap_insert(&s->map, o->va, o->len, o->m, o->off, o->maxprot);
		KASSERT(err == E_OK);
		map_fill(s, o->va, o->m, o->off, o->len, o->prot);
	} else if (o->op == MAPOP_PROTECT) {
		struct reprot r = { leaf_flags(o->prot), false };
		mmu_range(s->root, &s->leaves, o->va, n, reprot_pte, &r);
		if (r.lowers)
			gather_add_range(g, o->va, n);
	} else {
		uint32_t room, got = 0;
		struct vm_range *slots = gather_slots(g, &room);
		int err = vmmap_remove(&s->map, o->va, o->len, slots, &got, room);
		KASSERT(err == E_OK);
		mmu_range(s->root, &s->leaves, o->va, n, clear_pte, NULL);
		gather_add_range(g, o->va, n);
		gather_commit(g, got);
	}
}

// The budget, then everything that needs memory: E_OK once nothing can fail. On error
// the gather holds nothing but its storage, and tables made stay empty (as map's).
static int batch_reserve(struct space *s, struct space *payer, const struct space_op *ops, uint32_t n,
			 const struct batch *t, struct tlb_gather *g, uint32_t *bad) REQUIRES(s->lock)
{
	int err = t->flush ? shootdown_budget_check(s, payer) : E_OK;
	if (err == E_OK)
		err = gather_reserve(g, t->pieces);
	if (err == E_OK && (err = records_charge(s, t->map_pages, t->records)) == E_OK)
		err = vmmap_reserve(&s->map, t->records);
	for (uint32_t i = 0; err == E_OK && i < n; i++)
		if (ops[i].op == MAPOP_MAP && (err = map_prepare(s, ops[i].va, ops[i].len / PAGE_SIZE)) != E_OK)
			*bad = i;
	return err;
}

// A batch holds the lock for up to MAPV_MAX entries: an interrupt window every
// BATCH_WINDOW of them bounds what others wait (as a range walk's per leaf table).
#define BATCH_WINDOW 16

int space_mapv(struct space *s, struct space *payer, const struct space_op *ops, uint32_t n, uint64_t *keys,
	       uint32_t *bad)
{
	*bad = n;
	if (n == 0 || n > MAPV_MAX)
		return E_INVAL;
	int err = E_OK;
	for (uint32_t i = 0; err == E_OK && i < n; i++)
		if ((err = space_op_check(&ops[i])) != E_OK)
			*bad = i;
	if (err == E_OK)
		err = ops_disjoint(ops, n, keys, bad);
	if (err != E_OK)
		return err;
	spin_lock(&s->lock);
	if (space_dead(s)) {
		spin_unlock(&s->lock);
		return E_NOENT;
	}
	reclaim_locked(s);
	struct batch t = { 0, 0, 0, false };
	for (uint32_t i = 0; err == E_OK && i < n; i++) {
		if ((err = op_check_in(s, &ops[i], &t)) != E_OK)
			*bad = i;
		if (i % BATCH_WINDOW == BATCH_WINDOW - 1)
			irq_window();
	}
	struct tlb_gather g;
	gather_init(&g, &space_gather_ops, s, payer, GATHER_FLUSH);
	if (err == E_OK && (err = batch_reserve(s, payer, ops, n, &t, &g, bad)) == E_OK) {
		for (uint32_t i = 0; i < n; i++) {
			op_apply(s, &ops[i], &g);
			if (i % BATCH_WINDOW == BATCH_WINDOW - 1)
				irq_window();
		}
		// After every map is in: a table an unmap emptied may serve a map beside it.
		for (uint32_t i = 0; i < n; i++)
			if (ops[i].op == MAPOP_UNMAP)
				unlink_unused(s, ops[i].va, ops[i].len, gather_tables(&g));
	}
	records_settle(s);
	gather_finish(&g); // one flush for the whole batch
	spin_unlock(&s->lock);
	return err;
}

// ---- Moving a range (remap) -----------------------------------------------------

#define MOVE_CHUNK 64 // PTEs carried from the old range to the new at a time

struct move {
	pte_t pte[MOVE_CHUNK];
	unsigned i;
};

static void take_pte(pte_t *pte, uintptr_t va, void *arg)
{
	(void)va;
	struct move *m = arg;
	m->pte[m->i++] = *pte;
	*pte = 0;
}

static void put_pte(pte_t *pte, uintptr_t va, void *arg)
{
	(void)va;
	struct move *m = arg;
	*pte = m->pte[m->i++];
}

// Every PTE of [va, va + n pages) to the same place in [to, ...): frames and rights
// as they are (a no-access page keeps its frame), the old entries cleared.
static void move_ptes(struct space *s, uintptr_t va, uintptr_t to, uint64_t n) REQUIRES(s->lock)
{
	struct move m;
	for (uint64_t done = 0; done < n; done += MOVE_CHUNK) {
		uint64_t k = n - done < MOVE_CHUNK ? n - done : MOVE_CHUNK;
		m.i = 0;
		mmu_range(s->root, &s->leaves, va + done * PAGE_SIZE, k, take_pte, &m);
		m.i = 0;
		mmu_range(s->root, &s->leaves, to + done * PAGE_SIZE, k, put_pte, &m);
	}
}

// The records of [va, va + len) to [to, ...): the removed pieces land in the
// gather's free slots, which remap reads back and never commits (their references
// move with them, nothing is released).
static void remap_records(struct space *s, struct tlb_gather *g, uintptr_t va, uint64_t len, uintptr_t to)
	REQUIRES(s->lock)
{
	uint32_t room, got = 0;
	struct vm_range *p = gather_slots(g, &room);
	int err = vmmap_remove(&s->map, va, len, p, &got, room);
	KASSERT(err == E_OK);
	for (uint32_t i = 0; i < got; i++) {
		err = vmmap_insert(&s->map, p[i].va - va + to, p[i].len, p[i].obj, p[i].off, p[i].maxprot);
		KASSERT(err == E_OK);
	}
}

static int remap_args_check(uintptr_t va, uint64_t len, uintptr_t to)
{
	if (!range_args_ok(va, len) || (to & PAGE_MASK))
		return E_INVAL;
	if (!user_range_ok(va, len) || !user_range_ok(to, len))
		return E_RANGE;
	return va < to + len && to < va + len ? E_INVAL : E_OK; // overlapping: say so, not guess
}

int space_remap(struct space *s, struct space *payer, uintptr_t va, uint64_t len, uintptr_t to)
{
	int err = remap_args_check(va, len, to);
	if (err != E_OK)
		return err;
	err = edit_begin(s, va, len);
	if (err != 0) // not E_OK: clang's lock analysis follows literals, not enum constants
		return err;
	uint64_t n = len / PAGE_SIZE;
	uint32_t pieces = records_in(s, va, len);
	struct tlb_gather g;
	gather_init(&g, &space_gather_ops, s, payer, GATHER_FLUSH);
	// The new range as for a map, then the budget of an unmap of the old, then memory:
	// a split at each end of the old range, and the pieces again at the new place.
	if ((err = map_room_check(s, to, len)) == E_OK && (err = shootdown_budget_check(s, payer)) == E_OK &&
	    (err = gather_reserve(&g, pieces)) == E_OK && (err = records_charge(s, 0, pieces + 2)) == E_OK &&
	    (err = vmmap_reserve(&s->map, pieces + 2)) == E_OK && (err = map_prepare(s, to, n)) == E_OK) {
		remap_records(s, &g, va, len, to);
		move_ptes(s, va, to, n);
		gather_add_range(&g, va, n); // the new range was empty: nothing to flush there
		unlink_unused(s, va, len, gather_tables(&g));
	}
	records_settle(s);
	gather_finish(&g);
	spin_unlock(&s->lock);
	return err;
}

// ---- Leases' two ends (lease.c) ----------------------------------------------------

struct lend_edit {
	uint64_t *saved;  // take: the old flags go here; restore: they come from here
	bool excl;
	uint64_t i;
};

static void lend_lower_pte(pte_t *pte, uintptr_t va, void *arg)
{
	(void)va;
	struct lend_edit *e = arg;
	e->saved[e->i++] = *pte & ~PTE_ADDR;
	*pte = e->excl ? *pte & PTE_ADDR : *pte & ~(pte_t)PTE_W; // no access keeps the frame, as protect's
}

static void lend_restore_pte(pte_t *pte, uintptr_t va, void *arg)
{
	(void)va;
	struct lend_edit *e = arg;
	*pte = (*pte & PTE_ADDR) | e->saved[e->i++];
}

// take's checks against s, in its documented order; *r is the one record.
static int lend_check(struct space *s, uintptr_t va, uint64_t len, bool excl, struct vm_range *r)
	REQUIRES(s->lock)
{
	if (space_dead(s) || !vmmap_covered(&s->map, va, len))
		return E_NOENT;
	if (pinned(s, va, len))
		return E_BUSY;
	vmmap_find(&s->map, va, r); // covered: it is there, and mapped
	if (r->va + r->len < va + len)
		return E_RANGE;
	if (((struct object *)r->obj)->type != OBJ_MEM)
		return E_TYPE;
	if (((struct mem *)r->obj)->device)
		return E_TYPE; // device registers are no frames to check or send
	unsigned need = excl ? PROT_READ | PROT_WRITE : PROT_READ;
	return need & ~r->maxprot ? E_RIGHTS : E_OK;
}

int space_lend_take(struct space *s, struct space *payer, uintptr_t va, uint64_t len, bool excl,
		    struct space_pin *pin, uint64_t *saved, struct mem **m, uint64_t *off)
{
	if (!range_args_ok(va, len))
		return E_INVAL;
	if (!user_range_ok(va, len))
		return E_RANGE;
	struct vm_range r;
	spin_lock(&s->lock);
	if (!space_dead(s))
		reclaim_locked(s);
	int err = lend_check(s, va, len, excl, &r);
	// Almost every lend lowers a right: charged whenever other CPUs may hold the space.
	if (err == E_OK && (atomic_load(&s->cpus) & ~cpuset_of(cpu_id())))
		err = shootdown_budget_check(s, payer);
	if (err == E_OK) {
		struct lend_edit e = { saved, excl, 0 };
		struct tlb_gather g;
		gather_init(&g, &space_gather_ops, s, payer, GATHER_FLUSH);
		mmu_range(s->root, &s->leaves, va, len / PAGE_SIZE, lend_lower_pte, &e);
		gather_add_range(&g, va, len / PAGE_SIZE);
		gather_finish(&g); // after this, no CPU writes there (excl: reads) through s
		pin_link(s, pin, va, len);
		*m = r.obj;
		obj_ref(&(*m)->obj);
		*off = r.off + (va - r.va);
	}
	spin_unlock(&s->lock);
	return err;
}

void space_lend_restore(struct space *s, struct space_pin *pin, const uint64_t *saved)
{
	spin_lock(&s->lock);
	if (pin->linked) {
		if (!atomic_load(&s->torn_down)) { // else its tables are gone
			struct lend_edit e = { (uint64_t *)saved, false, 0 };
			mmu_range(s->root, &s->leaves, pin->va, pin->len / PAGE_SIZE, lend_restore_pte, &e);
		}
		pin_unlink(s, pin);
	}
	spin_unlock(&s->lock);
}

int space_lend_map(struct space *s, uintptr_t va, struct mem *m, uint64_t off, uint64_t len, unsigned prot,
		   struct space_pin *pin)
{
	int err = map_args_check(va, m, off, len, prot, prot);
	return err == E_OK ? map_locked(s, va, m, off, len, prot, prot, pin) : err;
}

int space_lend_unmap(struct space *s, struct space *payer, struct space_pin *pin, bool budgeted)
{
	int err = E_OK;
	spin_lock(&s->lock);
	if (pin->linked) {
		// The record is the pin's alone and whole (nothing could split or merge it):
		// its removal needs no memory.
		if (!atomic_load(&s->torn_down))
			err = unmap_sync_locked(s, payer, pin->va, pin->len, budgeted);
		KASSERT(err == E_OK || err == E_BUDGET);
		if (err == E_OK)
			pin_unlink(s, pin);
	}
	spin_unlock(&s->lock);
	return err;
}

bool space_fault_spurious(struct space *s, uintptr_t va, uint64_t err)
{
	if (!user_range_ok(va, 1))
		return false;
	// No lock: a racing change only means another fault. A racing unmap may free a
	// table this walk reads (it reads the frame through a window, whatever it holds
	// now): the worst is a wrong "spurious", and the retried access faults again.
	pte_t e = pt_lookup(s->root, va);
	if ((e & (PTE_P | PTE_U)) != (PTE_P | PTE_U))
		return false;
	if ((err & PF_ERR_WRITE) && !(e & PTE_W))
		return false;
	return !((err & PF_ERR_FETCH) && (e & PTE_NX));
}

void space_get_stats(struct space *s, struct space_stats *out)
{
	spin_lock(&s->lock);
	if (!space_dead(s))
		reclaim_locked(s);
	struct space_counters *c = &s->counters;
	*out = (struct space_stats){
		.ipis_sent = atomic_load_explicit(&c->ipis_sent, memory_order_relaxed),
		.remote_flushes = atomic_load_explicit(&c->remote_flushes, memory_order_relaxed),
		.local_flushes = atomic_load_explicit(&c->local_flushes, memory_order_relaxed),
		.full_flushes = atomic_load_explicit(&c->full_flushes, memory_order_relaxed),
		.pages_flushed = atomic_load_explicit(&c->pages_flushed, memory_order_relaxed),
		.lazy_reclaimed = atomic_load_explicit(&c->lazy_reclaimed, memory_order_relaxed),
		.budget_denials = atomic_load_explicit(&c->budget_denials, memory_order_relaxed),
		.wake_ipis = atomic_load_explicit(&c->wake_ipis, memory_order_relaxed),
		.kick_ipis = atomic_load_explicit(&c->kick_ipis, memory_order_relaxed),
		.ipis_deferred = atomic_load_explicit(&c->ipis_deferred, memory_order_relaxed),
	};
	out->lazy_pending = atomic_load(&s->lazy_count);
	out->frames_charged = atomic_load(&s->charged_by[CHARGE_MEM]) / PAGE_SIZE;
	out->quota = s->quota;
	out->charged = atomic_load(&s->charged);
	out->table_frames = atomic_load(&s->charged_by[CHARGE_TABLES]) / PAGE_SIZE;
	out->kernel_bytes = atomic_load(&s->charged_by[CHARGE_KERNEL]);
	out->children_quota = atomic_load(&s->charged_by[CHARGE_CHILDREN]);
	out->mappings = space_dead(s) ? 0 : vmmap_pages(&s->map, VMR_MAPPED);
	out->vcpus = atomic_load(&s->nvcpus);
	out->faults = atomic_load(&s->faults);
	out->exit_status = atomic_load(&s->exit_status);
	spin_unlock(&s->lock);
	spin_lock(&s->budget_lock);
	out->budget_per_tick = s->budget_per_tick;
	out->budget_carved = s->budget_carved;
	spin_unlock(&s->budget_lock);
}

int space_set_budget(struct space *s, uint64_t ipis_per_tick)
{
	if (ipis_per_tick > INT64_MAX)
		return E_INVAL; // tokens are signed
	spin_lock(&tree_lock);
	int err = E_OK;
	if (s->parent && ipis_per_tick == 0)
		err = E_INVAL; // a child is never unbudgeted
	else if (ipis_per_tick && ipis_per_tick < s->budget_carved)
		err = E_BUSY;  // its children hold more than that: they give it back first
	else if (s->parent)
		err = budget_carve(s->parent, s->budget_per_tick, ipis_per_tick);
	if (err == E_OK) {
		spin_lock(&s->budget_lock);
		s->budget_per_tick = ipis_per_tick;
		s->budget_tokens = (int64_t)(ipis_per_tick - s->budget_carved);
		spin_unlock(&s->budget_lock);
	}
	spin_unlock(&tree_lock);
	return err;
}

// Skips dead children: what is left of them is going, and a handle to one is no use.
int space_child(struct space *s, uint64_t index, struct space **out)
{
	int err = E_NOENT;
	spin_lock(&tree_lock);
	for (struct space *c = s->children; c; c = c->sib_next) {
		if (space_dead(c))
			continue;
		if (index-- == 0) {
			err = ref_unless_zero(c) ? E_OK : E_NOENT;
			*out = c;
			break;
		}
	}
	spin_unlock(&tree_lock);
	return err;
}

// ---- Handles -----------------------------------------------------------------

int space_handle_get_rights(struct space *s, int h, unsigned type, uint32_t need, struct object **o,
			    uint32_t *rights)
{
	void *obj;
	spin_lock(&s->lock);
	int err = htable_get(&s->handles, h, type, need, &obj);
	if (err == E_OK) {
		*o = obj;
		obj_ref(*o);
		if (rights)
			*rights = s->handles.slot[h].rights;
	}
	spin_unlock(&s->lock);
	return err;
}

int space_handle_get(struct space *s, int h, unsigned type, uint32_t need, struct object **o)
{
	return space_handle_get_rights(s, h, type, need, o, NULL);
}

// A space's handles to itself hold no reference (like H_SELF): a strong one would
// keep a space nobody else can reach alive forever.
static bool weak(struct space *s, void *obj) { return obj == s; }

int space_handle_add(struct space *s, struct object *o, unsigned type, uint32_t rights)
{
	spin_lock(&s->lock);
	int idx = space_dead(s) ? E_NOENT : htable_alloc(&s->handles, o, type, rights);
	if (idx >= 0 && !weak(s, o))
		obj_ref(o);
	spin_unlock(&s->lock);
	return idx;
}

int space_handle_dup(struct space *s, int h, uint32_t rights)
{
	spin_lock(&s->lock);
	int idx = htable_dup(&s->handles, h, rights);
	if (idx >= 0 && !weak(s, s->handles.slot[idx].obj))
		obj_ref(s->handles.slot[idx].obj);
	spin_unlock(&s->lock);
	return idx;
}

int space_handle_close(struct space *s, int h)
{
	if (h == H_SELF)
		return E_INVAL; // a weak entry: closing or moving it would unbalance the count
	struct handle e;
	spin_lock(&s->lock);
	int err = htable_close(&s->handles, h, &e);
	spin_unlock(&s->lock);
	if (err == E_OK && !weak(s, e.obj))
		obj_unref(e.obj); // outside the lock: it may destroy the object
	return err;
}

int space_handle_close_if(struct space *s, int h, struct object *o)
{
	if (h == H_SELF)
		return E_INVAL;
	void *obj;
	struct handle e;
	spin_lock(&s->lock);
	int err = htable_get(&s->handles, h, OBJ_ANY, 0, &obj);
	if (err == E_OK && obj != o)
		err = E_BADH;
	if (err == E_OK)
		htable_close(&s->handles, h, &e);
	spin_unlock(&s->lock);
	if (err == E_OK)
		obj_unref(e.obj); // never o's last: the caller holds one
	return err;
}

// Not analysed inside: for a == b it takes one lock, which clang counts as two.
static void lock_two(struct space *a, struct space *b) ACQUIRES(a->lock, b->lock) NO_LOCK_ANALYSIS
{
	if (a == b) {
		spin_lock(&a->lock);
	} else if (a < b) {
		spin_lock(&a->lock);
		spin_lock(&b->lock);
	} else {
		spin_lock(&b->lock);
		spin_lock(&a->lock);
	}
}

static void unlock_two(struct space *a, struct space *b) RELEASES(a->lock, b->lock) NO_LOCK_ANALYSIS
{
	spin_unlock(&a->lock);
	if (a != b)
		spin_unlock(&b->lock);
}

// Moves handle h of s into to: the reference moves with it.
int space_handle_transfer(struct space *s, int h, struct space *to)
{
	if (h == H_SELF)
		return E_INVAL;
	void *obj;
	lock_two(s, to);
	int idx = htable_get(&s->handles, h, OBJ_ANY, R_TRANSFER, &obj);
	if (idx == E_OK)
		idx = space_dead(to) ? E_NOENT : E_OK;
	if (idx == E_OK) {
		struct handle e = s->handles.slot[h];
		idx = htable_alloc(&to->handles, e.obj, e.type, e.rights);
		if (idx >= 0) {
			htable_close(&s->handles, h, NULL);
			// The reference moves with the handle, unless either end is weak.
			if (weak(s, e.obj) && !weak(to, e.obj))
				obj_ref(e.obj);
			if (!weak(s, e.obj) && weak(to, e.obj))
				obj_unref(e.obj); // to is held by our caller: never the last one
		}
	}
	unlock_two(s, to);
	return idx;
}

// ---- Quota and threads ---------------------------------------------------------

int space_charge(struct space *s, enum charge kind, uint64_t bytes)
{
	uint64_t old = atomic_load(&s->charged);
	do {
		if (bytes > s->quota - old)
			return E_NOMEM;
	} while (!atomic_compare_exchange_weak(&s->charged, &old, old + bytes));
	atomic_fetch_add(&s->charged_by[kind], bytes);
	return E_OK;
}

void space_uncharge(struct space *s, enum charge kind, uint64_t bytes)
{
	KASSERT(atomic_load(&s->charged_by[kind]) >= bytes);
	atomic_fetch_sub(&s->charged_by[kind], bytes);
	atomic_fetch_sub(&s->charged, bytes);
}

int space_vcpu_add(struct space *s, struct vcpu *v)
{
	spin_lock(&s->lock);
	int err = space_dead(s) ? E_NOENT : E_OK;
	if (err == E_OK) {
		atomic_fetch_add(&s->nvcpus, 1);
		obj_ref(&s->obj);
		v->space_next = s->vcpus;
		s->vcpus = v;
	}
	spin_unlock(&s->lock);
	return err;
}

void space_note_exit(struct space *s, int status)
{
	int zero = 0;
	if (status != 0)
		atomic_compare_exchange_strong(&s->exit_status, &zero, status);
}

void space_note_fault(struct space *s) { atomic_fetch_add(&s->faults, 1); }

// ---- Deletion and teardown -----------------------------------------------------

// Drops every mapping, lazy range, handle and table. Runs once, when the space is
// dead and has no threads left, so no CPU has it loaded and no shootdown is needed:
// the gather is GATHER_QUIESCED, and frees the tables last.
static void teardown(struct space *s)
{
	KASSERT(atomic_load(&s->cpus) == 0);
	spin_lock(&s->lock); // waits out any call that checked `dead` before it was set
	struct tlb_gather g;
	gather_init(&g, &space_gather_ops, s, NULL, GATHER_QUIESCED);
	struct vm_range r;
	for (uint64_t va = 0; vmmap_next(&s->map, va, &r) == E_OK; va = r.va + r.len) {
		if (r.state == VMR_LAZY)
			lazy_tag_put(s, &r, &g);
		gather_defer_unref(&g, &r);
		irq_window();
	}
	vmmap_destroy(&s->map);
	records_settle(s); // no records, no storage: nothing
	s->lazy_head = s->lazy_tail = NULL; // their tags went with their records
	for (struct space_pin *p = s->pins, *next; p; p = next) { // their ranges went too
		next = p->next;
		p->linked = false;
		if (p->gone)
			p->gone(p);
	}
	s->pins = NULL;
	atomic_store(&s->lazy_count, 0);
	gather_defer_root(&g, s->root);
	s->root = 0;
	gather_finish(&g);
	space_uncharge(s, CHARGE_TABLES, atomic_load(&s->charged_by[CHARGE_TABLES]));
	if (s->exit_watch) // nobody fired it: no vcpu ran since it was set
		obj_unref(&s->exit_watch->obj);
	s->exit_watch = NULL;
	spin_unlock(&s->lock);
	// Handles last, each closed under the lock and dropped outside it: the end of a
	// lease this space held takes its lender's lock (lease.c), never nested in this one.
	struct handle e;
	for (int i = 1;; i++) {
		spin_lock(&s->lock);
		if ((i = htable_next(&s->handles, i)) >= 0)
			htable_close(&s->handles, i, &e);
		spin_unlock(&s->lock);
		if (i < 0)
			break;
		if (!weak(s, e.obj))
			obj_unref(e.obj);
	}
}

static void try_teardown(struct space *s)
{
	bool no = false;
	// No lock: both ends of the race call here after their own step (space_delete after
	// setting dead, space_vcpu_gone after dropping nvcpus), so the later one sees both;
	// torn_down's exchange makes it run once.
	if (space_dead(s) && atomic_load(&s->nvcpus) == 0 &&
	    atomic_compare_exchange_strong(&s->torn_down, &no, true))
		teardown(s);
}

// Ends the waits of a dead space's blocked vcpus. A vcpu that checked `dead` just
// before it was set may block after this pass: waiters of a deletion call it again.
static void wake_blocked(struct space *s, struct space *payer)
{
	spin_lock(&s->lock);
	for (struct vcpu *v = s->vcpus; v; v = v->space_next)
		notify_cancel_wait(v, payer); // lock order: space, then notify
	spin_unlock(&s->lock);
}


// Puts s's children that no walk has claimed yet on *list, each with a reference.
static void claim_children(struct space *s, struct space **list)
{
	spin_lock(&tree_lock);
	for (struct space *c = s->children; c; c = c->sib_next) {
		bool no = false;
		if (atomic_compare_exchange_strong(&c->doomed, &no, true) && ref_unless_zero(c)) {
			c->doomed_next = *list;
			*list = c;
		}
	}
	spin_unlock(&tree_lock);
}

static int delete_one(struct space *s, struct space *payer);

// Deletes every descendant of s, breadth first from a work list threaded through
// the spaces themselves: no recursion and no allocation, however deep or wide the
// tree (a chain of 10,000, a fan of 10,000), and cycles of handles inside the subtree
// no longer matter: each deleted space's teardown drops its handles.
static void delete_descendants(struct space *s, struct space *payer)
{
	struct space *list = NULL;
	claim_children(s, &list);
	while (list) {
		struct space *c = list;
		list = c->doomed_next;
		delete_one(c, payer);
		claim_children(c, &list);
		obj_unref(&c->obj);
	}
}

int space_delete(struct space *s, struct space *payer)
{
	int err = delete_one(s, payer);
	if (err == E_OK)
		delete_descendants(s, payer);
	return err;
}

static int delete_one(struct space *s, struct space *payer)
{
	spin_lock(&s->lock);
	bool was_dead = space_dead(s);
	atomic_store_explicit(&s->dead, true, memory_order_release);
	spin_unlock(&s->lock);
	if (was_dead)
		return E_NOENT;
	// Running vcpus see `dead` on their next way back to user mode: make it soon,
	// with one IPI per CPU, paid by the deleter. Over its budget they see it at their
	// next timer tick instead. Blocked ones are woken (their wait returns E_NOENT,
	// then they stop).
	cpuset_t running = atomic_load(&s->cpus) & ~cpuset_of(cpu_id());
	if (running && space_budget_take(payer, cpuset_count(running)) == E_OK) {
		xcall_kick(running);
		if (payer)
			space_count(&payer->counters.kick_ipis, (uint64_t)cpuset_count(running));
	} else if (running) {
		space_count(&payer->counters.ipis_deferred, (uint64_t)cpuset_count(running));
	}
	wake_blocked(s, payer);
	try_teardown(s);
	return E_OK;
}

bool space_wait_torn_down(struct space *s, struct space *caller)
{
	while (!atomic_load(&s->torn_down)) {
		// Two spaces deleting each other would wait forever: threads leave a dead
		// space only on their way back to user mode. The caller's own deletion wins.
		if (caller && space_dead(caller))
			return false;
		wake_blocked(s, caller);
		sched_idle_once();
	}
	return true;
}

void space_vcpu_unlink(struct space *s, struct vcpu *v)
{
	spin_lock(&s->lock);
	for (struct vcpu **p = &s->vcpus; *p; p = &(*p)->space_next)
		if (*p == v) {
			*p = v->space_next;
			break;
		}
	spin_unlock(&s->lock);
}

// Takes s's exit watch if s has no vcpu left (NULL if it has, or has no watch). The
// watcher stores its watch under the lock and then reads nvcpus; the last vcpu drops
// nvcpus and then takes the lock: one of the two sees the other's step, and taking
// the watch under the lock makes it fire once.
static struct notify *take_watch(struct space *s, uint64_t *bits)
{
	if (atomic_load(&s->nvcpus) != 0)
		return NULL;
	spin_lock(&s->lock);
	struct notify *n = s->exit_watch;
	*bits = s->exit_bits;
	s->exit_watch = NULL;
	spin_unlock(&s->lock);
	return n;
}

static void fire_watch(struct notify *n, uint64_t bits)
{
	notify_signal(n, bits, NULL); // the kernel pays: one wake-up per watch set
	obj_unref(&n->obj);           // the waiter's handle keeps it, if it kept one
}

int space_watch(struct space *s, struct notify *n, uint64_t bits)
{
	spin_lock(&s->lock);
	if (space_dead(s)) { // teardown has dropped, or will drop, the watch it saw
		spin_unlock(&s->lock);
		return E_NOENT;
	}
	struct notify *old = s->exit_watch;
	obj_ref(&n->obj);
	s->exit_watch = n;
	s->exit_bits = bits;
	spin_unlock(&s->lock);
	if (old)
		obj_unref(&old->obj);
	if ((n = take_watch(s, &bits)))
		fire_watch(n, bits);
	return E_OK;
}

void space_vcpu_gone(struct space *s)
{
	atomic_fetch_sub(&s->nvcpus, 1);
	uint64_t bits;
	struct notify *n = take_watch(s, &bits);
	try_teardown(s);
	obj_unref(&s->obj);
	// Last: the watcher may count the kernel heap as soon as it wakes, and the space's
	// vcpus (and this reference) are gone by then.
	if (n)
		fire_watch(n, bits);
}

void space_destroy(struct space *s)
{
	atomic_store_explicit(&s->dead, true, memory_order_release); // the last reference: nobody races
	delete_descendants(s, NULL); // a space's end is its subtree's end
	try_teardown(s); // no threads: they hold references
	space_release(s); // the struct goes now, or with its last child's
}
