// object.h: the header every handle-reachable kernel object starts with.
// refs counts handles in tables, threads and kernel holders (and, for mem, mapped
// pages); obj_unref() destroys the object when the count reaches zero.
#ifndef KERN_OBJECT_H
#define KERN_OBJECT_H
#include <stdint.h>
#include <stdatomic.h>

enum obj_type { OBJ_ANY = 0, OBJ_SPACE = 1, OBJ_MEM = 2, OBJ_NOTIFY = 3, OBJ_RESOURCE = 4, OBJ_LEASE = 5, OBJ_DEVICE = 6 };

struct object {
	uint32_t type;
	_Atomic int64_t refs;
	struct object *reap_next;  // on the destroying thread's list (object.c); only it touches this
};

static inline void obj_ref_n(struct object *o, int64_t n) { atomic_fetch_add(&o->refs, n); }
static inline void obj_ref(struct object *o) { obj_ref_n(o, 1); }
// Destroys o at zero (space.c, mem.c, notify.c), and whatever that destruction leaves
// unreferenced, before it returns; never by a nested call, so any object graph goes
// in bounded kernel stack (object.c).
void obj_unref_n(struct object *o, int64_t n);
static inline void obj_unref(struct object *o) { obj_unref_n(o, 1); }

#endif
