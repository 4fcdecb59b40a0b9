// xcall.h: cross-calls: run a function on a set of CPUs and wait until all have run it.
// The base of the TLB-shootdown protocol.
#ifndef KERN_XCALL_H
#define KERN_XCALL_H
#include "kern/percpu.h"

typedef void (*xcall_fn)(void *arg);

// Runs fn(arg) once on every online CPU in targets (on the caller directly, if it is
// in the set) and returns when all have finished. Must not be called from an
// interrupt handler or from inside an xcall function. fn runs with interrupts off on
// remote CPUs and must not take locks (see spinlock.h).
void xcall_run(cpuset_t targets, xcall_fn fn, void *arg);

// xcall_run in two halves, so the caller can work while the targets run fn:
// xcall_send posts fn(arg) to every online CPU in targets other than the caller and
// returns at once; xcall_wait returns when all have finished, serving this CPU's
// inbox meanwhile. Between the two the caller must not make another cross-call, and
// r and arg must stay alive (both are usually on the caller's stack).
struct xcall_req {
	xcall_fn fn;
	void *arg;
	_Atomic int pending; // targets that have not finished yet
};
void xcall_send(struct xcall_req *r, cpuset_t targets, xcall_fn fn, void *arg);
void xcall_wait(struct xcall_req *r);
// xcall_run of a function that does nothing: each target has taken an interrupt by the
// return (a CPU halted in idle wakes, one in user mode passes through the kernel).
void xcall_kick(cpuset_t targets);
// The IPI alone, without a request and without waiting: a CPU halted in idle wakes and
// finds what was queued for it. Safe in an interrupt handler, and while this CPU's own
// cross-call is in flight (an interrupt that came during xcall_wait), where
// xcall_kick is not: each CPU has one request slot per target.
void xcall_wake(cpuset_t targets);
// Runs the requests queued for this CPU. Called by the IPI handler and by every
// CPU that spins waiting (for acks or for a lock).
void xcall_poll(void);

#endif
