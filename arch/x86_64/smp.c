// smp.c: per-CPU structures and AP start-up (INIT-SIPI-SIPI via trampoline.S).
// APs are started one at a time; each announces itself by setting c->online.
#include <arch/arch.h>
#include "acpi.h"
#include "apic.h"
#include "asm.h"
#include <arch/paging.h>
#include "x86.h"
#include "kern/boot.h"
#include "kern/percpu.h"
#include "kern/kheap.h"
#include "kern/idle.h"
#include "kern/sched.h"
#include "kern/kva.h"
#include "kern/kwin.h"
#include "kern/console.h"
#include "kern/panic.h"
#include "include/pagoda/errors.h"

#define KSTACK_PAGES 4

struct cpu *cpus[MAX_CPUS];
_Atomic uint32_t ncpus_online;
uint32_t ncpus = 1;
static _Atomic cpuset_t online_set;
static uint64_t tramp_pa; // the AP trampoline's page, below 1 MiB (boot_low_page)

extern char boot_stack_top[];
extern char trampoline_start[], trampoline_end[], trampoline_stack[], trampoline_cpu[];
static struct cpu bsp_cpu;
static char bsp_ist[2][IST_STACK_SIZE] __attribute__((aligned(16)));

cpuset_t cpuset_online(void) { return atomic_load_explicit(&online_set, memory_order_acquire); }

static void mark_online(struct cpu *c)
{
	atomic_store_explicit(&c->online, true, memory_order_release);
	atomic_fetch_or(&online_set, cpuset_of(c->id));
	atomic_fetch_add(&ncpus_online, 1);
}

void arch_early_init(void)
{
	struct cpu *c = &bsp_cpu;
	c->self = c;
	c->kstack_top = (uintptr_t)boot_stack_top;
	c->arch.ist_top[0] = (uintptr_t)bsp_ist[0] + IST_STACK_SIZE;
	c->arch.ist_top[1] = (uintptr_t)bsp_ist[1] + IST_STACK_SIZE;
	cpus[0] = c;
	cpu_init_relax();
	idt_init();
	arch_cpu_init(c);
}

// Called from trampoline.S on the new CPU, on its own stack, kernel tables loaded.
void ap_entry(struct cpu *c)
{
	arch_cpu_init(c);
	lapic_init_cpu();
	sched_init_cpu();
	mark_online(c);
	idle_loop();
}

static int stack_top(size_t pages, uintptr_t *top)
{
	uintptr_t base;
	int err = kva_alloc_stack(pages, &base);
	*top = base + pages * PAGE_SIZE;
	return err;
}

static struct cpu *cpu_create(uint32_t id, uint32_t apic_id)
{
	struct cpu *c = kzalloc(sizeof *c);
	if (!c || stack_top(KSTACK_PAGES, &c->kstack_top) != E_OK ||
	    stack_top(IST_STACK_SIZE / PAGE_SIZE, &c->arch.ist_top[0]) != E_OK ||
	    stack_top(IST_STACK_SIZE / PAGE_SIZE, &c->arch.ist_top[1]) != E_OK)
		panic("no memory for cpu%u", id);
	c->self = c;
	c->id = id;
	c->apic_id = apic_id;
	return c;
}

static int start_ap(struct cpu *c)
{
	uint64_t stack = c->kstack_top, cpu = (uintptr_t)c;
	kwin_write_phys(tramp_pa + (trampoline_stack - trampoline_start), &stack, 8);
	kwin_write_phys(tramp_pa + (trampoline_cpu - trampoline_start), &cpu, 8);
	cpus[c->id] = c;
	lapic_send_init(c->apic_id);
	udelay(10000);
	for (int i = 0; i < 2 && !atomic_load_explicit(&c->online, memory_order_acquire); i++) {
		lapic_send_sipi(c->apic_id, tramp_pa >> 12);
		udelay(200);
	}
	for (int ms = 0; ms < 1000 && !atomic_load_explicit(&c->online, memory_order_acquire); ms++)
		udelay(1000);
	return atomic_load_explicit(&c->online, memory_order_acquire) ? E_OK : E_TIMEOUT;
}

// The blob is linked (and loaded) low, where the kernel tables map nothing: copy it
// physical to physical. The page lies in low memory that memory_init keeps out of the
// frame pool, so nothing else ever writes it.
static void copy_trampoline(void)
{
	char buf[512];
	size_t n = trampoline_end - trampoline_start;
	KASSERT(n <= sizeof buf);
	kwin_read_phys(buf, (uintptr_t)trampoline_start, n);
	kwin_write_phys(tramp_pa, buf, n);
}

void arch_start_aps(void)
{
	uint32_t ids[MAX_CPUS];
	int n = acpi_find_cpus(ids, MAX_CPUS);
	bsp_cpu.apic_id = lapic_id();
	mark_online(&bsp_cpu);
	if (n <= 0) {
		kprintf("smp: no MADT (%d), running on the BSP only\n", n);
		return;
	}
	if (boot_low_page(0x100000, &tramp_pa) != E_OK) {
		kprintf("smp: no usable page below 1 MiB for the AP trampoline, running on the BSP only\n");
		return;
	}
	copy_trampoline();
	for (int i = 0; i < n; i++) {
		if (ids[i] == bsp_cpu.apic_id)
			continue;
		struct cpu *c = cpu_create(ncpus, ids[i]);
		if (start_ap(c) != E_OK) {
			kprintf("smp: cpu with APIC id %u did not start\n", ids[i]);
			cpus[c->id] = NULL;
			continue; // its memory stays: the region only grows
		}
		ncpus++;
	}
	kprintf("smp: %u of %d CPUs online (%s, AP trampoline at %#lx)\n", atomic_load(&ncpus_online),
		n, lapic_is_x2apic() ? "x2APIC" : "xAPIC", tramp_pa);
}
