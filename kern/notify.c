// notify.c: notification words and the vcpus blocked on them. A waiter is queued and
// marked V_BLOCKED under the notify's lock, then switches away (sched_block); a waker
// dequeues it under the same lock before enqueueing it on its CPU, so a wake-up that
// races with the switch just finds it queued already (see sched_block).
#include <stddef.h>
#include "kern/notify.h"
#include "kern/sched.h"
#include "kern/space.h"
#include "kern/kheap.h"
#include "kern/panic.h"
#include "include/pagoda/errors.h"

int notify_create(struct space *payer, struct notify **out)
{
	if (space_charge(payer, CHARGE_KERNEL, kheap_cost(sizeof(struct notify))) != E_OK)
		return E_NOMEM;
	struct notify *n = kzalloc(sizeof *n);
	if (!n) {
		space_uncharge(payer, CHARGE_KERNEL, kheap_cost(sizeof *n));
		return E_NOMEM;
	}
	n->obj.type = OBJ_NOTIFY;
	n->obj.refs = 1;
	spin_init(&n->lock, "notify");
	n->payer = payer;
	obj_ref(&payer->obj);
	*out = n;
	return E_OK;
}

void notify_destroy(struct notify *n)
{
	// A waiter holds a reference through its call, so none is left here.
	struct space *payer = n->payer;
	kfree(n);
	space_uncharge(payer, CHARGE_KERNEL, kheap_cost(sizeof *n));
	obj_unref(&payer->obj);
}

// Caller holds n->lock (n is what v waits on, or will).
static void set_waiting_locked(struct notify *n, struct vcpu *v, struct notify *to) REQUIRES(n->lock)
{
	spin_assert_held(&n->lock);
	spin_lock(&v->wait_lock);
	v->waiting = to;
	spin_unlock(&v->wait_lock);
}

static struct vcpu *dequeue_locked(struct notify *n) REQUIRES(n->lock)
{
	spin_assert_held(&n->lock);
	struct vcpu *v = n->wait_head;
	if (v) {
		n->wait_head = v->next;
		if (!n->wait_head)
			n->wait_tail = NULL;
		set_waiting_locked(n, v, NULL);
	}
	return v;
}

void notify_signal(struct notify *n, uint64_t bits, struct space *payer)
{
	spin_lock(&n->lock);
	n->bits |= bits;
	struct vcpu *v = n->bits ? dequeue_locked(n) : NULL;
	if (v) {
		v->wake_bits = n->bits;
		n->bits = 0;
	}
	spin_unlock(&n->lock);
	if (v)
		sched_enqueue_by(v, payer);
}

int64_t notify_wait(struct notify *n, bool *blocked)
{
	struct vcpu *v = current();
	*blocked = false;
	spin_lock(&n->lock);
	if (n->bits) {
		int64_t b = (int64_t)n->bits;
		n->bits = 0;
		spin_unlock(&n->lock);
		return b;
	}
	// Without the space's lock: a delete that lands after this read finds the vcpu
	// queued by then (we hold n->lock until it is) and cancels the wait (wake_blocked).
	if (v->timer_pending || space_dead(v->space)) {
		spin_unlock(&n->lock);
		return v->timer_pending ? E_TIMEOUT : E_NOENT;
	}
	v->state = V_BLOCKED;
	v->wake_bits = 0;
	set_waiting_locked(n, v, n);
	v->next = NULL;
	if (n->wait_tail)
		n->wait_tail->next = v;
	else
		n->wait_head = v;
	n->wait_tail = v;
	spin_unlock(&n->lock);
	sched_block();
	*blocked = true;
	if (v->wake_bits)
		return (int64_t)v->wake_bits;
	return v->timer_pending ? E_TIMEOUT : E_NOENT;
}

void notify_cancel_wait(struct vcpu *v, struct space *payer)
{
	// Pin the notify first: once v is dequeued its wait returns and drops the
	// reference that kept n alive, maybe the last one, so n may be freed any time
	// after we read it unless we hold our own. While v->waiting == n under wait_lock,
	// v is still queued (a dequeue clears waiting first), so n is alive to take it.
	spin_lock(&v->wait_lock);
	struct notify *n = v->waiting;
	if (n)
		obj_ref(&n->obj);
	spin_unlock(&v->wait_lock);
	if (!n)
		return;
	spin_lock(&n->lock);
	bool queued = v->waiting == n; // stable: changed only under n->lock (and wait_lock)
	if (queued) {
		struct vcpu **p = &n->wait_head, *prev = NULL;
		while (*p != v)
			prev = *p, p = &(*p)->next;
		*p = v->next;
		if (n->wait_tail == v)
			n->wait_tail = prev;
		set_waiting_locked(n, v, NULL);
	}
	spin_unlock(&n->lock);
	if (queued)
		sched_enqueue_by(v, payer);
	obj_unref(&n->obj);
}
