// dev.c: what device objects reach on x86: port I/O, PCI configuration mechanism #1
// (ports 0xCF8/0xCFC) and the I/O APIC's redirection table. The kernel's own devices
// (the serial console, the PIT, the PICs, the local APIC) are never handed out.
#include <arch/arch.h>
#include "trap.h"
#include "x86.h"
#include "acpi.h"
#include "apic.h"
#include "kern/kva.h"
#include "kern/spinlock.h"
#include "kern/console.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"

// Ports the kernel drives: [first, last].
static const struct { uint16_t first, last; } kernel_ports[] = {
	{ 0x20, 0x21 },   // master PIC
	{ 0x40, 0x43 },   // PIT
	{ 0x61, 0x61 },   // PIT gate (calibration)
	{ 0xA0, 0xA1 },   // slave PIC
	{ 0xF4, 0xF7 },   // QEMU's isa-debug-exit (arch_exit)
	{ 0x3F8, 0x3FF }, // COM1, the console
	{ 0xCF8, 0xCFF }, // PCI configuration: only through arch_pci_*
};

bool arch_ports_kernel(uint64_t first, uint64_t count)
{
	for (size_t i = 0; i < sizeof kernel_ports / sizeof kernel_ports[0]; i++)
		if (first <= kernel_ports[i].last && kernel_ports[i].first < first + count)
			return true;
	return false;
}

uint32_t arch_port_in(uint16_t port, int width)
{
	return width == 1 ? inb(port) : width == 2 ? inw(port) : inl(port);
}

void arch_port_out(uint16_t port, int width, uint32_t v)
{
	if (width == 1)
		outb(port, (uint8_t)v);
	else if (width == 2)
		outw(port, (uint16_t)v);
	else
		outl(port, v);
}

// ---- PCI configuration --------------------------------------------------------------

// The address port and the data port are one pair for the whole machine.
static struct spinlock pci_lock = SPINLOCK_INIT("pci");

static uint32_t pci_select(uint32_t bdf, uint32_t off) REQUIRES(pci_lock)
{
	outl(0xCF8, 0x80000000u | bdf << 8 | (off & 0xFC));
	return 0xCFC + (off & 3);
}

uint32_t arch_pci_read(uint32_t bdf, uint32_t off, int width)
{
	spin_lock(&pci_lock);
	uint32_t v = arch_port_in((uint16_t)pci_select(bdf, off), width);
	spin_unlock(&pci_lock);
	return v;
}

void arch_pci_write(uint32_t bdf, uint32_t off, int width, uint32_t v)
{
	spin_lock(&pci_lock);
	arch_port_out((uint16_t)pci_select(bdf, off), width, v);
	spin_unlock(&pci_lock);
}

// ---- The I/O APIC ------------------------------------------------------------------

#define IOAPIC_PA_DEFAULT 0xFEC00000u
#define LAPIC_PA_DEFAULT  0xFEE00000u
#define IOREGSEL 0x00
#define IOWIN    0x10
#define REG_VER  0x01
#define REG_RED(line) (0x10 + 2 * (line))
#define RED_MASKED (1u << 16)
#define RED_LEVEL  (1u << 15)
#define RED_LOW    (1u << 13)

// Index-then-data register pair: every access under the lock. lines is set once at
// boot (arch_irq_init, before any device object exists).
static struct spinlock ioapic_lock = SPINLOCK_INIT("ioapic");
static volatile uint32_t *ioapic;
static uint64_t ioapic_pa;
static int lines;
static uint32_t boot_apic; // the CPU every line is routed to

static uint32_t io_rd(uint32_t reg) REQUIRES(ioapic_lock)
{
	ioapic[IOREGSEL / 4] = reg;
	return ioapic[IOWIN / 4];
}

static void io_wr(uint32_t reg, uint32_t v) REQUIRES(ioapic_lock)
{
	ioapic[IOREGSEL / 4] = reg;
	ioapic[IOWIN / 4] = v;
}

bool arch_mmio_kernel(uint64_t pa, uint64_t len)
{
	uint64_t pages[] = { ioapic_pa ? ioapic_pa : IOAPIC_PA_DEFAULT, LAPIC_PA_DEFAULT };
	for (size_t i = 0; i < 2; i++)
		if (pa < (pages[i] & ~0xFFFull) + 0x1000 && (pages[i] & ~0xFFFull) < pa + len)
			return true;
	return false;
}

// Finds and maps the I/O APIC and masks every line. Without one (no MADT entry),
// there are no interrupt lines to hand out, which device objects report as E_RANGE.
void arch_irq_init(void)
{
	if (acpi_find_ioapic(&ioapic_pa) != E_OK || !(ioapic = kva_map_mmio(ioapic_pa & ~0xFFFull, 1))) {
		kprintf("ioapic: none found: no interrupt lines for drivers\n");
		return;
	}
	ioapic = (volatile uint32_t *)((uintptr_t)ioapic + (ioapic_pa & 0xFFF));
	spin_lock(&ioapic_lock);
	int n = (int)((io_rd(REG_VER) >> 16) & 0xFF) + 1;
	if (n > IRQ_LINES_MAX)
		n = IRQ_LINES_MAX;
	for (int i = 0; i < n; i++)
		io_wr(REG_RED(i), RED_MASKED);
	spin_unlock(&ioapic_lock);
	lines = n;
	boot_apic = lapic_id();
	kprintf("ioapic: %d lines at %#lx, vectors %#x..%#x\n", n, ioapic_pa, VEC_IRQ_BASE, VEC_IRQ_BASE + n - 1);
}

int arch_irq_lines(void) { return lines; }

// The boot CPU takes every device interrupt: physical destination, fixed delivery.
void arch_irq_route(unsigned line, unsigned flags)
{
	uint32_t lo = RED_MASKED | (VEC_IRQ_BASE + line) | (flags & IRQ_LEVEL ? RED_LEVEL : 0) |
		      (flags & IRQ_LOW ? RED_LOW : 0);
	spin_lock(&ioapic_lock);
	io_wr(REG_RED(line) + 1, boot_apic << 24);
	io_wr(REG_RED(line), lo);
	spin_unlock(&ioapic_lock);
}

static void set_mask(unsigned line, bool masked)
{
	spin_lock(&ioapic_lock);
	uint32_t lo = io_rd(REG_RED(line));
	io_wr(REG_RED(line), masked ? lo | RED_MASKED : lo & ~RED_MASKED);
	spin_unlock(&ioapic_lock);
}

void arch_irq_mask(unsigned line) { set_mask(line, true); }
void arch_irq_unmask(unsigned line) { set_mask(line, false); }

// From trap_dispatch: mask first (a level-triggered line stays asserted until the
// driver makes its device let go), then EOI, then the kernel's handler.
void trap_device_irq(unsigned line)
{
	arch_irq_mask(line);
	lapic_eoi();
	kern_irq(line);
}
