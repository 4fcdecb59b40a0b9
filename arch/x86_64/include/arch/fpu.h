// fpu.h: a vcpu's extended register state (x87, SSE, AVX) as an opaque save area.
// kern/ allocates one per vcpu and decides when to save and load; the format (XSAVE's
// standard form, or FXSAVE's on a CPU without XSAVE) and the enabled components are
// the architecture's business. The kernel itself never uses these registers (it is
// built with -mgeneral-regs-only), so whatever they hold belongs to a user vcpu.
#ifndef ARCH_FPU_H
#define ARCH_FPU_H
#include <stddef.h>
#include <stdint.h>

// Per CPU, before any user code runs there: CR0/CR4/XCR0 let user mode use x87, SSE
// and AVX (where offered); the boot CPU's call also sizes the save area.
void arch_fpu_init_cpu(void);
// Bytes of one save area (a multiple of 64); it must be 64-byte aligned.
size_t arch_fpu_size(void);
// What a fresh vcpu starts with: every register zero, x87 control word 0x37F, MXCSR
// 0x1F80 (all exceptions masked, round to nearest).
void arch_fpu_init_state(void *area);
void arch_fpu_save(void *area);       // this CPU's registers -> area
void arch_fpu_load(const void *area); // area -> this CPU's registers
// Where the user-visible control words sit in an area (the upcall frame reports them).
uint32_t arch_fpu_mxcsr(const void *area);
uint16_t arch_fpu_fcw(const void *area);
// make bench (kern/bench.c): TSC ticks of iters save+load pairs, and of iters rounds
// of what lazy switching would add (CR0.TS set, the #NM trap, clts).
uint64_t arch_fpu_bench_save_load(uint64_t iters);
uint64_t arch_fpu_bench_lazy_trap(uint64_t iters);

#endif
