// arch.h: what kern/ needs from the CPU, beyond page tables (arch/mmu.h, arch/paging.h),
// user-memory access (arch/uaccess.h) and trap frames (arch/frame.h). This is the whole
// seam: kern/ includes only these <arch/...> headers; the x86 details (MSRs, the APIC,
// descriptor tables, port I/O) stay private to arch/x86_64/. A port provides the same
// names.
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>

struct cpu;

// --- Boot, in the order kmain calls them.
void arch_early_init(void);   // this CPU's descriptor tables and per-CPU pointer: exceptions work after it
void arch_console_init(void); // the serial console
void arch_timer_init(void);   // calibrate and start this (the boot) CPU's timer; TIMER_HZ ticks/s
void arch_start_aps(void);    // find the other CPUs in the firmware tables and start them
#define TIMER_HZ 100

// --- Console output (polled; console.c serialises writers).
void arch_console_write(const char *s, size_t n);

// --- Stopping. QEMU's isa-debug-exit turns code v into exit status (v << 1) | 1.
#define EXIT_SUCCESS_CODE 0x10 // status 33
#define EXIT_FAILURE_CODE 0x11 // status 35
__attribute__((noreturn)) void arch_exit(int code);
__attribute__((noreturn)) void arch_halt_forever(void);

// --- The running CPU.
static inline struct cpu *arch_this_cpu(void)
{
	struct cpu *c;
	__asm__ volatile("mov %%gs:0, %0" : "=r"(c)); // struct cpu starts with a pointer to itself
	return c;
}
// Wakes CPU hw_id (its firmware id, struct cpu.apic_id) to poll its cross-call inbox.
void arch_send_xcall(uint32_t hw_id);

// --- Interrupts.
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
// Takes pending interrupts, if any, then turns them off again: sti holds them off for
// one more instruction (SDM vol. 2, STI), so the nop is where they come in.
static inline void arch_irq_window(void) { __asm__ volatile("sti; nop; cli" ::: "memory"); }
static inline bool irq_enabled(void)
{
	uint64_t f;
	__asm__ volatile("pushfq; popq %0" : "=r"(f));
	return f & (1 << 9);
}
// With interrupts off: enable them and wait for one, with no window in between, so a
// wake-up that arrives after the caller's last check still ends the wait.
static inline void arch_wait_for_interrupt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

// Spin-wait hint. `pause` is right on hardware and under KVM, but QEMU's TCG turns it
// into an exit to its main loop that takes the global lock, which made a cross-call
// round trip 15-40x slower (docs/foundation.md); cpu_init_relax() decides at boot.
extern bool relax_with_pause;
static inline void cpu_relax(void)
{
	if (relax_with_pause)
		__asm__ volatile("pause" ::: "memory");
	else
		__asm__ volatile("" ::: "memory");
}

// --- Time.
static inline uint64_t arch_cycles(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}
uint64_t arch_tsc_hz(void);
static inline uint64_t tsc_to_ns(uint64_t ticks, uint64_t hz)
{
	return ticks / hz * 1000000000u + ticks % hz * 1000000000u / hz; // no overflow for hz < 18 GHz
}
static inline uint64_t arch_now_ns(void) { return tsc_to_ns(arch_cycles(), arch_tsc_hz()); }

// --- Devices (arch/x86_64/dev.c), for device objects (kern/device.c). The kernel
// checks rights and ranges; these only reach the hardware.
// Whether any port of [first, first + count) is one the kernel drives itself (the
// console, timers, interrupt controllers, PCI configuration, QEMU's exit port).
bool arch_ports_kernel(uint64_t first, uint64_t count);
uint32_t arch_port_in(uint16_t port, int width);           // width 1, 2 or 4
void arch_port_out(uint16_t port, int width, uint32_t v);
// Whether [pa, pa + len) touches device pages the kernel keeps (the APICs).
bool arch_mmio_kernel(uint64_t pa, uint64_t len);
// PCI configuration space of function bdf (bus << 8 | dev << 3 | fn), segment 0,
// off < 256 aligned to width. Serialised inside: callable from any CPU.
uint32_t arch_pci_read(uint32_t bdf, uint32_t off, int width);
void arch_pci_write(uint32_t bdf, uint32_t off, int width, uint32_t v);
// Interrupt lines (GSIs of the I/O APIC): how many there are (0: no controller), and
// routing one to the boot CPU, masked, as IRQ_LEVEL / IRQ_LOW (abi.h) say. Every
// interrupt on a line is delivered to kern_irq(line) with the line already masked.
int arch_irq_lines(void);
void arch_irq_route(unsigned line, unsigned flags);
void arch_irq_mask(unsigned line);
void arch_irq_unmask(unsigned line);
void kern_irq(unsigned line); // kern/device.c: runs with interrupts off

// --- Debugging.
static inline uintptr_t arch_frame_pointer(void) { return (uintptr_t)__builtin_frame_address(0); }
void arch_backtrace_from(uintptr_t frame_pointer);
const char *ksym_lookup(uintptr_t addr, uintptr_t *offset); // NULL if unknown

#endif
