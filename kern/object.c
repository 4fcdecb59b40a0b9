// object.c: reference counting common to every handle-reachable object.
#include "kern/object.h"
#include "kern/space.h"
#include "kern/mem.h"
#include "kern/notify.h"
#include "kern/panic.h"

void obj_unref_n(struct object *o, int64_t n)
{
	int64_t old = atomic_fetch_sub(&o->refs, n);
	KASSERT(old >= n);
	if (old != n)
		return;
	switch (o->type) {
	case OBJ_SPACE:
		space_destroy((struct space *)o);
		break;
	case OBJ_MEM:
		mem_destroy((struct mem *)o);
		break;
	case OBJ_NOTIFY:
		notify_destroy((struct notify *)o);
		break;
	default:
		panic("unref of object type %u", o->type);
	}
}
