// pagoda.h: libpagoda's one public header for user programs. Owns the typed wrappers
// for every call in include/pagoda/syscalls.def, error names (pg_strerror), and a small
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

// pg_NAME for every line SYSCALL(nr, NAME, name, return, what, (type, param)...) of
// include/pagoda/syscalls.def, e.g. int pg_map(handle_t space, uintptr_t va,
// handle_t mem, size_t off, size_t len, unsigned prot); the table is in docs/abi.md.
#define PG_UPROTO(i, p) PG_UPROTO_ p
#define PG_UPROTO_(t, n) PG_UTYPE_##t n
#define SYSCALL(nr, NAME, name, ret, what, ...) ret pg_##name(PG_LIST(PG_UPROTO, void, __VA_ARGS__));
#include "include/pagoda/syscalls.def"
#undef SYSCALL
#undef PG_UPROTO
#undef PG_UPROTO_

// pg_vcpu_stop that cannot return: ends the calling thread; the space's last thread
// ends the test with this status (if the kernel ever returned, the program traps with
// ud2).
void pg_exit(int status) __attribute__((noreturn));
int pg_yield(void); // pg_vcpu_yield
// pg_mem_size: size in bytes, or an E_* code.
// pg_handle_transfer: moves h into `space` and returns its index there; h is closed.
// pg_notify_wait: bits, E_TIMEOUT, or an error.

// vcpus and upcalls (abi.h): pg_vcpu_create's entry(struct pg_upcall *) runs for every
// event of the vcpu, on its upcall stack (upcall_stack is its top; PG_UPCALL_STACK_SIZE
// bytes below it must be mapped), on `cpu` (-1: any).
// Resumes c (every register) without a system call. Never returns.
__attribute__((noreturn)) void pg_context_resume(const struct pg_context *c);
// Saves the caller in save (resuming save returns from this call) and resumes next.
void pg_context_switch(struct pg_context *save, const struct pg_context *next);
// The upcall handler of the program's first vcpu after START (crt0.S); libpagoda's
// default resumes every context and reports faults. Programs may define their own.
__attribute__((noreturn)) void pg_upcall(struct pg_upcall *u);

// --- Starting programs (spawn.c) ------------------------------------------------------

// What pg_spawn does besides loading the image. argv (NULL-terminated; NULL: none):
// the child's main gets arg = PG_ARGS_VA, where a read-only page holds a struct pg_args
// (read it with pg_args); without argv, main gets arg as is.
struct pg_spawn_opts {
	const char *const *argv;
	uint64_t arg;     // main's argument when argv is NULL
	int cpu;          // the first vcpu's CPU, -1: any
	// Carved out of the caller's (docs/isolation.md): the child's quota in bytes and its
	// shootdown budget in IPIs per tick. 0: half of what the caller has left (a caller
	// with an unlimited budget gives PG_SPAWN_BUDGET_UNLIMITED).
	uint64_t quota;
	uint64_t budget;
};
#define PG_SPAWN_BUDGET_UNLIMITED (1UL << 30) // more IPIs a tick than any machine sends
// The argument page: argc, then argv[0, argc) and a NULL, then the strings.
#define PG_ARGS_VA   0x7fffd0000000UL
#define PG_ARGS_SIZE 4096
struct pg_args {
	uint64_t argc;
	const char *argv[]; // argv[argc] is NULL
};
// Loads the static ELF image img[0, len) into a new space (a child of the caller's),
// maps a stack (the layout of abi.h's PG_STACK_TOP) and starts its first vcpu: the
// child's space handle (R_ALL), or an E_* code with *why (may be NULL) set to what
// failed: the ELF checks of lib/elf.h, word for word ("E_RANGE" for arguments that do
// not fit PG_ARGS_SIZE). On error nothing is left: no space, no handle, no mapping.
// Uses the caller's VA [PG_SPAWN_SCRATCH, +1 GiB) while it copies segments (one caller
// at a time: not thread-safe); the frames are charged to the caller's quota.
#define PG_SPAWN_SCRATCH 0x7f0000000000UL
handle_t pg_spawn(const void *img, size_t len, const struct pg_spawn_opts *o, const char **why);
// How a child ended (pg_wait).
struct pg_exit {
	int status;       // the first non-zero status a vcpu stopped with (-1: a fault), else 0
	uint32_t faults;  // vcpus stopped by a fault no upcall took
};
// Waits (blocked in notify_wait, woken by the kernel through space_watch) until every
// vcpu of the space has stopped: E_OK and *out, or the error of the call that failed.
// The space stays: delete it (pg_space_delete) to free it. One caller at a time (it
// keeps one notify for all its waits).
int pg_wait(handle_t space, struct pg_exit *out);
// argc and *argv from main's arg when it is PG_ARGS_VA (started by pg_spawn with argv),
// else 0 and *argv NULL.
int pg_args(uint64_t arg, const char *const **argv);

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
