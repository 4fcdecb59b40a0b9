// apic.c: local APIC access, IPIs, the per-CPU periodic timer, and TSC calibration
// against the PIT (TCG's TSC runs at host speed, so it must be measured, not assumed).
#include "apic.h"
#include <arch/arch.h>
#include "trap.h"
#include "x86.h"
#include "kern/kva.h"
#include "kern/panic.h"
#include "kern/console.h"

#define REG_ID      0x20
#define REG_EOI     0xB0
#define REG_SVR     0xF0
#define REG_ICR_LO  0x300
#define REG_ICR_HI  0x310
#define REG_LVT_TMR 0x320
#define REG_TMR_INIT 0x380
#define REG_TMR_CUR  0x390
#define REG_TMR_DIV  0x3E0

#define APIC_BASE_EN   (1 << 11)
#define APIC_BASE_EXTD (1 << 10)
#define ICR_PENDING    (1 << 12)

static int x2apic;                 // set once by the BSP before APs start
static volatile uint32_t *mmio;    // xAPIC registers
static uint32_t timer_count;       // APIC timer initial count for TIMER_HZ
static uint64_t tsc_hz;

int lapic_is_x2apic(void) { return x2apic; }
uint64_t arch_tsc_hz(void) { return tsc_hz; }

static uint32_t rd(uint32_t reg)
{
	return x2apic ? (uint32_t)rdmsr(0x800 + (reg >> 4)) : mmio[reg / 4];
}

static void wr(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(0x800 + (reg >> 4), v);
	else
		mmio[reg / 4] = v;
}

uint32_t lapic_id(void) { return x2apic ? rd(REG_ID) : rd(REG_ID) >> 24; }
void lapic_eoi(void) { wr(REG_EOI, 0); }

// ICR writes: one 64-bit MSR write in x2APIC mode; in xAPIC mode two writes that
// must not be split by an interrupt handler sending its own IPI.
static void send_icr(uint32_t apic_id, uint32_t lo)
{
	if (x2apic) {
		wrmsr(0x830, ((uint64_t)apic_id << 32) | lo);
		return;
	}
	uint64_t f = read_rflags();
	irq_disable();
	while (mmio[REG_ICR_LO / 4] & ICR_PENDING)
		cpu_relax();
	mmio[REG_ICR_HI / 4] = apic_id << 24;
	mmio[REG_ICR_LO / 4] = lo;
	while (mmio[REG_ICR_LO / 4] & ICR_PENDING)
		cpu_relax();
	if (f & (1 << 9))
		irq_enable();
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector) { send_icr(apic_id, vector); }
void lapic_send_init(uint32_t apic_id) { send_icr(apic_id, 0x4500); }
void lapic_send_sipi(uint32_t apic_id, uint8_t page) { send_icr(apic_id, 0x4600 | page); }

static void enable(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;
	if (x2apic)
		base |= APIC_BASE_EXTD;
	wrmsr(MSR_APIC_BASE, base);
	wr(REG_SVR, 0x100 | VEC_SPURIOUS);
}

// PIT channel 2, gate-controlled via port 0x61, as a one-shot of `us` microseconds.
static void pit_oneshot_start(uint32_t us)
{
	uint32_t count = (uint32_t)(1193182ULL * us / 1000000);
	outb(0x61, (inb(0x61) & ~0x02) | 0x01); // gate on, speaker off
	outb(0x43, 0xB0);                        // channel 2, lo/hi, mode 0
	outb(0x42, count & 0xFF);
	outb(0x42, count >> 8);
	uint8_t g = inb(0x61);                   // restart the count: gate low, high
	outb(0x61, g & ~1);
	outb(0x61, g | 1);
}
static int pit_done(void) { return inb(0x61) & 0x20; }

static void calibrate(void)
{
	wr(REG_TMR_DIV, 0x3);          // divide by 16
	wr(REG_LVT_TMR, 1 << 16);      // masked
	wr(REG_TMR_INIT, 0xFFFFFFFF);
	pit_oneshot_start(20000);
	uint64_t t0 = rdtsc();
	// A machine without a working 8254 (some recent ones gate it off) would spin here
	// forever; 2^36 TSC cycles is seconds at any clock, thousands of times 20 ms.
	while (!pit_done()) {
		if (rdtsc() - t0 > (1ull << 36))
			panic("apic: the PIT never counted down 20 ms: no 8254 to calibrate the timer against");
		cpu_relax();
	}
	uint64_t t1 = rdtsc();
	uint32_t apic_ticks = 0xFFFFFFFF - rd(REG_TMR_CUR);
	wr(REG_TMR_INIT, 0);
	tsc_hz = (t1 - t0) * 50;
	timer_count = apic_ticks * 50 / TIMER_HZ;
}

// The BIOS leaves the 8259 PICs delivering the PIT on vector 8 (our #DF). Move them
// off the exception vectors and mask every line: all our interrupts come via the APIC.
static void pic_disable(void)
{
	outb(0x20, 0x11), outb(0xA0, 0x11);   // ICW1: init, expect ICW4
	outb(0x21, 0xE0), outb(0xA1, 0xE8);   // ICW2: vectors 0xE0..0xEF
	outb(0x21, 0x04), outb(0xA1, 0x02);   // ICW3: cascade on line 2
	outb(0x21, 0x01), outb(0xA1, 0x01);   // ICW4: 8086 mode
	outb(0x21, 0xFF), outb(0xA1, 0xFF);   // mask all
}

void lapic_init_bsp(void)
{
	pic_disable();
	uint32_t r[4];
	cpuid(1, 0, r);
	x2apic = (r[2] >> 21) & 1;
	if (!x2apic) {
		uint64_t pa = rdmsr(MSR_APIC_BASE) & ~0xFFFULL;
		mmio = kva_map_mmio(pa, 1);
		if (!mmio)
			panic("cannot map the local APIC");
	}
	enable();
	calibrate();
	kprintf("apic: %s, timer %u ticks per %d Hz period, tsc %lu MHz\n",
		x2apic ? "x2APIC" : "xAPIC", timer_count, TIMER_HZ, tsc_hz / 1000000);
}

void lapic_init_cpu(void)
{
	enable();
	wr(REG_TMR_DIV, 0x3);
	wr(REG_LVT_TMR, (1 << 17) | VEC_TIMER); // periodic
	wr(REG_TMR_INIT, timer_count);
}

void udelay(uint64_t us)
{
	uint64_t end = rdtsc() + tsc_hz / 1000000 * us;
	while (rdtsc() < end)
		cpu_relax();
}

void arch_timer_init(void)
{
	lapic_init_bsp();
	lapic_init_cpu();
	arch_irq_init();
}

void arch_send_xcall(uint32_t hw_id) { lapic_send_ipi(hw_id, VEC_XCALL); }
