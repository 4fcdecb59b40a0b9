// sync.c: mutexes, condition variables and channels on the runtime's wait queues.
// The uncontended paths are a single atomic instruction and never leave user space;
// a contended waiter parks its thread (the vcpu runs others) rather than spinning.
#include "rt.h"
#include "plat.h"

void rt_waitq_lock(struct rt_waitq *q);
void rt_waitq_unlock(struct rt_waitq *q);
void rt_waitq_sleep_unlock(struct rt_waitq *q);
bool rt_waitq_wake_one(struct rt_waitq *q);
bool rt_waitq_single(const struct rt_waitq *q);

bool rt_mutex_trylock(struct rt_mutex *m)
{
	uint32_t z = 0;
	return __atomic_compare_exchange_n(&m->state, &z, 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

void rt_mutex_lock(struct rt_mutex *m)
{
	if (rt_mutex_trylock(m))
		return;
	rt_waitq_lock(&m->q);
	// State 2 tells the holder someone waits. If it was free meanwhile we own it.
	if (__atomic_exchange_n(&m->state, 2, __ATOMIC_ACQUIRE) == 0) {
		// Owned, marked "waiters" conservatively: one unlock slow path too many.
		rt_waitq_unlock(&m->q);
		return;
	}
	rt_waitq_sleep_unlock(&m->q); // the unlocker hands the mutex over to us
}

void rt_mutex_unlock(struct rt_mutex *m)
{
	uint32_t one = 1;
	if (__atomic_compare_exchange_n(&m->state, &one, 0, false, __ATOMIC_RELEASE, __ATOMIC_RELAXED))
		return;
	rt_waitq_lock(&m->q);
	// Hand over: the woken waiter owns the mutex; state stays 2 while others wait.
	if (rt_waitq_single(&m->q))
		__atomic_store_n(&m->state, 1, __ATOMIC_RELEASE);
	if (!rt_waitq_wake_one(&m->q))
		__atomic_store_n(&m->state, 0, __ATOMIC_RELEASE);
	rt_waitq_unlock(&m->q);
}

void rt_cond_wait(struct rt_cond *c, struct rt_mutex *m)
{
	rt_waitq_lock(&c->q);
	rt_mutex_unlock(m); // under the queue lock: a signal cannot slip in between
	rt_waitq_sleep_unlock(&c->q);
	rt_mutex_lock(m);
}

void rt_cond_signal(struct rt_cond *c)
{
	rt_waitq_lock(&c->q);
	rt_waitq_wake_one(&c->q);
	rt_waitq_unlock(&c->q);
}

void rt_cond_broadcast(struct rt_cond *c)
{
	rt_waitq_lock(&c->q);
	while (rt_waitq_wake_one(&c->q))
		;
	rt_waitq_unlock(&c->q);
}

static size_t chan_bytes(size_t cap) { return (cap * sizeof(uint64_t) + 4095) & ~4095UL; }

int rt_chan_init(struct rt_chan *c, size_t cap)
{
	*c = (struct rt_chan){ 0 };
	c->buf = cap == 1 ? &c->slot : plat_alloc(chan_bytes(cap));
	c->cap = cap;
	return c->buf ? 0 : -1;
}

// The buffer goes back to the platform (on pagoda: its VA is never handed out again).
void rt_chan_destroy(struct rt_chan *c)
{
	if (c->buf && c->buf != &c->slot)
		plat_free(c->buf, chan_bytes(c->cap));
	c->buf = NULL;
}

bool rt_chan_send(struct rt_chan *c, uint64_t v)
{
	rt_mutex_lock(&c->m);
	while (c->len == c->cap && !c->closed)
		rt_cond_wait(&c->not_full, &c->m);
	bool ok = !c->closed;
	if (ok) {
		c->buf[(c->head + c->len++) % c->cap] = v;
		rt_cond_signal(&c->not_empty);
	}
	rt_mutex_unlock(&c->m);
	return ok;
}

bool rt_chan_recv(struct rt_chan *c, uint64_t *v)
{
	rt_mutex_lock(&c->m);
	while (c->len == 0 && !c->closed)
		rt_cond_wait(&c->not_empty, &c->m);
	bool ok = c->len > 0;
	if (ok) {
		*v = c->buf[c->head];
		c->head = (c->head + 1) % c->cap;
		c->len--;
		rt_cond_signal(&c->not_full);
	}
	rt_mutex_unlock(&c->m);
	return ok;
}

void rt_chan_close(struct rt_chan *c)
{
	rt_mutex_lock(&c->m);
	c->closed = true;
	rt_cond_broadcast(&c->not_empty);
	rt_cond_broadcast(&c->not_full);
	rt_mutex_unlock(&c->m);
}
