// context.S: resuming and switching user contexts (struct pg_context, abi.h) without
// a system call.
#define CTX_RSP    56
#define CTX_RIP    128
#define CTX_RFLAGS 136
#define CTX_XSTATE 144
#define CTX_MXCSR  152
#define CTX_FCW    156
#define CTX_XSIZE  158
#define FXSAVE_SIZE 512
#define RED_ZONE   128   // below rsp, the interrupted code's own (SysV ABI)
#define COPY       144   // 16 registers, rflags, rip

	.text
// void pg_context_resume(const struct pg_context *c): loads every register of c and
// jumps to c->rip.
// The extended state comes first, while c's image is surely intact: the caller runs
// on an upcall or scheduler stack, so nothing overwrites it until rsp leaves. Then
// the general registers are copied below c->rsp (past its red zone), onto the stack
// it resumes, and read from there: once rsp has left the upcall stack an upcall may
// overwrite the frame c points into, and a preemption in the middle of this code
// leaves a context that simply finishes the restore when it is resumed.
	.globl pg_context_resume
	.type pg_context_resume, @function
pg_context_resume:
	mov CTX_XSTATE(%rdi), %rsi
	test %rsi, %rsi
	jz 2f
	cmpw $FXSAVE_SIZE, CTX_XSIZE(%rdi)
	je 1f
	mov $-1, %eax               // every component XCR0 enables: those the image
	mov $-1, %edx               // marks absent are put in their init state
	xrstor64 (%rsi)
	jmp 3f
1:	fxrstor64 (%rsi)
	jmp 3f
2:	ldmxcsr CTX_MXCSR(%rdi)     // a voluntary switch: only the callee-saved words
	fldcw CTX_FCW(%rdi)
3:	mov CTX_RSP(%rdi), %rax
	lea -(RED_ZONE + COPY)(%rax), %rax
	xor %ecx, %ecx
4:	mov (%rdi,%rcx,8), %rdx
	mov %rdx, (%rax,%rcx,8)
	inc %ecx
	cmp $16, %ecx
	jne 4b
	mov CTX_RFLAGS(%rdi), %rdx
	mov %rdx, 128(%rax)
	mov CTX_RIP(%rdi), %rdx
	mov %rdx, 136(%rax)
	mov %rax, %rsp
	mov 8(%rsp), %rbx
	mov 16(%rsp), %rcx
	mov 24(%rsp), %rdx
	mov 32(%rsp), %rsi
	mov 40(%rsp), %rdi
	mov 48(%rsp), %rbp
	mov 64(%rsp), %r8
	mov 72(%rsp), %r9
	mov 80(%rsp), %r10
	mov 88(%rsp), %r11
	mov 96(%rsp), %r12
	mov 104(%rsp), %r13
	mov 112(%rsp), %r14
	mov 120(%rsp), %r15
	mov 0(%rsp), %rax
	lea 128(%rsp), %rsp         // lea leaves the flags alone
	popfq
	ret $RED_ZONE               // pops rip, then rsp = c->rsp
	.size pg_context_resume, . - pg_context_resume

// void pg_context_switch(struct pg_context *save, const struct pg_context *next):
// saves the caller's callee-saved state in save (resuming it returns from this
// call) and resumes next. Of the extended state only MXCSR and the x87 control word
// are callee-saved (SysV ABI): the rest a caller cannot expect to survive a call.
	.globl pg_context_switch
	.type pg_context_switch, @function
pg_context_switch:
	mov %rbx, 8(%rdi)
	mov %rbp, 48(%rdi)
	mov %r12, 96(%rdi)
	mov %r13, 104(%rdi)
	mov %r14, 112(%rdi)
	mov %r15, 120(%rdi)
	lea 8(%rsp), %rax           // rsp after our return
	mov %rax, CTX_RSP(%rdi)
	mov (%rsp), %rax            // our return address
	mov %rax, CTX_RIP(%rdi)
	pushfq
	pop %rax
	mov %rax, CTX_RFLAGS(%rdi)
	movq $0, CTX_XSTATE(%rdi)
	stmxcsr CTX_MXCSR(%rdi)
	fnstcw CTX_FCW(%rdi)
	mov %rsi, %rdi
	jmp pg_context_resume
	.size pg_context_switch, . - pg_context_switch

	.section .note.GNU-stack, "", @progbits
