// arch/syscall.h: where a system call's number, arguments and result live in the
// frame the syscall entry saved (entry.S). x86-64: number in rax, arguments in rdi,
// rsi, rdx, r10, r8, r9 (include/pagoda/abi.h), result in rax. The only code that
// knows the register assignment; inline, so a constant i is one load.
#ifndef ARCH_SYSCALL_H
#define ARCH_SYSCALL_H
#include <stdint.h>
#include <arch/frame.h>

#define ARCH_SYSCALL_ARGS 6

static inline uint64_t arch_syscall_nr(const struct trap_frame *f) { return f->rax; }

// Argument i (0 .. ARCH_SYSCALL_ARGS - 1) as the caller left it: all 64 bits.
static inline uint64_t arch_syscall_arg(const struct trap_frame *f, unsigned i)
{
	switch (i) {
	case 0: return f->rdi;
	case 1: return f->rsi;
	case 2: return f->rdx;
	case 3: return f->r10;
	case 4: return f->r8;
	default: return f->r9;
	}
}

// What the call returns to user mode (an upcall may still redirect the frame).
static inline void arch_syscall_set_ret(struct trap_frame *f, int64_t v) { f->rax = (uint64_t)v; }

#endif
