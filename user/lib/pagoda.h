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
	// Handles the child gets, as 1 .. ngive of its table (copies: each needs R_DUP and
	// R_TRANSFER; the caller keeps its own), before its first vcpu starts.
	const handle_t *give;
	uint32_t ngive;
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
// The decimal number an argument starts with (0 if it starts with no digit).
uint64_t pg_atou(const char *s);

// --- Virtual addresses (va.c) and malloc (malloc.c) ------------------------------------

// Each address of [PG_VA_BASE, PG_VA_TOP) (111 TiB) is handed out by pg_va_alloc at
// most once in the life of the space, so a freed range can be unmapped lazily (no
// IPI) and nothing new ever lives where a stale TLB entry may still point. Below
// PG_VA_BASE: ELF images and programs' fixed addresses; above PG_VA_TOP: pg_spawn's
// scratch range, the argument page, the boot information, the first stack. In a
// program that calls neither pg_va_* nor malloc the region is free for other use.
// docs/memory.md: the layout, the costs, what happens when the region is spent.
#define PG_VA_BASE 0x100000000000UL
#define PG_VA_TOP  0x7f0000000000UL
// The allocators' spinlock (va.c, malloc.c). A user-level runtime that preempts its
// threads sets hooks around every hold (enter before taking, leave after releasing):
// the runtime (user/rt) turns its preemption off there, so no thread is preempted
// holding the lock while the others spin for their whole time slice.
void pg_spin_lock(volatile uint32_t *l);
void pg_spin_unlock(volatile uint32_t *l);
void pg_set_lock_hooks(void (*enter)(void), void (*leave)(void));
// A fresh range of len bytes (rounded up to pages) starting at a multiple of align (a
// power of two; 0 or less than a page: a page), not backed by memory: its address, or
// E_INVAL (len 0, align not a power of two or above 2^46), E_RANGE (len above the
// whole region), E_NOVA (the region is spent, for good), E_NOMEM (no quota for the
// allocator's table). Thread-safe, as are the calls below.
long pg_va_alloc(size_t len, size_t align);
// Gives back the live range at va (len as allocated, or rounded up to pages) and
// lazily unmaps whatever is mapped in it; its VA is never handed out again.
// E_INVAL: va not page-aligned, len 0 or not the range's length; E_NOENT: no live
// range starts at va (never allocated, freed already, or inside one). On those errors
// nothing changed. After the books, the unmapping: if the kernel refuses it (a dead
// space, a spent budget) the range is given back all the same and that error returned.
int pg_va_free(uintptr_t va, size_t len);
// pg_va_free for a range with nothing mapped in it (never mapped, or unmapped by the
// caller): the same checks, no system call.
int pg_va_free_unmapped(uintptr_t va, size_t len);
// The live range at va's length in bytes, or E_NOENT.
long pg_va_len(uintptr_t va);
// Backs [va, va + len) with fresh zeroed RW memory (a mem object, closed once mapped):
// E_OK or the failing call's error.
int pg_va_map(uintptr_t va, size_t len);
struct pg_va_stats {
	uint64_t live;        // ranges allocated and not freed
	uint64_t allocs, frees, compactions;
	uint64_t bytes;       // memory the bookkeeping holds (its table and state)
	uint64_t spent, left; // bytes of the region handed out (gaps included); unspent
	uint64_t syscalls;    // system calls made by pg_va_* and malloc.c so far
};
void pg_va_get_stats(struct pg_va_stats *out);
uint64_t pg_va_syscalls(void); // the stats' syscalls alone, without the lock
// Test hook: leaves only `left` bytes unspent (it only shrinks): E_OK or E_INVAL.
int pg_va_test_shrink(size_t left);

// malloc, free, calloc, realloc with the standard names and semantics (16-byte
// alignment), on pg_va_alloc: no address is ever returned twice. Objects up to
// PG_MALLOC_SMALL bytes are cut in order from 64 KiB runs of one size class; a run is
// unmapped (one lazy unmap) once all its objects are freed, so freeing a small object
// makes no system call but for the last one of its run. Larger objects get a range of
// their own. Any access after free faults once the run or range is given back.
// free of a pointer malloc did not return, or a double free, traps (as glibc aborts).
#define PG_MALLOC_SMALL 2048
void *malloc(size_t n);
void free(void *p);
void *calloc(size_t count, size_t size);
void *realloc(void *p, size_t n);
// free that reports instead of trapping: E_OK; E_INVAL (not an object's start, or
// not malloc's), E_NOENT (a small object freed already, its run still live), or
// pg_va_free's error for a large one. On error nothing changed.
int pg_malloc_free(void *p);
// The usable size of malloc's object at p (not freed).
size_t pg_malloc_size(const void *p);

// --- Errors (strerror.c) -------------------------------------------------------------

// "E_NAME: short meaning" for every code in errors.h, "unknown error" otherwise.
const char *pg_strerror(int err);

// --- UDP endpoints (udp.c): zero-copy networking through the virtio-net driver ----------

// A program that init starts on the network (docs/net.md) gets its channel to the
// driver as handles 1-3 (PG_NET_H_*): the channel mem, the driver's notify (R_SIGNAL)
// and its own (R_WAIT), and one granted source (MAC, IPv4 address, UDP port).
// Frames are whole Ethernet/IPv4/UDP frames the program writes into its own buffers
// (pg_udp_tx_buf); sending lends the buffer to the driver, which checks it while the
// program cannot write it and gives it back when the device is done (pg_udp_poll
// sees that). Received frames land in the program's own buffers, lent to the driver
// exclusively until filled.
#define PG_NET_H_CHAN 1
#define PG_NET_H_DRV  2
#define PG_NET_H_NOTE 3
#define PG_UDP_TX_SLOTS 32
#define PG_UDP_RX_SLOTS 32
#define PG_UDP_COPY 1u     // send: the frame goes by copy (the buffer is the program's again
                           // on return; a refusal only counts in refused)
#define PG_UDP_PENDING 1   // pg_udp_tx_status: the buffer is with the driver
struct netchan;
struct pg_udp {
	struct netchan *ch;
	handle_t drv, note;
	uint64_t doorbell;
	uint8_t mac[6];
	uint16_t port;
	uint32_t ip, mtu;
	uintptr_t tx_va, rx_va;     // PG_UDP_*_SLOTS buffers of slot bytes each
	uint32_t slot;
	uint32_t tx_free;           // bit i: tx buffer i is the program's
	uint32_t copy_free;         // bit i: the channel's copy slot i is free
	int32_t tx_status[PG_UDP_TX_SLOTS]; // each buffer's last completion (PG_UDP_PENDING while out)
	uint64_t sent, refused, received;
};
// Opens the endpoint for port, which must be the one granted (E_DENIED if not):
// maps the channel and the buffers and posts every receive buffer.
int pg_udp_open(struct pg_udp *u, uint16_t port);
// A free send buffer (slot bytes, page-aligned), or NULL while all are out.
uint8_t *pg_udp_tx_buf(struct pg_udp *u);
// Sends the whole frame the program wrote in buf[0, len) (a buffer of pg_udp_tx_buf).
// E_OK (the driver will report the frame's fate: pg_udp_tx_status), E_INVAL (not a
// buffer of u's, or len 0 or above slot), E_BUSY (the ring is full: poll).
int pg_udp_send_frame(struct pg_udp *u, uint8_t *buf, size_t len, unsigned flags);
// Writes the Ethernet/IPv4/UDP headers (the granted source; the destination MAC from
// the driver's ARP table: E_NOENT if it has none, see pg_udp_resolve) in front of the
// plen bytes the program put at buf + 42, and sends the frame.
int pg_udp_send(struct pg_udp *u, uint8_t *buf, uint32_t dst_ip, uint16_t dst_port, size_t plen, unsigned flags);
// Asks the driver to ARP for ip, waiting up to timeout_ns: E_OK and mac, or E_TIMEOUT.
int pg_udp_resolve(struct pg_udp *u, uint32_t ip, uint8_t mac[6], uint64_t timeout_ns);
// Takes what the driver finished: send buffers come back (their status set), received
// frames queue up for pg_udp_recv. Returns the number of sends completed.
int pg_udp_poll(struct pg_udp *u);
// Blocks until the driver signals (or timeout_ns passes: E_TIMEOUT; 0: no limit),
// then polls.
int pg_udp_wait(struct pg_udp *u, uint64_t timeout_ns);
// E_OK: sent; PG_UDP_PENDING: still with the driver; else why the driver refused it
// (E_DENIED, E_BADFRAME, ...).
int pg_udp_tx_status(const struct pg_udp *u, const uint8_t *buf);
// The next received frame, in place (E_NOENT if none): the program reads it, then
// gives the buffer back with pg_udp_recv_done.
int pg_udp_recv(struct pg_udp *u, const uint8_t **frame, size_t *len);
void pg_udp_recv_done(struct pg_udp *u, const uint8_t *frame);

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
