// uentry.h: the architecture's side of user mode: syscall MSRs, SMEP/SMAP, the
// fault-safe copies' fixup (private to arch/x86_64/; kern/ sees <arch/uaccess.h>
// and <arch/frame.h>).
#ifndef ARCH_UENTRY_H
#define ARCH_UENTRY_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <arch/uaccess.h>
#include "trap.h"

void uentry_init_cpu(void);  // per CPU: EFER.SCE, STAR/LSTAR/SFMASK, CR4.SMEP/SMAP

static inline bool uentry_from_user(const struct trap_frame *f) { return f->cs & 3; }

// From the #PF handler: a fault inside a user copy resumes at its error path.
bool uentry_fixup(struct trap_frame *f);

#endif
