// notify.c: notification words and the vcpus blocked on them. A waiter is queued and
// marked V_BLOCKED under the notify's lock, then switches away (sched_block); a waker
// dequeues it under the same lock before enqueueing it on its CPU, so a wake-up that
// races with the switch just finds it queued already (see sched_block).
#include <stddef.h>
#include "kern/notify.h"
#include "kern/sched.h"
#include "kern/space.h"
#include "kern/kheap.h"
#include "include/pagoda/errors.h"

int notify_create(struct notify **out)
{
	struct notify *n = kzalloc(sizeof *n);
	if (!n)
		return E_NOMEM;
	n->obj.type = OBJ_NOTIFY;
	n->obj.refs = 1;
	spin_init(&n->lock, "notify");
	*out = n;
	return E_OK;
}

void notify_destroy(struct notify *n)
{
	// A waiter holds a reference through its call, so none is left here.
	kfree(n);
}

static struct vcpu *dequeue_locked(struct notify *n) REQUIRES(n->lock)
{
	spin_assert_held(&n->lock);
	struct vcpu *v = n->wait_head;
	if (v) {
		n->wait_head = v->next;
		if (!n->wait_head)
			n->wait_tail = NULL;
		atomic_store_explicit(&v->waiting, NULL, memory_order_relaxed);
	}
	return v;
}

void notify_signal(struct notify *n, uint64_t bits)
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
		sched_enqueue(v);
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
	atomic_store_explicit(&v->waiting, n, memory_order_relaxed); // published by the unlock
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

void notify_cancel_wait(struct vcpu *v)
{
	// No lock yet: which notify to lock. A stale value is checked again under it; a
	// wait that starts after this read sees the space dead (notify_wait).
	struct notify *n = atomic_load_explicit(&v->waiting, memory_order_acquire);
	if (!n)
		return;
	spin_lock(&n->lock);
	bool queued = atomic_load_explicit(&v->waiting, memory_order_relaxed) == n;
	if (queued) {
		struct vcpu **p = &n->wait_head, *prev = NULL;
		while (*p != v)
			prev = *p, p = &(*p)->next;
		*p = v->next;
		if (n->wait_tail == v)
			n->wait_tail = prev;
		atomic_store_explicit(&v->waiting, NULL, memory_order_relaxed);
	}
	spin_unlock(&n->lock);
	if (queued)
		sched_enqueue(v);
}
