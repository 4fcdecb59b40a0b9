// asm.h: constants shared by assembly and C (no C declarations here).
#ifndef ARCH_ASM_H
#define ARCH_ASM_H

#define KERNEL_VMA 0xffffffff80000000

#define GDT_KCODE  0x08
#define GDT_KDATA  0x10
#define GDT_BOOT32 0x18   // only in boot_gdt
#define GDT_UDATA  0x20   // per-CPU GDT: user data (sysret wants udata right below ucode)
#define GDT_UCODE  0x28
#define GDT_TSS    0x30

#define CR0_PE  (1 << 0)
#define CR0_WP  (1 << 16)
#define CR0_PG  (1 << 31)
#define CR4_PAE (1 << 5)
#define CR4_PGE (1 << 7)

#define MSR_EFER 0xC0000080
#define EFER_SCE (1 << 0)
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

#ifdef __ASSEMBLY__ // C code gets these (as 64-bit constants) from paging.h
#define PTE_P  0x1
#define PTE_W  0x2
#define PTE_PS 0x80
#endif


#endif
