// vcpu.h: virtual processors (SPEC §2, scheduler activations). A vcpu belongs to one
// space and holds a reference on it; it is created on a CPU (pinned, or picked
// round-robin) and never migrates. It never resumes silently after an event: the
// kernel enters the space at the vcpu's entry point with a struct pg_upcall (abi.h).
#ifndef KERN_VCPU_H
#define KERN_VCPU_H
#include <stdint.h>
#include "kern/sched.h"

// E_INVAL: cpu neither -1 nor an online CPU, or entry/upcall stack outside the user
// half; E_NOENT: the space is deleted; E_NOMEM. On error nothing was created.
int vcpu_create(struct space *s, uintptr_t entry, uintptr_t upcall_stack, uint64_t arg, int cpu,
		struct space *payer);
__attribute__((noreturn)) void vcpu_exit(int status);
// A CPU exception in user mode: a FAULT upcall, or (in an upcall) the vcpu stops.
void vcpu_user_fault(struct trap_frame *f);
// Whether a page fault at addr (PF_ERR_* bits in pf_error) of the running vcpu's space
// was only a stale TLB entry: the current PTE allows the access (retry it).
bool vcpu_fault_spurious(uintptr_t addr, uint64_t pf_error);
// Just before returning to user mode: pending PREEMPTED/TIMER upcalls.
void vcpu_user_return(struct trap_frame *f);
// A system call's handler (a blocked notify_wait that ended with bits): the current
// call's return becomes a NOTIFY upcall with these bits (or, in an upcall, the call
// just returns them). Recorded in v->return_notify; delivered by
// vcpu_deliver_return_notify, which syscall_dispatch calls for any call that set it,
// interrupts off, before sched_user_return.
void vcpu_return_notify(uint64_t bits);
void vcpu_deliver_return_notify(struct trap_frame *f);
void vcpu_timer_set(uint64_t ns);
void vcpu_tick(void);                // expires this CPU's current vcpu's timer
void vcpu_reap(struct vcpu *v);      // sched.c, after the vcpu's last switch

#endif
