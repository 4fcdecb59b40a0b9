// crt0.S: the entry point of every user program. The kernel enters _start with
// rsp = top of the user stack (16-byte aligned, no return address pushed) and
// rdi = the program's argument; _start calls main(arg) and passes its result to pg_exit.
	.text
	.globl _start
	.type _start, @function
_start:
	xor %ebp, %ebp          // end of the frame-pointer chain for backtraces
	and $-16, %rsp          // the kernel promises alignment; make sure of it
	call main               // main(uint64_t arg): rdi is still the argument
	mov %eax, %edi
	call pg_exit            // noreturn
	ud2
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
