// trap.h: the register frame entry.S builds, and the interrupt vectors in use.
#ifndef ARCH_TRAP_H
#define ARCH_TRAP_H
#include <stdint.h>

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "entry.S frame offsets");

#define VEC_PF       14
#define VEC_TIMER    0x20
#define VEC_XCALL    0xF0
#define VEC_SPURIOUS 0xFF

void trap_dispatch(struct trap_frame *f);
void trap_dump(const struct trap_frame *f);
void backtrace_from(uintptr_t rbp);

#endif
