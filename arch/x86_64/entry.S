// entry.S: one 16-byte stub per interrupt vector, all funnelling into trap_common,
// which saves the registers as a struct trap_frame (trap.h) and calls trap_dispatch.
#include "asm.h"

// Saves the general registers in struct trap_frame order (trap.h).
.macro PUSH_REGS
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
.endm

// Restores them (the frame's rip and below are left to iretq or sysretq).
.macro POP_REGS
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
.endm

.text
.align 16
.global trap_stubs
trap_stubs:
	.set vec, 0
	.rept 256
	.align 16
	// The CPU pushes an error code for these exceptions only; others get a 0.
	.if (vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	.else
	pushq $0
	.endif
	.if vec < 128
	pushq $vec
	.else
	.byte 0x68              // push imm32 (sign-extended); vec < 256 so it stays positive
	.long vec
	.endif
	jmp trap_common
	.set vec, vec + 1
	.endr

trap_common:
	PUSH_REGS
	cld
	testb $3, 18*8(%rsp)            // frame->cs: from user mode?
	jz 1f
	swapgs
	pushfq                          // user code may have set AC: turn SMAP back on
	andq $~(1 << 18), (%rsp)
	popfq
1:	mov %rsp, %rdi
	call trap_dispatch
// Returns through the frame at rsp: kernel or user, interrupts off.
.global trap_exit
trap_exit:
	testb $3, 18*8(%rsp)
	jz 2f
	swapgs
2:	POP_REGS
	add $16, %rsp                   // vector and error code
	iretq

// void trap_return(struct trap_frame *f): leave the kernel through f (new threads).
.global trap_return
trap_return:
	mov %rdi, %rsp
	jmp trap_exit

// The `syscall` instruction lands here with interrupts off (SFMASK), rcx = user rip,
// r11 = user rflags, rsp still the user's; SFMASK has cleared every flag user code
// could set (uentry.c). It builds the same struct trap_frame as an interrupt from user
// mode. It returns with sysretq when that restores exactly the registers iretq would
// (below), else through trap_exit's iretq, which restores every register. iretq too
// faults in ring 0 on a non-canonical rip (after swapgs: fatal), so the rip must be
// canonical: USER_TOP leaves a gap page (abi.h) and arch_frame_user_sanitize() checks
// every frame on its way out.
.global syscall_entry
syscall_entry:
	swapgs
	mov %rsp, %gs:24
	mov %gs:16, %rsp
	pushq $(GDT_UDATA | 3)          // ss
	pushq %gs:24                    // rsp
	pushq %r11                      // rflags
	pushq $(GDT_UCODE | 3)          // cs
	pushq %rcx                      // rip
	pushq $0                        // error
	pushq $0x100                    // vector: "syscall"
	PUSH_REGS
	cld
#ifdef PHASE_STATS
	mov %rsp, %rdi
	call phase_syscall_enter        // kern/phase.c: the call's first timestamp
#endif
	mov %rsp, %rdi
	call syscall_dispatch           // returns with interrupts off
#ifdef PHASE_STATS
	call phase_syscall_exit         // its last
#endif
	// sysretq sets rip = rcx, rflags = (r11 & 0x3c7fd7) | 2, CS and SS from STAR
	// (uentry.c: the user selectors), and leaves every other register, rsp included,
	// to us. So it returns this frame exactly as iretq would only when rcx holds the
	// frame's rip, r11 its rflags (sanitized: user flags and IF only, bit 1 aside) and
	// the selectors are the user ones: the plain return of a call, whose frame still
	// holds what `syscall` left in rcx and r11. Anything else (an upcall's new entry
	// and stack, a resumed context, flags the sanitizer dropped, such as NT) leaves
	// through iretq, so the registers user mode sees never depend on which was taken.
	// And rcx must be canonical: on Intel CPUs a sysretq to a non-canonical rcx takes
	// #GP in ring 0 (SDM Vol. 2B, SYSRET), after our swapgs and with the user's rsp
	// already loaded: the handler would run on a user-chosen stack with the user's GS
	// base (CVE-2012-0217). AMD faults in ring 3 instead; neither is acceptable. User
	// space cannot produce one (USER_TOP's gap page keeps even the return from a
	// `syscall` in the last bytes canonical, umode_top_of_user_space), so the check
	// below is the explicit guard, and its failure takes the iretq path, whose frame
	// check (arch_frame_user_sanitize) stops the kernel instead.
	mov 17*8(%rsp), %rcx            // frame->rip
	cmp 12*8(%rsp), %rcx            // == frame->rcx
	jne trap_exit
	mov %rcx, %rax
	shr $47, %rax                   // canonical lower half: bits 63..47 clear
	jnz trap_exit
	mov 19*8(%rsp), %rax            // frame->rflags
	or $2, %rax
	cmp 4*8(%rsp), %rax             // == frame->r11
	jne trap_exit
	cmpq $(GDT_UCODE | 3), 18*8(%rsp)
	jne trap_exit
	cmpq $(GDT_UDATA | 3), 21*8(%rsp)
	jne trap_exit
	swapgs
	POP_REGS
	// Interrupts are off until sysretq loads rflags; from here to it rsp is the
	// user's, which only an NMI could see, and the NMI has a stack of its own (IST).
	mov 5*8(%rsp), %rsp             // frame->rsp (vector, error, rip, cs, rflags, rsp)
	sysretq
