// frame.h: the saved user (or kernel) register state of a trap, as entry.S builds it.
// kern/ keeps frames on kernel stacks and hands them around, but reads and writes
// them only through the functions here: which register holds what is arch business.
#ifndef ARCH_FRAME_H
#define ARCH_FRAME_H
#include <stdint.h>
#include <stdbool.h>

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss;  // pushed by the CPU
};
_Static_assert(sizeof(struct trap_frame) == 22 * 8, "entry.S frame offsets");

struct pg_context;

// A frame that enters user mode at pc with sp and first argument arg, interrupts on.
void arch_frame_user_entry(struct trap_frame *f, uintptr_t pc, uintptr_t sp, uint64_t arg);
// Makes f safe to return to user mode with (called last on every way out).
void arch_frame_user_sanitize(struct trap_frame *f);
// The user context the frame holds, in the ABI's layout (include/pagoda/abi.h).
void arch_frame_save_context(const struct trap_frame *f, struct pg_context *c);
static inline uintptr_t arch_frame_sp(const struct trap_frame *f) { return f->rsp; }
static inline uintptr_t arch_frame_pc(const struct trap_frame *f) { return f->rip; }

// A user fault, as the fault upcall reports it (abi.h: fault_addr, fault_code).
struct arch_fault {
	uintptr_t addr;   // the faulting address for a page fault, else the pc
	uint64_t code;    // the upcall's fault_code: error code | vector << 32
	bool page;        // a page fault: pf_error holds PF_ERR_* bits (arch/paging.h)
	uint64_t pf_error;
};
void arch_frame_fault(const struct trap_frame *f, struct arch_fault *out);

#endif
