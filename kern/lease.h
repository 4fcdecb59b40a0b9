// lease.h: leases (OBJ_LEASE), the seed's zero-copy scenario (SPEC §2 "Leases"): a
// range of one space (the lender) lent to another (the borrower) so that the borrower
// can check what it holds knowing the lender cannot change it until it gives it back.
// lend takes the lender's write right (one targeted shootdown: on return no CPU can
// write there through the lender) and maps the frames into the borrower; while the
// lease lasts neither space can unmap, protect or remap its range (E_BUSY), and the
// frames live even if the lender dies. lease_return unmaps the borrower's view
// (coherent) and gives the lender its rights back: a raise, no IPI.
//
// The borrower calls lend, through a handle to the lender's space with R_LEND (which
// the lender's creator, or the lender itself, gave it), and chooses where the frames
// land in its own space. So no lender can make a borrower's address space or handle
// table fill up, and the lease's handle is the borrower's alone: it cannot be
// duplicated or transferred, so every end of a lease runs in the borrower's own calls
// or in its teardown.
#ifndef KERN_LEASE_H
#define KERN_LEASE_H
#include <stdint.h>
#include "kern/object.h"
#include "kern/space.h"

struct mem;

// Written once by lend, then read-only, but for borrower (see lease_borrower_gone).
struct lease {
	struct object obj;
	struct space *lender;   // a reference: the struct outlives the lender's deletion
	struct space *borrower; // no reference (the lease lives in its handle table); NULL
	                        // once the borrower is torn down
	struct mem *mem;        // a reference: the frames live until the lease ends
	uint64_t off, len;      // the lent range shows [off, off + len) of mem
	bool excl;
	struct space_pin out;   // in the lender: [va, va + len)
	struct space_pin in;    // in the borrower: where lend mapped it
	uint64_t saved[];       // the lender's PTE flags before the lend, one per page
};

// Lends [va, va + len) of lender to caller at to_va (flags: LEND_EXCL or 0) and
// installs the lease in caller's table (R_READ): its index, or E_INVAL (flags,
// alignment, zero length), E_RANGE (a range outside user space, more than
// LEND_MAX_PAGES), E_NOMEM, and space_lend_take's and space_map's errors. Nothing
// changes on error (the lender's TLB entries may have been flushed).
int lease_lend(struct space *caller, struct space *lender, uintptr_t va, uint64_t len, uintptr_t to_va,
	       unsigned flags);
// Ends l, held by caller: E_BUDGET (nothing changed) if the caller's shootdown budget
// is spent, E_BADH if another of caller's threads ended it first (h no longer names
// it); else the handle h is closed, and E_OK.
int lease_end(struct space *caller, struct lease *l, int h);
// The physical address of the frame at offset off into the lease (page-aligned down),
// or E_RANGE past its end.
int64_t lease_frame(const struct lease *l, uint64_t off);
void lease_destroy(struct lease *l); // obj_unref_n() at zero: the lease ends if it has not

#endif
