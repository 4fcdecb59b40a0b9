// trampoline.S: where an AP starts after INIT-SIPI-SIPI. smp.c copies this blob to
// TRAMPOLINE_PA (below 1 MiB, as real mode requires), fills in the stack and cpu
// pointer at its end, and sends the SIPI. It runs position-dependent at that copy,
// so every address is computed relative to TRAMPOLINE_PA, and calls into the image
// are indirect (a relative call would be relative to where the blob was linked).
#include "asm.h"

#define T(x) ((x) - trampoline_start + TRAMPOLINE_PA)

.section .boot.text, "ax"
.code16
.global trampoline_start
trampoline_start:
	cli
	cld
	xor %ax, %ax
	mov %ax, %ds
	lgdtl T(tramp_gdtr)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $GDT_BOOT32, $T(tramp32)

.code32
tramp32:
	mov $GDT_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov $T(tramp_stack32), %esp
	mov $enter_long_mode32, %eax
	call *%eax
	ljmp $GDT_KCODE, $T(tramp64)

.code64
tramp64:
	// The boot tables map this page but not the AP's stack; the kernel tables map the
	// stack but not this page. So: load what we need, jump high, then switch.
	mov T(tramp_stack), %rsp
	mov T(tramp_cpu), %rdi
	movabs $ap_start64, %rax
	jmp *%rax

.align 8
tramp_gdtr:
	.word 31
	.long boot_gdt
.align 8
	.skip 64
tramp_stack32:
.global trampoline_stack, trampoline_cpu
trampoline_stack:
tramp_stack:
	.quad 0
trampoline_cpu:
tramp_cpu:
	.quad 0
.global trampoline_end
trampoline_end:

.text
ap_start64:
	movabs $kernel_cr3, %rax
	mov (%rax), %rax
	mov %rax, %cr3
	xor %ebp, %ebp
	call ap_entry
1:	cli
	hlt
	jmp 1b
