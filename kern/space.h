// space.h: address spaces: page tables, a handle table, mapping bookkeeping and the
// shootdown accounting, separate from anything that runs in them (SPEC §1-2).
// A space lives until space_delete() (or until nothing refers to it any more); a
// deleted space stops its threads, drops every mapping and handle, and frees its
// tables, while its struct lives on until the last reference goes.
#ifndef KERN_SPACE_H
#define KERN_SPACE_H
#include <stdint.h>
#include <stdbool.h>
#include "kern/object.h"
#include "kern/percpu.h"
#include "kern/spinlock.h"
#include "kern/handle.h"
#include "kern/vmmap.h"
#include "include/pagoda/abi.h"
#include <arch/mmu.h>

struct mem;
struct lazy_tag;
struct vcpu;

// A range of a space that a lease holds still (kern/lease.c): lent out of it, or
// borrowed into it. While linked, the space's own calls cannot unmap, protect or
// remap any page of it (E_BUSY), so its PTEs are the lease's until the lease ends.
// Linked and unlinked only under the space's lock (pins, below).
struct space_pin {
	struct space_pin *next, *prev;
	uintptr_t va;
	uint64_t len;
	bool linked;
	// Called (under the lock) when the space is torn down with the pin linked: its
	// range is gone with the space, and the pin is unlinked. NULL: nothing to do.
	void (*gone)(struct space_pin *pin);
};

// Counters of struct space_stats that are bumped where the work happens, by whoever
// does it: a payer's shootdown counters by calls on other spaces, without their lock.
// Each is an atomic counter read alone (space_get_stats is no snapshot across them).
struct space_counters {
	_Atomic uint64_t ipis_sent, remote_flushes, local_flushes, full_flushes, pages_flushed;
	_Atomic uint64_t lazy_reclaimed, budget_denials;
	_Atomic uint64_t wake_ipis, kick_ipis, ipis_deferred; // see space_stats (abi.h)
};

static inline void space_count(_Atomic uint64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed); // statistics order nothing
}

// What a space pays for out of its quota, in bytes. Each kind is also counted alone
// (space_stats). The kinds a space causes are charged to it however they were made
// (a parent mapping into its child charges the child's tables and records).
enum charge {
	CHARGE_MEM,      // frames of the mem objects it created
	CHARGE_TABLES,   // its page tables, the root included
	CHARGE_KERNEL,   // kernel heap and stacks: the space itself with its handle table,
	                 // its mapping records, vcpus with kernel stacks, the mem objects
	                 // (their frame lists) and notifies it created, lazy tags
	CHARGE_CHILDREN, // the quotas carved out of it for its children
	CHARGE_KINDS
};

// lock protects: root's PTEs, leaves, map, handles, vcpus, lazy_head/lazy_tail,
//   records_charged, exit_watch/exit_bits, pins, and the
//   transition of dead (set once, under the lock; see space_dead()).
// cpus: atomic; a CPU sets its bit before loading root and clears it after loading
//   another root (space_switch), so a reader after a PTE write sees every CPU that
//   may hold a translation made before the write (docs/shootdown.md).
// dead, nvcpus, torn_down, lazy_count, charged, charged_by, holds, counters,
//   exit_status, faults: atomics.
// budget_*: budget_lock (a leaf lock: nothing is taken while holding it); budget_per_tick
//   and budget_carved change only with tree_lock (space.c) held as well.
// quota: written at creation only.
struct space {
	struct object obj;
	struct spinlock lock;
	_Atomic cpuset_t cpus;
	uint64_t root;                 // PML4, physical
	struct mmu_cache leaves;       // lock: recently walked leaf tables
	struct vmmap map;
	uint64_t records_charged;      // lock: CHARGE_KERNEL bytes held for map's storage
	struct htable handles;         // entries naming this space itself (H_SELF, dups) hold no reference
	_Atomic bool dead;             // space_delete() was called (release store, acquire loads)
	_Atomic bool torn_down;        // mappings, handles and tables are gone
	_Atomic uint32_t nvcpus;       // vcpus created and not yet reaped
	struct vcpu *vcpus;            // lock: those vcpus (linked by space_next)
	_Atomic uint32_t lazy_count;   // lazily unmapped ranges not yet reclaimed
	struct lazy_tag *lazy_head, *lazy_tail; // lock: their epochs, oldest first
	_Atomic uint64_t charged;      // bytes of every kind, never above quota
	_Atomic uint64_t charged_by[CHARGE_KINDS];
	uint64_t quota;                // bytes; a child's is carved out of its parent's
	struct spinlock budget_lock;
	uint64_t budget_per_tick;      // shootdown IPIs per 10 ms, its children's included;
	                               // 0 = unlimited (only a space the kernel made)
	uint64_t budget_carved;        // the part of it its children hold
	int64_t budget_tokens;
	uint64_t budget_stamp;         // tick count of the last refill
	struct space_counters counters; // space_count() adds, atomic loads
	_Atomic int exit_status;       // first non-zero status a vcpu stopped with
	_Atomic uint32_t faults;       // vcpus stopped by a fault no upcall could take
	struct space_pin *pins;        // lock: the ranges leases hold still (lent and borrowed)
	struct notify *exit_watch;     // lock: signalled exit_bits when nvcpus drops to 0 (space_watch)
	uint64_t exit_bits;
	// The lifetime tree (space.c's tree_lock, a leaf lock, guards the links): the space
	// that created this one (NULL: made by the kernel), its children, and its place
	// among its siblings. Deleting a space deletes its descendants. The struct lives
	// while it has references or children: holds counts one for the references and
	// one per child struct, so a parent's quota and budget come back only after every
	// descendant's (a child's memory can outlive its deletion, held by a mem handle).
	struct space *parent, *children, *sib_prev, *sib_next;
	_Atomic uint32_t holds;
	struct space *doomed_next;     // delete_descendants' work list; only its claimer
	_Atomic bool doomed;           // claimed by a delete_descendants walk (once)
};

#define SPACE_QUOTA_KERNEL (1ull << 30) // what the kernel gives a space it makes (uprog)

// One reference, the caller's. parent: the creating space (NULL: the kernel), which
// gives the child quota bytes and ipis_per_tick of its shootdown budget for as long as
// the child's struct lives. E_INVAL if a child asks for budget 0 (every child is
// budgeted); E_NOMEM if the parent's quota cannot spare quota, or quota cannot hold
// the space itself (space_cost()); E_BUDGET if the parent's budget cannot spare
// ipis_per_tick; E_NOENT if the parent is deleted already (its subtree is going).
int space_create(struct space **out, struct space *parent, uint64_t quota, uint64_t ipis_per_tick);
uint64_t space_cost(void); // what a new space charges itself: its struct and root table
void space_destroy(struct space *s);    // obj_unref_n() at zero
// E_NOENT if already deleted. payer (the deleting space; NULL: the kernel) pays for
// the IPIs that stop s's running vcpus and wake its blocked ones.
int space_delete(struct space *s, struct space *payer);
// Whether space_delete() was called. Exact under s->lock; without it a racing delete
// may not be seen yet, and callers say why that is harmless where they read it.
bool space_dead(struct space *s);
// Waits (yielding) until a deleted space is torn down; gives up (false) if caller's
// own space (NULL: the kernel) is deleted meanwhile.
bool space_wait_torn_down(struct space *s, struct space *caller);

// Loads s (NULL: kernel-only tables) on this CPU. Interrupts off.
void space_switch(struct space *to);

// Mapping calls; payer is charged for the shootdowns (the calling space, or NULL for
// the kernel). Arguments are checked as SPEC describes; nothing changes on error.
// maxprot: the most the mapping may ever get (protect above it is E_RIGHTS), from the
// rights of the mem handle it is made through.
int space_map(struct space *s, uintptr_t va, struct mem *m, uint64_t off, uint64_t len, unsigned prot,
	      unsigned maxprot);
int space_protect(struct space *s, struct space *payer, uintptr_t va, uint64_t len, unsigned prot);
int space_unmap(struct space *s, struct space *payer, uintptr_t va, uint64_t len, unsigned flags);
// One entry of a batch (space_mapv): a struct pg_mapop whose handle the caller has
// resolved (m holds a reference; maxprot from the handle's rights, as for space_map).
struct space_op {
	uint32_t op, prot;   // MAPOP_*, PROT_*
	uintptr_t va;
	uint64_t len;
	struct mem *m;       // MAPOP_MAP; else NULL
	uint64_t off;
	uint32_t maxprot;
	uint32_t index;      // the entry's place in the caller's vector (for *bad)
};
// Applies ops[0, n) to s as one change: all or nothing, one budget charge, one
// shootdown (one request per target CPU carrying the flushed ranges, up to 8 apart,
// else their union; a full flush past the threshold). Checked first, in this order, each reporting the entry
// at fault in *bad (n when none is): every entry alone, in vector order, as its own
// call would check it (E_INVAL, E_RANGE, E_RIGHTS); the ranges must be disjoint
// (E_INVAL for the later of two that overlap); then against s, in vector order
// (E_BUSY, E_EXISTS, E_NOENT); then the memory for tables, records and the gather
// (E_NOMEM) and the payer's budget (E_BUDGET). ops is the kernel's copy (sorted
// scratch space follows the caller's vector: keys[0, n)). Nothing changes on error.
// One entry alone, as its own call would check its arguments (E_INVAL, E_RIGHTS,
// E_RANGE); nothing of a space is read. space_mapv runs it on every entry too.
int space_op_check(const struct space_op *o);
int space_mapv(struct space *s, struct space *payer, const struct space_op *ops, uint32_t n, uint64_t *keys,
	       uint32_t *bad);
// Moves the mapping of [va, va + len) to [to, to + len): the same records (object,
// offset, maxprot) and PTEs (frames and rights), nothing copied; the old range is
// coherent on return as after a sync unmap. E_INVAL (alignment, overlapping ranges),
// E_RANGE, E_NOENT (old range not all mapped), E_BUSY / E_EXISTS (new range not
// free), E_NOMEM, E_BUDGET; nothing changes on error.
int space_remap(struct space *s, struct space *payer, uintptr_t va, uint64_t len, uintptr_t to);
void space_get_stats(struct space *s, struct space_stats *out);

// The two ends of a lease (kern/lease.c); payer pays for the shootdowns.
// Lender: [va, va + len) must be one mapping of one mem, in a single record, with
// no pin on it, and the record's maxprot must allow what the borrower gets (read;
// excl: read and write). Lowers every PTE (excl: to no access; else without write),
// saving the old entries' flags in saved[0, len / 4 KiB), with one shootdown; links
// pin; *m (a new reference), *off are what the range shows. E_NOENT (dead, not all
// mapped), E_BUSY (pinned), E_RANGE (more than one record), E_TYPE (not a mem),
// E_RIGHTS, E_BUDGET; nothing changes on error.
int space_lend_take(struct space *s, struct space *payer, uintptr_t va, uint64_t len, bool excl,
		    struct space_pin *pin, uint64_t *saved, struct mem **m, uint64_t *off);
// Undoes take (the PTEs get their saved flags back: a raise, no IPI) and unlinks the
// pin, unless s is torn down (then only unlinks). Idempotent: once the pin is unlinked
// it does nothing.
void space_lend_restore(struct space *s, struct space_pin *pin, const uint64_t *saved);
// Borrower: maps [off, off + len) of m at va with prot as its maxprot too, pinned.
// Errors as space_map's.
int space_lend_map(struct space *s, uintptr_t va, struct mem *m, uint64_t off, uint64_t len, unsigned prot,
		   struct space_pin *pin);
// Unpins and unmaps the borrowed range (coherent on return), unless s is torn down
// (then only unpins). budgeted: E_BUDGET (nothing changed) when the payer's budget is
// spent; else the shootdown is made and charged anyway. Idempotent as restore.
int space_lend_unmap(struct space *s, struct space *payer, struct space_pin *pin, bool budgeted);
// Sets s's budget, moving the difference to or from its parent's. E_INVAL for 0 on a
// child; E_BUDGET if the parent cannot spare the rise; E_BUSY below what s's own
// children hold. Nothing changes on error.
int space_set_budget(struct space *s, uint64_t ipis_per_tick);
// The index-th living child of s (newest first), with a reference; E_NOENT past the
// last. O(index) under a global leaf lock.
int space_child(struct space *s, uint64_t index, struct space **out);
bool space_lazy_waiting(struct space *s); // read at ticks, without the lock
// True if the current PTE allows the access a user #PF (error code err) was for:
// the fault came from a stale entry older than a rights raise.
bool space_fault_spurious(struct space *s, uintptr_t va, uint64_t err);

// Handles of s. get takes a reference on the object for the caller.
// The rights of every space's H_SELF, installed at creation; nothing closes or moves
// it (space_handle_close, space_handle_transfer refuse) until the teardown, which
// runs after the last vcpu: to a running vcpu H_SELF is its space with these rights.
#define SPACE_SELF_RIGHTS (R_ALL & ~R_BUDGET)
// As space_handle_get, and *rights gets the handle's rights.
int space_handle_get_rights(struct space *s, int h, unsigned type, uint32_t need, struct object **o,
			    uint32_t *rights);
int space_handle_get(struct space *s, int h, unsigned type, uint32_t need, struct object **o);
// Installs o (taking a new reference) with rights; returns the index.
int space_handle_add(struct space *s, struct object *o, unsigned type, uint32_t rights);
int space_handle_dup(struct space *s, int h, uint32_t rights);
int space_handle_close(struct space *s, int h);
// Closes h only if it still names o (E_BADH if not): for a caller holding a
// reference it got through h, which another thread may have closed and reused.
int space_handle_close_if(struct space *s, int h, struct object *o);
int space_handle_transfer(struct space *s, int h, struct space *to);

// Quota. E_NOMEM (nothing charged) if bytes do not fit what is left of s's quota.
int space_charge(struct space *s, enum charge kind, uint64_t bytes);
void space_uncharge(struct space *s, enum charge kind, uint64_t bytes);

// vcpus (vcpu.c).
int space_vcpu_add(struct space *s, struct vcpu *v);  // E_NOENT if deleted
// v leaves s's list of vcpus; then it may be freed.
void space_vcpu_unlink(struct space *s, struct vcpu *v);
// One of s's vcpus is gone, everything it owned already freed: whoever waits for s's
// vcpus to end (uprog_run_group's leak checks) sees the kernel heap as it will stay.
void space_vcpu_gone(struct space *s);
void space_note_exit(struct space *s, int status);
// Signals bits to n (holding a reference on it) when s has no vcpu left: at once if it
// has none now, else when its last one is gone; once, then the watch is dropped. A
// later watch replaces an earlier one. E_NOENT if s is deleted.
struct notify;
int space_watch(struct space *s, struct notify *n, uint64_t bits);
void space_note_fault(struct space *s);

#endif
