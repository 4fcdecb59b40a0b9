// handle.h: a space's handle table: which object each handle index names, its type
// and its rights. Pure bookkeeping: it neither counts references (the caller takes one
// for every installed or duplicated entry and drops it for every closed one) nor
// locks (the kernel wraps every call in the owning space's lock).
#ifndef KERN_HANDLE_H
#define KERN_HANDLE_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define HTABLE_SLOTS 256  // handle indices 0 .. HTABLE_SLOTS-1; 0 is H_SELF, installed by the kernel

// One entry. obj == NULL means the slot is free.
struct handle {
	void *obj;        // the object; the caller owns its reference count
	uint16_t type;    // the caller's object type, never 0 in a used slot
	uint16_t pad;     // always 0
	uint32_t rights;  // R_* bits, a subset of R_ALL
};
_Static_assert(sizeof(struct handle) == 16, "struct handle layout");

// Invariants:
//  - a free slot is all zero bytes (obj NULL, type 0, rights 0, pad 0);
//  - a used slot has obj != NULL, type != 0, rights & ~R_ALL == 0, pad == 0;
//  - used is the number of used slots.
struct htable {
	struct handle slot[HTABLE_SLOTS];
	uint32_t used;
};

// Empties t: every slot free, slot 0 included (the kernel then installs H_SELF).
void htable_init(struct htable *t);

// Puts obj (type, rights) into slot idx. Returns E_OK; E_BADH if idx is outside
// 0..HTABLE_SLOTS-1; E_INVAL if obj is NULL, type is 0 or above 0xffff, or rights
// has bits outside R_ALL; E_EXISTS if the slot is used. Checked in that order;
// nothing changes on error.
int htable_install(struct htable *t, int idx, void *obj, unsigned type, uint32_t rights);

// Puts obj into the lowest free slot >= 1 (slot 0 is only ever filled by install).
// Returns that index; E_INVAL for bad arguments as in install; E_NOMEM when slots
// 1..HTABLE_SLOTS-1 are all used. Nothing changes on error.
int htable_alloc(struct htable *t, void *obj, unsigned type, uint32_t rights);

// Looks up handle idx for a use needing rights `need` on an object of `type`
// (0 accepts any type). Stores the object in *obj (when obj is not NULL) and returns
// E_OK; else, checked in this order: E_BADH if idx is out of range (negative too) or
// the slot is free; E_TYPE if the type differs; E_RIGHTS if (rights & need) != need.
// *obj is untouched on error.
int htable_get(const struct htable *t, int idx, unsigned type, uint32_t need, void **obj);

// Duplicates handle idx into the lowest free slot >= 1 with rights `rights & old
// rights` (asking for rights the handle lacks is not an error: they are dropped).
// Returns the new index; else, checked in this order: E_BADH as in get; E_INVAL if
// rights has bits outside R_ALL; E_RIGHTS if the handle lacks R_DUP; E_NOMEM if no
// slot is free. Nothing changes on error. The caller takes a reference on the object
// for the new entry.
int htable_dup(struct htable *t, int idx, uint32_t rights);

// Removes handle idx and copies the removed entry to *out (when out is not NULL), so
// the caller can drop its reference. Any slot may be closed, 0 included: the kernel
// decides whether H_SELF may go. Returns E_OK, or E_BADH as in get (nothing changes).
int htable_close(struct htable *t, int idx, struct handle *out);

// Number of used slots.
uint32_t htable_count(const struct htable *t);

// The lowest used index >= from (a negative from counts as 0), or -1 if there is
// none. Teardown: for (int i = htable_next(t, 0); i >= 0; i = htable_next(t, i + 1)).
int htable_next(const struct htable *t, int from);

#endif
