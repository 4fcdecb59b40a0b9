// ring.h: a million threads blocked at once, then the classic thread ring through
// them. Each thread waits on its own channel (capacity 1, so nothing but its struct);
// a token goes round `laps` times, every thread passing it on and exiting after its
// last pass. Used by rt1m.c (the test: everything happened, nothing is left) and
// rtbench.c (uthread_blocked_bytes, uthread_1m_blocked_spawn, uthread_ring_hop).
#ifndef RING_H
#define RING_H
#include <stdatomic.h>
#include "rt.h"

void *malloc(size_t n);
void free(void *p);

struct ring {
	int n, laps;
	struct rt_chan *ch, done;
	struct rt_thread **ts;
	_Atomic uint64_t started, passes;
	// Measured by ring_run:
	uint64_t spawn_ns;     // from the first spawn until all n are blocked
	uint64_t blocked_bytes; // memory the n blocked threads and their channels took
	uint64_t ring_ns;      // from the first send until the last thread passed its last
	uint64_t token;        // what came back: n * laps if no pass was lost
	int spawned;
};

static void ring_node(void *arg)
{
	struct ring *r = arg;
	int i = (int)atomic_fetch_add(&r->started, 1); // its index: the order it first ran
	struct rt_chan *in = &r->ch[i], *out = &r->ch[(i + 1) % r->n];
	for (int lap = 0; lap < r->laps; lap++) {
		uint64_t v;
		if (!rt_chan_recv(in, &v))
			return;
		rt_chan_send(out, v + 1);
		if (atomic_fetch_add_explicit(&r->passes, 1, memory_order_relaxed) + 1 == (uint64_t)r->n * r->laps)
			rt_chan_send(&r->done, 1); // the very last pass
	}
}

// Until all n have started and blocked; false if they did not within a minute.
static bool ring_wait_blocked(struct ring *r, int64_t base)
{
	uint64_t t0 = rt_now_ns();
	for (;;) {
		struct rt_stats s;
		rt_get_stats(&s);
		if (r->started == (uint64_t)r->n && s.threads_blocked - base >= r->n)
			return true;
		if (rt_now_ns() - t0 > 60000000000ULL)
			return false;
		rt_yield();
	}
}

// 0, or -1 when memory ran out (r->spawned says how far it got) or the threads did not
// all block. Everything is joined and freed either way.
static int ring_run(struct ring *r, int n, int laps)
{
	*r = (struct ring){ .n = n, .laps = laps };
	rt_chan_init(&r->done, 1);
	struct rt_stats s0;
	rt_get_stats(&s0);
	uint64_t m0 = rt_memory_bytes();
	r->ch = malloc((size_t)n * sizeof *r->ch);
	r->ts = malloc((size_t)n * sizeof *r->ts);
	int err = r->ch && r->ts ? 0 : -1;
	for (int i = 0; !err && i < n; i++)
		err = rt_chan_init(&r->ch[i], 1);
	uint64_t t0 = rt_now_ns();
	for (; !err && r->spawned < n; r->spawned++)
		if (!(r->ts[r->spawned] = rt_spawn(ring_node, r)))
			err = -1;
	if (!err && !ring_wait_blocked(r, s0.threads_blocked))
		err = -1;
	r->spawn_ns = rt_now_ns() - t0;
	// The thread records, stacks and channels (r->ts is the test's own bookkeeping).
	r->blocked_bytes = rt_memory_bytes() - m0 - (uint64_t)n * sizeof *r->ts;
	t0 = rt_now_ns();
	if (!err) {
		uint64_t one;
		rt_chan_send(&r->ch[0], 0);
		rt_chan_recv(&r->done, &one);
		r->ring_ns = rt_now_ns() - t0;
	} else {
		for (int i = 0; r->ch && i < n; i++)
			rt_chan_close(&r->ch[i]); // the spawned ones return at once
	}
	for (int i = 0; i < r->spawned; i++)
		rt_join(r->ts[i]);
	if (!err)
		rt_chan_recv(&r->ch[0], &r->token); // the last pass's, to nobody
	free(r->ts);
	free(r->ch);
	return err;
}

#endif
