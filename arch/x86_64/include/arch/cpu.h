// cpu.h: the x86-specific part of a CPU's private state (GDT, TSS, stacks).
#ifndef ARCH_CPU_H
#define ARCH_CPU_H
#include <stdint.h>

struct tss {
	uint32_t rsvd0;
	uint64_t rsp[3];
	uint64_t rsvd1;
	uint64_t ist[7];
	uint64_t rsvd2;
	uint16_t rsvd3;
	uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

#define IST_DOUBLE_FAULT 1
#define IST_NMI          2
#define IST_STACK_SIZE   8192

struct arch_cpu {
	uint64_t gdt[8]; // null, kcode, kdata, unused, udata, ucode, tss (2 slots)
	struct tss tss;
	uintptr_t ist_top[2];   // double-fault and NMI stacks, set by the CPU's creator
	uintptr_t copy_retried; // the user address the current user copy retried once (uentry.c)
};

struct cpu;
void arch_cpu_init(struct cpu *c);   // GDT, TSS, IDT and GS base for the calling CPU
void idt_init(void);                 // once, on the BSP

#endif
