// switch.S: kernel thread switch and fault-safe user copies.
#include "asm.h"

.text
// void ctx_switch(uintptr_t *save_rsp, uintptr_t next_rsp)
// Only callee-saved registers and RFLAGS need saving: to the C code on either side
// the switch is an ordinary function call. RFLAGS goes with the thread, so no flag
// (DF, AC, NT) set on one side can reach the other.
.global ctx_switch
ctx_switch:
	pushfq
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, (%rdi)
	mov %rsi, %rsp
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	popfq
	ret

// First return of a new thread (thread.c builds its stack): the trap frame to enter
// user mode with sits right above. vcpu_first_run finishes the switch.
.global ctx_thread_start
ctx_thread_start:
	mov %rsp, %rdi
	call vcpu_first_run
	jmp trap_exit

// int arch_copy_user(void *dst, const void *src, size_t n, int smap)
// The caller checked that the user side lies in the user half. A fault between
// usercopy_begin and usercopy_end resumes at usercopy_fault (trap.c): E_FAULT.
.global arch_copy_user, usercopy_begin, usercopy_end, usercopy_fault
arch_copy_user:
	mov %ecx, %r8d
	test %r8d, %r8d
	jz 1f
	stac                            // let the kernel touch user pages (SMAP)
1:	mov %rdx, %rcx
usercopy_begin:
	rep movsb
usercopy_end:
	xor %eax, %eax
2:	test %r8d, %r8d
	jz 3f
	clac
3:	ret
usercopy_fault:
	mov $-7, %eax                   // E_FAULT
	jmp 2b
