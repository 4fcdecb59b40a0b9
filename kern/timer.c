// timer.c: counts ticks per CPU (each CPU only increments its own counter).
#include "kern/timer.h"
#include "kern/percpu.h"

void timer_tick(void)
{
	atomic_fetch_add_explicit(&this_cpu()->ticks, 1, memory_order_relaxed);
}

uint64_t timer_ticks(uint32_t cpu)
{
	return atomic_load_explicit(&cpus[cpu]->ticks, memory_order_relaxed);
}
