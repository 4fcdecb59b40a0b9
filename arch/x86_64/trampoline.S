// trampoline.S: where an AP starts after INIT-SIPI-SIPI. smp.c copies this blob to a
// page below 1 MiB taken from the firmware's usable memory (real mode requires it; the
// page differs between BIOS and UEFI, so nothing here assumes where), fills in the
// stack and cpu pointer at its end, and sends the SIPI. The blob finds its own base
// from CS (the SIPI vector's page) and keeps it in ebx; every address inside it is
// base-relative and both mode-switching far jumps go through pointers it patches
// itself. Calls into the image are indirect (a relative call would be relative to
// where the blob was linked).
#include "asm.h"

#define OFF(x) ((x) - trampoline_start)

.section .boot.text, "ax"
.code16
.global trampoline_start
trampoline_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	xor %ebx, %ebx
	mov %ax, %bx
	shl $4, %ebx                    // ebx = the blob's physical base, kept to the end
	lea OFF(tramp32)(%ebx), %eax
	mov %eax, OFF(far32)
	lea OFF(tramp64)(%ebx), %eax
	mov %eax, OFF(far64)
	lgdtl OFF(tramp_gdtr)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl *OFF(far32)               // through ds, still based at the blob

.code32
tramp32:
	mov $GDT_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	lea OFF(tramp_stack32)(%ebx), %esp
	mov $enter_long_mode32, %eax
	call *%eax                      // keeps ebx
	ljmp *OFF(far64)(%ebx)

.code64
tramp64:
	// The boot tables map this page but not the AP's stack; the kernel tables map the
	// stack but not this page. So: load what we need, jump high, then switch.
	mov %ebx, %ebx                  // upper half undefined after the mode switch
	mov OFF(tramp_stack)(%rbx), %rsp
	mov OFF(tramp_cpu)(%rbx), %rdi
	movabs $ap_start64, %rax
	jmp *%rax

.align 8
far32:                                  // m16:32 far pointers, offsets patched above
	.long 0
	.word GDT_BOOT32
.align 8
far64:
	.long 0
	.word GDT_KCODE
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
