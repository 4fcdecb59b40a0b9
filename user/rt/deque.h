// deque.h: a vcpu's run queue: a Chase-Lev work-stealing deque (Chase and Lev 2005; the
// C11 orderings of Lê et al., PPoPP 2013), lock-free. Only its vcpu pushes (at the
// bottom); everyone, the owner included, takes from the top with one compare-and-
// swap, so the queue stays FIFO: a thread that yields goes behind the others, and a
// thief takes the oldest. The array grows by doubling when full; a replaced one stays
// allocated (a thief may still be reading it), at most as much again as the current.
#ifndef PAGODA_RT_DEQUE_H
#define PAGODA_RT_DEQUE_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rt_thread;

struct dq_array {
	size_t size; // a power of two
	struct dq_array *older; // the array this one replaced
	_Atomic(struct rt_thread *) slot[];
};

struct deque {
	_Atomic int64_t top, bottom;
	_Atomic(struct dq_array *) array;
};

int dq_init(struct deque *q, size_t size);        // 0, or -1 when out of memory
// Owner only. -1 when the array is full and a bigger one cannot be had.
int dq_push(struct deque *q, struct rt_thread *t);
// Anyone: the oldest thread, or NULL when the queue is empty or another taker won
// the race for it (the caller looks elsewhere, or again).
struct rt_thread *dq_take(struct deque *q);
static inline int64_t dq_len(struct deque *q)
{
	int64_t n = atomic_load_explicit(&q->bottom, memory_order_relaxed) -
		    atomic_load_explicit(&q->top, memory_order_relaxed);
	return n > 0 ? n : 0;
}

#endif
