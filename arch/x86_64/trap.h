// trap.h: the interrupt vectors in use and the trap handlers (private to arch/x86_64/;
// the frame itself is <arch/frame.h>).
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H
#include <stdint.h>
#include <arch/frame.h>

#define VEC_PF       14
#define VEC_TIMER    0x20
#define VEC_XCALL    0xF0
#define VEC_SPURIOUS 0xFF

void trap_dispatch(struct trap_frame *f);
void trap_dump(const struct trap_frame *f);

#endif
