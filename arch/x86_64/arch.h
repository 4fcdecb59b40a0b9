// arch.h: what kern/ needs from the architecture beyond its own headers.
#ifndef ARCH_ARCH_H
#define ARCH_ARCH_H
#include <stdint.h>

// QEMU's isa-debug-exit turns value v into exit status (v << 1) | 1.
#define EXIT_SUCCESS_CODE 0x10 // status 33
#define EXIT_FAILURE_CODE 0x11 // status 35
__attribute__((noreturn)) void arch_exit(int code);
__attribute__((noreturn)) void arch_halt_forever(void);
const char *ksym_lookup(uintptr_t addr, uintptr_t *offset); // NULL if unknown
uint64_t arch_tsc_hz(void);
static inline uint64_t tsc_to_ns(uint64_t ticks, uint64_t hz)
{
	return ticks / hz * 1000000000u + ticks % hz * 1000000000u / hz; // no overflow for hz < 18 GHz
}

#endif
