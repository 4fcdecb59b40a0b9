// skynet.h: the "skynet" spawn tree: a node of size n > 1 spawns 10 children of size
// n/10 and sums what they return; a leaf returns its index. 10^6 leaves sum to
// 499999500000. Used by rtthreads.c (a small tree, checked) and rtbench.c
// (uthread_skynet).
#ifndef SKYNET_H
#define SKYNET_H
#include "rt.h"

struct sky {
	uint64_t num, size, sum;
};

static void skynet(void *arg)
{
	struct sky *s = arg;
	if (s->size == 1) {
		s->sum = s->num;
		return;
	}
	struct sky kids[10];
	struct rt_thread *t[10];
	uint64_t step = s->size / 10;
	for (int i = 0; i < 10; i++) {
		kids[i] = (struct sky){ .num = s->num + (uint64_t)i * step, .size = step };
		if (!(t[i] = rt_spawn(skynet, &kids[i])))
			skynet(&kids[i]); // out of memory: the work is done all the same
	}
	s->sum = 0;
	for (int i = 0; i < 10; i++) {
		if (t[i])
			rt_join(t[i]);
		s->sum += kids[i].sum;
	}
}

static inline uint64_t skynet_want(uint64_t leaves) { return leaves * (leaves - 1) / 2; }

#endif
