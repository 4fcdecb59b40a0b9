// fpu.c: extended state switching: x87, SSE and AVX, saved with XSAVE (XSAVEOPT where
// CPUID offers it) in the standard, non-compacted form user code can XRSTOR itself
// (the upcall frame hands it the image: include/pagoda/abi.h), or with FXSAVE on a
// CPU without XSAVE. Enabled components: x87 | SSE | AVX, whatever of them the CPU
// has. Not AVX-512 (opmask and ZMM: 2 KiB more than the frame's PG_XSTATE_MAX) and
// not PKRU (the kernel does not set CR4.PKE, so protection keys #UD in user mode).
#include <arch/fpu.h>
#include "x86.h"
#include "trap.h"
#include "include/pagoda/abi.h"
#include "kern/panic.h"
#include "lib/string.h"
#include <arch/arch.h>

#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_NE (1u << 5)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_OSXSAVE    (1u << 18)
#define XCR0_X87 (1u << 0)
#define XCR0_SSE (1u << 1)
#define XCR0_AVX (1u << 2)

#define FXSAVE_SIZE  512
#define MXCSR_OFF    24   // in the legacy region (SDM vol. 1, table 10-2)
#define MXCSR_INIT   0x1F80u
#define FCW_INIT     0x37Fu

static bool use_xsave, use_xsaveopt;
static uint64_t xcr0;
static size_t area_size = FXSAVE_SIZE;

static void xsetbv(uint32_t reg, uint64_t v)
{
	__asm__ volatile("xsetbv" ::"c"(reg), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

// The boot CPU decides for every CPU (they are the same model): the first call.
static void choose(void)
{
	static bool chosen;
	if (chosen)
		return;
	chosen = true;
	uint32_t r[4];
	cpuid(1, 0, r);
	if (!(r[3] & (1u << 25)) || !(r[3] & (1u << 24)))
		panic("fpu: the CPU has no SSE or FXSAVE (x86-64 requires both)");
	use_xsave = r[2] & (1u << 26);
	if (!use_xsave)
		return;
	cpuid(0xD, 0, r);
	xcr0 = r[0] & (XCR0_X87 | XCR0_SSE | XCR0_AVX);
	cpuid(0xD, 1, r);
	use_xsaveopt = r[0] & 1;
}

void arch_fpu_init_cpu(void)
{
	choose();
	write_cr0((read_cr0() | CR0_MP | CR0_NE) & ~(uint64_t)(CR0_EM | CR0_TS));
	uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (use_xsave)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);
	if (use_xsave) {
		xsetbv(0, xcr0);
		uint32_t r[4];
		cpuid(0xD, 0, r); // EBX: the area's size for the XCR0 just set
		area_size = (r[1] + 63) & ~(size_t)63;
	}
	if (area_size > PG_XSTATE_MAX)
		panic("fpu: a save area of %zu bytes does not fit the upcall frame", area_size);
	__asm__ volatile("fninit");
}

size_t arch_fpu_size(void) { return area_size; }

void arch_fpu_init_state(void *area)
{
	memset(area, 0, area_size); // XSTATE_BV = 0: XRSTOR puts every component in its init state
	*(uint16_t *)area = FCW_INIT;
	*(uint32_t *)((char *)area + MXCSR_OFF) = MXCSR_INIT;
}

// The 64-bit forms (REX.W) keep the x87 instruction and data pointers 64 bits wide.
void arch_fpu_save(void *area)
{
	uint32_t lo = (uint32_t)xcr0, hi = (uint32_t)(xcr0 >> 32);
	if (use_xsaveopt)
		__asm__ volatile("xsaveopt64 (%0)" ::"r"(area), "a"(lo), "d"(hi) : "memory");
	else if (use_xsave)
		__asm__ volatile("xsave64 (%0)" ::"r"(area), "a"(lo), "d"(hi) : "memory");
	else
		__asm__ volatile("fxsave64 (%0)" ::"r"(area) : "memory");
}

void arch_fpu_load(const void *area)
{
	uint32_t lo = (uint32_t)xcr0, hi = (uint32_t)(xcr0 >> 32);
	if (use_xsave)
		__asm__ volatile("xrstor64 (%0)" ::"r"(area), "a"(lo), "d"(hi) : "memory");
	else
		__asm__ volatile("fxrstor64 (%0)" ::"r"(area) : "memory");
}

uint32_t arch_fpu_mxcsr(const void *area) { return *(const uint32_t *)((const char *)area + MXCSR_OFF); }
uint16_t arch_fpu_fcw(const void *area) { return *(const uint16_t *)area; }

// make bench: what lazy switching (CR0.TS set at a switch, the first use traps with
// #NM, the handler loads the state) would add to a switch whose vcpu uses these
// registers: setting TS, the trap and clts. The save and load are the same either way.
static volatile bool nm_probe;

bool fpu_nm_fixup(void)
{
	if (!nm_probe)
		return false;
	__asm__ volatile("clts");
	return true;
}

uint64_t arch_fpu_bench_lazy_trap(uint64_t iters)
{
	nm_probe = true;
	uint64_t cr0 = read_cr0(), t0 = arch_cycles();
	for (uint64_t i = 0; i < iters; i++) {
		write_cr0(cr0 | CR0_TS);
		__asm__ volatile("fwait" ::: "memory"); // #NM: TS and MP are set
	}
	uint64_t t = arch_cycles() - t0;
	nm_probe = false;
	return t;
}

uint64_t arch_fpu_bench_save_load(uint64_t iters)
{
	static uint8_t area[PG_XSTATE_MAX] __attribute__((aligned(64)));
	arch_fpu_init_state(area);
	arch_fpu_load(area);
	uint64_t t0 = arch_cycles();
	for (uint64_t i = 0; i < iters; i++) {
		__asm__ volatile("pcmpeqd %%xmm0, %%xmm0" ::: "memory"); // dirty: XSAVEOPT must write
		arch_fpu_save(area);
		arch_fpu_load(area);
	}
	uint64_t t = arch_cycles() - t0;
	__asm__ volatile("fninit");
	return t;
}
