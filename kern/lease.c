// lease.c: leases (lease.h). A lease's life: lend takes the lender's rights and pins
// its range (space_lend_take), maps the frames into the borrower pinned there too
// (space_lend_map), and installs the handle; its end, by lease_return or by its last
// reference going, unmaps the borrower's view first and only then gives the lender
// its rights back, so no moment exists in which both may write.
#include <stddef.h>
#include "kern/lease.h"
#include "kern/mem.h"
#include "kern/kheap.h"
#include "kern/panic.h"
#include "include/pagoda/errors.h"
#include <arch/paging.h>

static uint64_t lease_cost(uint64_t pages) { return kheap_cost(sizeof(struct lease) + pages * sizeof(uint64_t)); }

// The borrower's teardown took its mappings (and the pin): what remains of the lease
// is the lender's end. The borrower paid for the lease, so it is paid back now, while
// its struct surely lives.
static void lease_borrower_gone(struct space_pin *pin)
{
	struct lease *l = (struct lease *)((char *)pin - offsetof(struct lease, in));
	space_uncharge(l->borrower, CHARGE_KERNEL, lease_cost(l->len / PAGE_SIZE));
	l->borrower = NULL;
}

static int lend_args_check(uintptr_t va, uint64_t len, uintptr_t to_va, unsigned flags)
{
	if ((flags & ~LEND_EXCL) || !len || ((va | len | to_va) & PAGE_MASK))
		return E_INVAL;
	return len / PAGE_SIZE > LEND_MAX_PAGES ? E_RANGE : E_OK;
}

int lease_lend(struct space *caller, struct space *lender, uintptr_t va, uint64_t len, uintptr_t to_va,
	       unsigned flags)
{
	int err = lend_args_check(va, len, to_va, flags);
	if (err != E_OK)
		return err;
	uint64_t cost = lease_cost(len / PAGE_SIZE);
	if (space_charge(caller, CHARGE_KERNEL, cost) != E_OK)
		return E_NOMEM;
	struct lease *l = kzalloc(sizeof *l + len / PAGE_SIZE * sizeof l->saved[0]);
	if (!l) {
		space_uncharge(caller, CHARGE_KERNEL, cost);
		return E_NOMEM;
	}
	l->excl = flags & LEND_EXCL;
	l->len = len;
	l->in.gone = lease_borrower_gone;
	err = space_lend_take(lender, caller, va, len, l->excl, &l->out, l->saved, &l->mem, &l->off);
	if (err == E_OK) {
		unsigned prot = l->excl ? PROT_READ | PROT_WRITE : PROT_READ;
		err = space_lend_map(caller, to_va, l->mem, l->off, len, prot, &l->in);
		if (err != E_OK) {
			space_lend_restore(lender, &l->out, l->saved);
			obj_unref(&l->mem->obj);
		}
	}
	if (err != E_OK) {
		kfree(l);
		space_uncharge(caller, CHARGE_KERNEL, cost);
		return err;
	}
	l->obj.type = OBJ_LEASE;
	l->obj.refs = 1;
	l->lender = lender;
	obj_ref(&lender->obj);
	l->borrower = caller;
	int h = space_handle_add(caller, &l->obj, OBJ_LEASE, R_READ);
	obj_unref(&l->obj); // the handle holds it; if there is none, the lease ends here
	return h;
}

int lease_end(struct space *caller, struct lease *l, int h)
{
	KASSERT(l->borrower == caller); // its handle never leaves the borrower's table
	int err = space_lend_unmap(caller, caller, &l->in, true);
	if (err == E_OK)
		err = space_handle_close_if(caller, h, &l->obj);
	if (err == E_OK)
		space_lend_restore(l->lender, &l->out, l->saved);
	return err;
}

int64_t lease_frame(const struct lease *l, uint64_t off)
{
	if (off >= l->len)
		return E_RANGE;
	return (int64_t)l->mem->frames[(l->off + off) / PAGE_SIZE];
}

void lease_destroy(struct lease *l)
{
	// Unbudgeted: the borrower let go of its handle (or lend failed to install it),
	// and a lease cannot be left half ended. Every such end follows a budgeted lend.
	if (l->borrower) {
		space_lend_unmap(l->borrower, l->borrower, &l->in, false);
		space_uncharge(l->borrower, CHARGE_KERNEL, lease_cost(l->len / PAGE_SIZE));
	}
	space_lend_restore(l->lender, &l->out, l->saved);
	obj_unref(&l->mem->obj);
	obj_unref(&l->lender->obj);
	kfree(l);
}
