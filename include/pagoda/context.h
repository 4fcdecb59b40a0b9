// context.h: a user context as upcalls report it and pg_context_resume restores it
// (abi.h). Apart from abi.h so that code built against another system's headers (the
// runtime hosted on Linux) can use it without abi.h's PROT_* and friends.
#ifndef PAGODA_CONTEXT_H
#define PAGODA_CONTEXT_H
#include <stdint.h>

// A user context. The general registers, and the extended state (x87, SSE, AVX) one
// of two ways:
// - xstate != 0: the user address of a 64-byte aligned image of the whole extended
//   state, xsize bytes: XSAVE's standard form (restore it with XRSTOR, every feature
//   bit set), or, when xsize is 512, FXSAVE's (a CPU without XSAVE: FXRSTOR). Every
//   upcall but START reports the interrupted context this way (the image is in the
//   frame: pg_upcall.xstate).
// - xstate == 0: only what the SysV ABI keeps across a call, mxcsr and fcw (the x87
//   control word); the other vector and x87 registers are whatever they happen to be.
//   pg_context_switch saves a context this way: a voluntary switch is a call.
// pg_context_resume (user/lib/context.S) restores either, without a system call.
struct pg_context {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
	uint64_t xstate;
	uint32_t mxcsr;
	uint16_t fcw;
	uint16_t xsize;
};
_Static_assert(sizeof(struct pg_context) == 160, "context.S offsets");
// The control words of a fresh context: every exception masked, round to nearest
// (MXCSR), extended precision (x87). A context built by hand needs them.
#define PG_MXCSR_INIT 0x1F80u
#define PG_FCW_INIT   0x37Fu

#endif
