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
2:	pop %r15
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
// mode and returns through trap_exit's iretq, which restores every register. iretq
// too faults in ring 0 on a non-canonical rip (after swapgs: fatal), so the rip must
// be canonical: USER_TOP leaves a gap page (abi.h) and arch_frame_user_sanitize()
// checks every frame on its way out.
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
	jmp trap_exit
