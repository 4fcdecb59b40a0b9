// thread.h: interim kernel-created user threads (replaced by vcpus in the upcall
// work). A thread belongs to one space and holds a reference on it; it is created
// on a CPU (pinned, or picked round-robin) and never migrates.
#ifndef KERN_THREAD_H
#define KERN_THREAD_H
#include <stdint.h>
#include "kern/sched.h"

// E_INVAL: cpu neither -1 nor an online CPU, or entry/stack outside the user half;
// E_NOENT: the space is deleted; E_NOMEM. On error nothing was created.
int thread_create(struct space *s, uintptr_t entry, uintptr_t stack, uint64_t arg,
		  int cpu, uintptr_t fault_entry);
__attribute__((noreturn)) void thread_exit(int status);
// A CPU exception in user mode: restart the thread at its fault entry, or kill it.
void thread_user_fault(struct trap_frame *f);
void thread_reap(struct thread *t); // sched.c, after the thread's last switch

#endif
