// deque.c: the Chase-Lev deque of deque.h. top only grows, by compare-and-swap among
// takers; bottom is written by the owner alone. An entry is published by the release
// store of bottom after it, and claimed by the compare-and-swap of top, which is
// sequentially consistent so that no two takers (nor a taker and a resize) disagree.
#include "deque.h"
#include "plat.h"

static struct dq_array *array_new(size_t size)
{
	struct dq_array *a = plat_alloc(sizeof *a + size * sizeof a->slot[0]);
	if (a)
		a->size = size;
	return a;
}

int dq_init(struct deque *q, size_t size)
{
	struct dq_array *a = array_new(size);
	if (!a)
		return -1;
	atomic_store_explicit(&q->top, 0, memory_order_relaxed);
	atomic_store_explicit(&q->bottom, 0, memory_order_relaxed);
	atomic_store_explicit(&q->array, a, memory_order_release);
	return 0;
}

// Owner only: a twice bigger array holding entries [t, b).
static struct dq_array *grow(struct deque *q, struct dq_array *a, int64_t t, int64_t b)
{
	struct dq_array *n = array_new(2 * a->size);
	if (!n)
		return NULL;
	for (int64_t i = t; i < b; i++)
		atomic_store_explicit(&n->slot[(size_t)i & (n->size - 1)],
				      atomic_load_explicit(&a->slot[(size_t)i & (a->size - 1)], memory_order_relaxed),
				      memory_order_relaxed);
	n->older = a;
	atomic_store_explicit(&q->array, n, memory_order_release);
	return n;
}

int dq_push(struct deque *q, struct rt_thread *t)
{
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_relaxed);
	int64_t top = atomic_load_explicit(&q->top, memory_order_acquire);
	struct dq_array *a = atomic_load_explicit(&q->array, memory_order_relaxed);
	if (b - top > (int64_t)a->size - 1 && !(a = grow(q, a, top, b)))
		return -1;
	atomic_store_explicit(&a->slot[(size_t)b & (a->size - 1)], t, memory_order_relaxed);
	atomic_thread_fence(memory_order_release);
	atomic_store_explicit(&q->bottom, b + 1, memory_order_relaxed);
	return 0;
}

struct rt_thread *dq_take(struct deque *q)
{
	int64_t t = atomic_load_explicit(&q->top, memory_order_acquire);
	atomic_thread_fence(memory_order_seq_cst);
	int64_t b = atomic_load_explicit(&q->bottom, memory_order_acquire);
	if (t >= b)
		return NULL;
	struct dq_array *a = atomic_load_explicit(&q->array, memory_order_acquire);
	struct rt_thread *x = atomic_load_explicit(&a->slot[(size_t)t & (a->size - 1)], memory_order_relaxed);
	if (!atomic_compare_exchange_strong_explicit(&q->top, &t, t + 1, memory_order_seq_cst, memory_order_relaxed))
		return NULL; // another taker had it
	return x;
}
