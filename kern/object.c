// object.c: reference counting common to every handle-reachable object.
//
// Destroying an object drops its own references: a space its handles and mappings,
// which may be the last ones to other spaces, and so on down a chain as long as user
// space cares to build (10,000 spaces each holding the only handle to the next). A
// destroy calling obj_unref that calls destroy would recurse once per link and
// overflow the kernel stack. Instead, an object that reaches zero goes on the current
// thread's reap list, and only the outermost obj_unref on that thread's stack runs
// the destroys, one after another, until the list is empty: the stack depth is one
// destroy whatever the graph. The list is per thread: the thread whose call started
// the chain is the one that finishes it, before its call returns. Its list is also
// touched by an obj_unref from an interrupt on its CPU (a timer ending a notify
// wait), so pushes and pops run with interrupts off.
#include "kern/object.h"
#include "kern/space.h"
#include "kern/mem.h"
#include "kern/notify.h"
#include "kern/lease.h"
#include "kern/device.h"
#include "kern/panic.h"
#include "kern/sched.h"
#include "kern/spinlock.h"

static void destroy(struct object *o)
{
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
	case OBJ_LEASE:
		lease_destroy((struct lease *)o);
		break;
	case OBJ_DEVICE:
		device_destroy((struct device *)o);
		break;
	default:
		panic("unref of object type %u", o->type);
	}
}

void obj_unref_n(struct object *o, int64_t n)
{
	int64_t old = atomic_fetch_sub(&o->refs, n);
	KASSERT(old >= n);
	if (old != n)
		return;
	irq_save();
	struct vcpu *me = current();
	KASSERT(me);
	o->reap_next = me->reap;
	me->reap = o;
	if (me->reaping) {
		irq_restore(); // an obj_unref further up this thread's stack drains the list
		return;
	}
	me->reaping = true;
	while ((o = me->reap)) {
		me->reap = o->reap_next;
		irq_restore();
		destroy(o); // may queue more, never destroys them itself
		irq_save();
	}
	me->reaping = false;
	irq_restore();
}
