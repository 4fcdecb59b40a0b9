// pagoda.h: libpagoda's one public header for user programs. Owns the typed wrappers
// for every SYS_* call in include/pagoda/abi.h, error names (pg_strerror), and a small
// libc subset (mem*/str*, pg_printf/pg_snprintf). Calls return >= 0 on success (a value,
// a handle or E_OK) and a negative E_* code (include/pagoda/errors.h) on failure.
#ifndef PAGODA_USER_PAGODA_H
#define PAGODA_USER_PAGODA_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"

// --- System calls (sys.c): one wrapper per SYS_* -----------------------------------

int pg_debug_write(const char *s, size_t len);
// Ends the calling thread; the space's last thread ends the test with this status.
// Never returns (if the kernel ever returned, the program traps with ud2).
void pg_exit(int status) __attribute__((noreturn));
int pg_yield(void);
int pg_cpu_id(void);
uint64_t pg_clock_ns(void);

handle_t pg_space_create(void);
int pg_space_delete(handle_t space);
int pg_space_stats(handle_t space, struct space_stats *out);

handle_t pg_mem_create(size_t size);
long pg_mem_size(handle_t mem); // size in bytes, or an E_* code

int pg_map(handle_t space, uintptr_t va, handle_t mem, size_t off, size_t len, unsigned prot);
int pg_unmap(handle_t space, uintptr_t va, size_t len, unsigned flags);
int pg_protect(handle_t space, uintptr_t va, size_t len, unsigned prot);

handle_t pg_handle_dup(handle_t h, unsigned rights);
int pg_handle_close(handle_t h);
// Moves h into `space` and returns its index there; h is closed in the caller.
handle_t pg_handle_transfer(handle_t h, handle_t space);

// vcpus and upcalls (abi.h): entry(struct pg_upcall *) runs for every event of the
// vcpu, on its upcall stack (upcall_stack is its top; PG_UPCALL_STACK_SIZE bytes
// below it must be mapped), on `cpu` (-1: any).
int pg_vcpu_create(handle_t space, uintptr_t entry, uintptr_t upcall_stack, uint64_t arg, int cpu);
int pg_vcpu_timer(uint64_t ns);          // a TIMER upcall after ns (0 cancels)
handle_t pg_notify_create(void);
int pg_notify_signal(handle_t n, uint64_t bits);
long pg_notify_wait(handle_t n);         // bits, E_TIMEOUT, or an error
// Resumes c (every register) without a system call. Never returns.
__attribute__((noreturn)) void pg_context_resume(const struct pg_context *c);
// Saves the caller in save (resuming save returns from this call) and resumes next.
void pg_context_switch(struct pg_context *save, const struct pg_context *next);
// The upcall handler of the program's first vcpu after START (crt0.S); libpagoda's
// default resumes every context and reports faults. Programs may define their own.
__attribute__((noreturn)) void pg_upcall(struct pg_upcall *u);
int pg_cpu_count(void);          // CPUs online
long pg_cpu_tlb_ipis(int cpu);   // shootdown requests that CPU has run, for tests
int pg_set_budget(handle_t space, uint64_t ipis_per_tick);

// --- Errors (strerror.c) -------------------------------------------------------------

// "E_NAME: short meaning" for every code in errors.h, "unknown error" otherwise.
const char *pg_strerror(int err);

// --- libc subset (lib/string.c, printf.c) ----------------------------------------------

// mem*/str* with the standard names and semantics, shared with the kernel.
#include "lib/string.h"

// printf formatting (lib/fmt.c, shared with the kernel): %d %i %u %x %X %o %c %s %p %%,
// length modifiers hh h l ll z, flags - 0 + space #, width and precision (digits or *).
// pg_snprintf always NUL-terminates when n > 0 and returns the untruncated length.
int pg_snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int pg_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
// Writes to the debug console; returns the number of characters produced. Output is
// gathered in a buffer on the caller's stack (PG_PRINTF_BUF bytes) and sent with one
// pg_debug_write per call, so lines from different CPUs do not interleave. Longer output
// is flushed when the buffer fills, cut after its last newline where there is one.
#define PG_PRINTF_BUF 256
int pg_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int pg_vprintf(const char *fmt, va_list ap);

#endif
