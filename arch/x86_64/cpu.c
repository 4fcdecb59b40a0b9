// cpu.c: per-CPU descriptor tables (GDT with a TSS, shared IDT) and GS base.
// Each CPU owns its GDT and TSS (the TSS holds its own interrupt stacks).
#include <arch/cpu.h>
#include <arch/fpu.h>
#include "asm.h"
#include "x86.h"
#include "kern/percpu.h"
#include "uentry.h"
#include "kern/panic.h"

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, rsvd;
} __attribute__((packed));
_Static_assert(sizeof(struct idt_gate) == 16, "IDT gate layout");

static struct idt_gate idt[256];
extern char trap_stubs[];

struct dtr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static void idt_set(int vec, int ist)
{
	uintptr_t a = (uintptr_t)trap_stubs + 16 * vec;
	idt[vec] = (struct idt_gate){
		.off_lo = a & 0xFFFF, .sel = GDT_KCODE, .ist = ist, .type = 0x8E, // interrupt gate, DPL 0
		.off_mid = (a >> 16) & 0xFFFF, .off_hi = a >> 32,
	};
}

void idt_init(void)
{
	for (int v = 0; v < 256; v++)
		idt_set(v, 0);
	idt_set(8, IST_DOUBLE_FAULT); // a kernel stack overflow must not fault again
	idt_set(2, IST_NMI);
}

static uint64_t seg(uint32_t flags) { return ((uint64_t)flags << 40) | 0xFFFF | (0xFULL << 48); }

static void gdt_fill(struct arch_cpu *a)
{
	a->gdt[0] = 0;
	a->gdt[GDT_KCODE / 8] = seg(0xA09A); // L, P, DPL0, code
	a->gdt[GDT_KDATA / 8] = seg(0xC092);
	a->gdt[3] = 0;
	a->gdt[GDT_UDATA / 8] = seg(0xC0F2); // DPL3
	a->gdt[GDT_UCODE / 8] = seg(0xA0FA);
	uintptr_t t = (uintptr_t)&a->tss;
	a->gdt[GDT_TSS / 8] = (sizeof(struct tss) - 1) | ((t & 0xFFFFFF) << 16) |
			      (0x89ULL << 40) | (((t >> 24) & 0xFF) << 56);
	a->gdt[GDT_TSS / 8 + 1] = t >> 32;
}

// Called on each CPU for itself, with interrupts off. The creator of c has set
// c->kstack_top and c->arch.ist_top[].
void arch_cpu_init(struct cpu *c)
{
	struct arch_cpu *a = &c->arch;
	gdt_fill(a);
	a->tss.iomap_base = sizeof(struct tss);
	a->tss.rsp[0] = c->kstack_top;
	a->tss.ist[IST_DOUBLE_FAULT - 1] = a->ist_top[0];
	a->tss.ist[IST_NMI - 1] = a->ist_top[1];

	struct dtr g = { sizeof a->gdt - 1, (uintptr_t)a->gdt };
	struct dtr i = { sizeof idt - 1, (uintptr_t)idt };
	__asm__ volatile("lgdt %0; lidt %1" ::"m"(g), "m"(i));
	// Reload CS through a far return, then the data segments and the task register.
	__asm__ volatile("pushq %0; leaq 1f(%%rip), %%rax; pushq %%rax; lretq; 1:" ::"i"(GDT_KCODE) : "rax", "memory");
	__asm__ volatile("mov %0, %%ds; mov %0, %%es; mov %0, %%ss" ::"r"(GDT_KDATA));
	__asm__ volatile("ltr %w0" ::"r"(GDT_TSS));
	wrmsr(MSR_GS_BASE, (uintptr_t)c);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
	uentry_init_cpu();
	arch_fpu_init_cpu();
}

bool relax_with_pause = true;

// Under a hypervisor that is not KVM (QEMU's TCG reports none of its own), spin
// without `pause`; see cpu_relax().
void cpu_init_relax(void)
{
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 31)))
		return; // bare metal
	cpuid(0x40000000, 0, r);
	relax_with_pause = r[1] == 0x4b4d564b && r[2] == 0x564b4d56; // "KVMKVMKVM"
}
