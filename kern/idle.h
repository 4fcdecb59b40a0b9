// idle.h: what a CPU does when it has nothing to run, and a way to hand it a job.
// (The vcpu scheduler will replace jobs; until then tests and benchmarks use them to
// run code on every CPU in normal, interruptible context.)
#ifndef KERN_IDLE_H
#define KERN_IDLE_H
#include "kern/percpu.h"

typedef void (*job_fn)(void *arg);

__attribute__((noreturn)) void idle_loop(void);
// Runs fn(arg) on every CPU in set (the caller too, if in it), all at once, and
// returns when every one has returned. Only one job may be in flight per CPU.
void job_run(cpuset_t set, job_fn fn, void *arg);

#endif
