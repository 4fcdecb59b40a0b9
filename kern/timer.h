// timer.h: the per-CPU periodic tick (TIMER_HZ). Today it only counts; the scheduler
// and lazy-unmap epochs will hang off it.
#ifndef KERN_TIMER_H
#define KERN_TIMER_H
#include <stdint.h>
void timer_tick(void);
uint64_t timer_ticks(uint32_t cpu);
#endif
