// boot.S: multiboot entry (v1 and v2), 32-bit to long mode, jump to the higher half.
// Why two headers: QEMU's -kernel loads only multiboot v1, whose a.out "kludge" fields
// let it place our flat image at 1 MiB without reading ELF64 (which it refuses); GRUB's
// multiboot2 loads kernel.elf by its program headers (physical addresses, the same
// 1 MiB) on BIOS and UEFI. Both enter _start in 32-bit protected mode, paging off, with
// the magic in eax and the information's physical address in ebx; kmain tells them
// apart by the magic. We ask GRUB for no EFI boot services, so it exits them first. The boot page tables map the low 1 GiB twice
// (identity and at KERNEL_VMA); they are used only until paging_init() and by APs
// while they come up (trampoline.S), never afterwards.
#include "asm.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS ((1 << 1) | (1 << 16)) // memory map; load addresses given below

.section .multiboot, "a"
.align 4
mb_header:
	.long MB_MAGIC
	.long MB_FLAGS
	.long -(MB_MAGIC + MB_FLAGS)
	.long mb_header          // header_addr
	.long _image_start_pa    // load_addr
	.long _load_end_pa       // load_end_addr
	.long _bss_end_pa        // bss_end_addr
	.long _start             // entry_addr

// Multiboot2 (within the first 32 KiB, 8-aligned; tags 8-aligned). No address tag: GRUB
// loads the ELF segments. Module alignment asks for page-aligned modules.
#define MB2_MAGIC 0xE85250D6
#define MB2_ARCH_I386 0
.align 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	.short 6, 0                 // module alignment tag (optional)
	.long 8
	.short 0, 0                 // end tag
	.long 8
mb2_header_end:

.section .boot.text, "ax"
.code32
.global _start
_start:
	cli
	cld
	mov $(boot_stack_top - KERNEL_VMA), %esp
	mov %eax, %edi                  // multiboot magic -> 1st C argument
	mov %ebx, %esi                  // multiboot info physical address -> 2nd
	call enter_long_mode32
	ljmp $GDT_KCODE, $start64

// Shared by the BSP and the AP trampoline: load the boot tables and enable long mode
// (PAE, LME, NXE, paging, write-protect). Returns still in compatibility mode.
.global enter_long_mode32
enter_long_mode32:
	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $(CR4_PAE | CR4_PGE), %eax
	mov %eax, %cr4
	mov $MSR_EFER, %ecx
	rdmsr
	or $(EFER_LME | EFER_NXE | EFER_SCE), %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_PE | CR0_WP), %eax
	mov %eax, %cr0
	lgdt boot_gdtr
	ret

.code64
start64:
	mov $GDT_KDATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %ax, %ax
	mov %ax, %fs
	mov %ax, %gs
	movabs $boot_stack_top, %rsp
	xor %ebp, %ebp                  // ends backtraces
	movabs $kmain, %rax
	call *%rax
1:	cli
	hlt
	jmp 1b

.section .boot.data, "aw"
.align 4096
.global boot_pml4
boot_pml4:
	.quad boot_pdpt_lo + PTE_P + PTE_W
	.fill 510, 8, 0
	.quad boot_pdpt_hi + PTE_P + PTE_W
boot_pdpt_lo:
	.quad boot_pd + PTE_P + PTE_W
	.fill 511, 8, 0
boot_pdpt_hi:
	.fill 510, 8, 0
	.quad boot_pd + PTE_P + PTE_W
	.quad 0
boot_pd:                                // 512 x 2 MiB: the low 1 GiB
	.set i, 0
	.rept 512
	.quad (i << 21) + PTE_P + PTE_W + PTE_PS
	.set i, i + 1
	.endr

.align 16
.global boot_gdt
boot_gdt:
	.quad 0
	.quad 0x00af9a000000ffff        // GDT_KCODE: 64-bit code
	.quad 0x00cf92000000ffff        // GDT_KDATA
	.quad 0x00cf9a000000ffff        // GDT_BOOT32: 32-bit code for the trampoline
boot_gdt_end:
.global boot_gdtr
boot_gdtr:
	.word boot_gdt_end - boot_gdt - 1
	.long boot_gdt

.section .bss
.align 16
boot_stack:
	.skip 16384
.global boot_stack_top
boot_stack_top:
