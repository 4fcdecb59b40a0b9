// uentry.h: the architecture's side of user mode: syscall MSRs, SMEP/SMAP, user
// register frames, fault-safe copies.
#ifndef ARCH_UENTRY_H
#define ARCH_UENTRY_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include "trap.h"

void uentry_init_cpu(void);  // per CPU: EFER.SCE, STAR/LSTAR/SFMASK, CR4.SMEP/SMAP
bool uentry_smap(void);      // SMAP is on (tests check that it is)

// A frame that enters user mode at rip with rsp and rdi = arg, interrupts on.
void uentry_frame(struct trap_frame *f, uintptr_t rip, uintptr_t rsp, uint64_t arg);
static inline bool uentry_from_user(const struct trap_frame *f) { return f->cs & 3; }

// Copies between the kernel and [uaddr, uaddr + n) of the current user space:
// E_FAULT if the range leaves the user half or touches an unmapped/forbidden page.
int copy_from_user(void *dst, uintptr_t usrc, size_t n);
int copy_to_user(uintptr_t udst, const void *src, size_t n);
bool user_range_ok(uintptr_t va, size_t n);
// From the #PF handler: a fault inside a user copy resumes at its error path.
bool uentry_fixup(struct trap_frame *f);

#endif
