// sysarg.h: how the kernel turns a raw 64-bit argument register into each parameter
// type of include/pagoda/syscalls.def, before the handler runs (Zircon's
// SafeSyscallArgument<T>::Sanitize). Pure and inline, host-tested (test_sysarg.c).
// The rule: a value the type cannot hold becomes one of the type that the handler's
// existing check rejects with the same error the full 64-bit value got, at the same
// point, so narrowing never turns a bad argument into a good one and never changes
// which check fails first.
#ifndef KERN_SYSARG_H
#define KERN_SYSARG_H
#include <stdint.h>
#include <stddef.h>
#include <limits.h>
#include "include/pagoda/abi.h"

// A user address: a number that is range-checked and copied through (uentry.h),
// never dereferenced by the kernel.
typedef uintptr_t uptr_t;

// Not a CPU: what any cpu argument outside -1 .. MAX_CPUS-1 becomes; every CPU check
// refuses it (vcpu_create's and cpu_tlb_ipis's with E_INVAL).
#define CPU_INVALID INT_MIN

// handle: an index below `slots`, else -1, which the handle table refuses with E_BADH
// (a plain cast could wrap 1<<32 | 3 onto handle 3).
static inline handle_t sysarg_handle(uint64_t v, uint32_t slots)
{
	return v < slots ? (handle_t)v : -1;
}

// flags (prot, rights, unmap flags): the low 32 bits, with bit 31 forced on when any
// higher bit is set. Every flag set is below bit 31 (kern/syscall.c asserts it), so
// the handler's range check refuses the value as it refused the wide one; the low bits
// stay as they were, so a check that looks at one bit first (map: PROT_WRITE needs
// R_WRITE) sees what it saw before.
#define SYSARG_FLAGS_BAD (1u << 31)
static inline unsigned sysarg_flags(uint64_t v)
{
	return (unsigned)v | (v >> 32 ? SYSARG_FLAGS_BAD : 0);
}

// cpu: -1 (any) or 0 .. ncpus-1, as a signed 64-bit value; else CPU_INVALID.
static inline int sysarg_cpu(uint64_t v, int ncpus)
{
	int64_t c = (int64_t)v;
	return c >= -1 && c < ncpus ? (int)c : CPU_INVALID;
}

// int: a sign-extended int (what the wrappers pass); anything else INT_MIN, never 0.
static inline int sysarg_int(uint64_t v)
{
	int64_t i = (int64_t)v;
	return i >= INT_MIN && i <= INT_MAX ? (int)i : INT_MIN;
}

// The 64-bit types pass unchanged: every value is one of the type.
static inline uptr_t sysarg_uaddr(uint64_t v) { return (uptr_t)v; }
static inline size_t sysarg_size(uint64_t v) { return (size_t)v; }
static inline uint64_t sysarg_u64(uint64_t v) { return v; }

// Each syscalls.def type: the handler's C type (SYSARG_T_type) and its sanitiser
// (SYSARG_type, with the kernel's bounds; the includer provides HTABLE_SLOTS, MAX_CPUS).
#define SYSARG_T_handle handle_t
#define SYSARG_T_uaddr  uptr_t
#define SYSARG_T_ustr   uptr_t
#define SYSARG_T_ustats uptr_t
#define SYSARG_T_umapops uptr_t
#define SYSARG_T_uout   uptr_t
#define SYSARG_T_size   size_t
#define SYSARG_T_u64    uint64_t
#define SYSARG_T_flags  unsigned
#define SYSARG_T_cpu    int
#define SYSARG_T_int    int
#define SYSARG_handle(v) sysarg_handle(v, HTABLE_SLOTS)
#define SYSARG_uaddr(v)  sysarg_uaddr(v)
#define SYSARG_ustr(v)   sysarg_uaddr(v)
#define SYSARG_ustats(v) sysarg_uaddr(v)
#define SYSARG_umapops(v) sysarg_uaddr(v)
#define SYSARG_uout(v)   sysarg_uaddr(v)
#define SYSARG_size(v)   sysarg_size(v)
#define SYSARG_u64(v)    sysarg_u64(v)
#define SYSARG_flags(v)  sysarg_flags(v)
#define SYSARG_cpu(v)    sysarg_cpu(v, MAX_CPUS)
#define SYSARG_int(v)    sysarg_int(v)

#endif
