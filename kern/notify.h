// notify.h: notification objects (SPEC §2): a word of bits that spaces, the kernel and
// (later) device interrupts signal, and vcpus wait on. Signalling ORs bits in and
// hands all pending bits to the longest waiting vcpu, which wakes in a NOTIFY upcall.
#ifndef KERN_NOTIFY_H
#define KERN_NOTIFY_H
#include <stdint.h>
#include <stdbool.h>
#include "kern/object.h"
#include "kern/spinlock.h"

struct vcpu;
struct space;

// lock protects bits, the waiter queue and each waiter's `next`, and every change of
// a waiter's `waiting` (made under the waiter's wait_lock too, which is what
// notify_cancel_wait holds to read it: kern/sched.h).
struct notify {
	struct object obj;
	struct spinlock lock;
	uint64_t bits;
	struct vcpu *wait_head, *wait_tail;
	struct space *payer; // charged for it; holds a reference on it
};

// One reference, the caller's; charged to payer's quota (E_NOMEM over it).
int notify_create(struct space *payer, struct notify **out);
void notify_destroy(struct notify *n);      // obj_unref_n() at zero
// payer (the signalling space; NULL: the kernel) pays for waking a waiter elsewhere.
void notify_signal(struct notify *n, uint64_t bits, struct space *payer);
// The bits (taken), at once if some are pending, else after blocking: > 0, or
// E_TIMEOUT if the vcpu's timer expired, or E_NOENT if its space was deleted.
// *blocked tells whether it had to block.
int64_t notify_wait(struct notify *n, bool *blocked);
// Ends v's blocking wait (timer expiry, space deletion) if it still waits.
void notify_cancel_wait(struct vcpu *v, struct space *payer);

#endif
