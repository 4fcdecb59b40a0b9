// trap.h: the interrupt vectors in use and the trap handlers (private to arch/x86_64/;
// the frame itself is <arch/frame.h>).
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H
#include <stdint.h>
#include <stdbool.h>
#include <arch/frame.h>

#define VEC_NM       7
#define VEC_PF       14
#define VEC_TIMER    0x20
#define VEC_IRQ_BASE 0x30 // I/O APIC line n: VEC_IRQ_BASE + n (dev.c)
#define IRQ_LINES_MAX 24
#define VEC_XCALL    0xF0
#define VEC_SPURIOUS 0xFF

void trap_dispatch(struct trap_frame *f);
void trap_dump(const struct trap_frame *f);
// fpu.c: a kernel #NM its lazy-switching probe (make bench) raised: true once handled.
bool fpu_nm_fixup(void);
// dev.c: finds the I/O APIC (boot CPU, after its local APIC), and takes line's interrupt.
void arch_irq_init(void);
void trap_device_irq(unsigned line);

#endif
