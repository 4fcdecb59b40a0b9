// crt0.S: the entry point of every user program, and the upcall entry of its first
// vcpu. The kernel enters _start with rdi = the struct pg_upcall it wrote at the top
// of the vcpu's upcall stack (abi.h). On UPCALL_START, _start moves to the main
// stack, which the loader maps right below the upcall stack, and runs main(arg) there
// (outside the upcall stack, so main can be preempted and take faults through
// upcalls); its result goes to pg_exit. Every later upcall goes to pg_upcall(), which
// a program may override (libpagoda's default resumes the context, and turns a fault
// into a reported stop).
// Values from abi.h (C only), checked against it in upcall.c.
#define UPCALL_START 1
#define PG_UPCALL_STACK_SIZE 16384
#define UPCALL_SIZE 1280      // sizeof(struct pg_upcall)
#define ARG_OFF     8         // offsetof(struct pg_upcall, arg)

	.text
	.globl _start
	.type _start, @function
_start:
	xor %ebp, %ebp          // end of the frame-pointer chain for backtraces
	cmpq $UPCALL_START, (%rdi)
	jne 1f
	lea UPCALL_SIZE(%rdi), %rsp   // the upcall stack's top
	sub $PG_UPCALL_STACK_SIZE, %rsp // = the main stack's top
	mov ARG_OFF(%rdi), %rdi
	call main               // main(uint64_t arg), on the main stack
	mov %eax, %edi
	call pg_exit            // noreturn
	ud2
	// Every later upcall: the interrupted code's extended state is saved in the frame
	// (ctx.xstate), so the handler starts from clean control words and an empty x87
	// stack, whatever rounding mode or exception masks the interrupted code had set.
1:	fninit
	ldmxcsr mxcsr_init(%rip)
	and $-16, %rsp
	call pg_upcall          // pg_upcall(struct pg_upcall *): never returns
	ud2
	.size _start, . - _start

	.section .rodata
	.balign 4
mxcsr_init:
	.long 0x1F80            // all exceptions masked, round to nearest

	.section .note.GNU-stack, "", @progbits
