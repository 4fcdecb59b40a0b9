// abi.h: the system-call interface shared by the kernel and libpagoda.
// Calls: `syscall` with the number in rax and arguments in rdi, rsi, rdx, r10, r8, r9;
// the result comes back in rax: >= 0 success (a value or E_OK), < 0 an E_* code
// (errors.h). A failed call changes nothing. The kernel narrows each 64-bit argument to
// its declared type so that no out-of-range value becomes a valid one (syscalls.def).
#ifndef PAGODA_ABI_H
#define PAGODA_ABI_H
#include <stdint.h>

typedef int32_t handle_t; // index into the calling space's handle table

// The calling space's handle to itself is always slot 0.
#define H_SELF 0

// Handle rights.
#define R_READ     (1u << 0)  // read the object's state (stats, size)
#define R_WRITE    (1u << 1)  // change it (map into a space, edit its mappings)
#define R_MAP      (1u << 2)  // mem: may be mapped
#define R_DELETE   (1u << 3)  // space: may be deleted
#define R_DUP      (1u << 4)  // may be duplicated
#define R_TRANSFER (1u << 5)  // may be transferred to another space
#define R_EXEC     (1u << 6)  // space: may run threads in it
#define R_BUDGET   (1u << 7)  // space: may set its shootdown budget (H_SELF lacks it)
#define R_SIGNAL   (1u << 8)  // notify: may signal
#define R_WAIT     (1u << 9)  // notify: may wait
#define R_LEND     (1u << 10) // space: its memory may be lent to the holder (lend)
#define R_DMA      (1u << 11) // the DMA device: may turn mem and lease pages into bus addresses
// The resource handle (OBJ_RESOURCE; only init gets it, include/pagoda/bootinfo.h):
// R_READ reads kernel-wide counters (kernel_stat); R_WRITE creates device objects.
#define R_ALL      0xFFFu

// Device objects (dev_create, docs/devices.md): what the resource handle can make.
// Each is a handle with R_READ | R_WRITE | R_DUP | R_TRANSFER (DEV_DMA: R_DMA too;
// DEV_MMIO returns a mem handle, R_MAP instead of R_DMA) that the root task passes on.
//   DEV_PORTS  a = first port, b = count: port_in / port_out on [a, a + b)
//   DEV_MMIO   a = physical address, b = bytes (page multiples, no RAM, not the
//              kernel's interrupt controllers): a mem of those frames, mapped uncached
//   DEV_IRQ    a = interrupt line (GSI), b = IRQ_* flags: irq_bind / irq_ack
//   DEV_PCI    a = first function (PCI_BDF), b = count: pci_read / pci_write
//   DEV_DMA    a = b = 0: dma_addr
#define DEV_PORTS 1
#define DEV_MMIO  2
#define DEV_IRQ   3
#define DEV_PCI   4
#define DEV_DMA   5
#define IRQ_LEVEL 1u // level-triggered (PCI INTx); else edge
#define IRQ_LOW   2u // active low; else high
#define PCI_BDF(bus, dev, fn) (((uint32_t)(bus) << 8) | ((uint32_t)(dev) << 3) | (uint32_t)(fn))
#define PCI_FUNCS 65536u // functions on segment 0: bus 0-255, device 0-31, function 0-7

// Mapping rights (map/protect).
#define PROT_READ  (1u << 0)
#define PROT_WRITE (1u << 1)
#define PROT_EXEC  (1u << 2)
#define PROT_ALL   0x7u

#define UNMAP_LAZY (1u << 0)

// lend's flags. By default the lender keeps read access and the borrower gets read
// access (a send buffer the borrower checks); LEND_EXCL takes every right from the
// lender and gives the borrower read and write (a receive buffer it fills).
#define LEND_EXCL (1u << 0)
#define LEND_MAX_PAGES 1024u // pages in one lease

// One entry of mapv's vector: the arguments of the single call it stands for. Fields
// an op does not use, and pad, must be 0 (E_INVAL), so they can gain a meaning later.
#define MAPOP_MAP     1u  // map [off, off + len) of mem at va with prot, as map
#define MAPOP_PROTECT 2u  // set prot on [va, va + len), as protect
#define MAPOP_UNMAP   3u  // unmap [va, va + len) (sync), as unmap without flags
#define MAPV_MAX      1024u // entries in one call
struct pg_mapop {
	uint32_t op;      // MAPOP_*
	uint32_t prot;    // MAP, PROTECT: PROT_* bits
	uint64_t va, len; // page-aligned, len > 0
	handle_t mem;     // MAP: the mem handle (R_MAP; R_WRITE if prot has PROT_WRITE)
	uint32_t pad;
	uint64_t off;     // MAP: page-aligned offset into mem
};
_Static_assert(sizeof(struct pg_mapop) == 40, "struct pg_mapop has no hidden padding");

// A notification word has 63 bits: notify_wait returns them in a signed result, so
// bit 63 would read as an error code. notify_signal refuses it (E_INVAL).
#define NOTIFY_BITS (~0ULL >> 1)

// User addresses: the lower canonical half, minus the zero page and the top page. The
// gap at the top keeps every return address canonical: a `syscall` in the last bytes
// of user space returns to USER_TOP, which is still canonical (and unmapped, so the
// fetch faults in user mode) instead of 0x800000000000, which real CPUs refuse to
// return to with a #GP in ring 0 (Linux leaves the same page: 0x7ffffffff000).
#define USER_BASE 0x1000UL
#define USER_TOP  0x7ffffffff000UL

// A program's initial layout, as both loaders make it (the kernel's for init,
// kern/uprog.c; libpagoda's pg_spawn for everything else): its PT_LOAD segments, and
// PG_STACK_PAGES read-write pages below PG_STACK_TOP, the top PG_UPCALL_STACK_SIZE of
// which is the first vcpu's upcall stack and the rest main's stack (crt0.S).
#define PG_STACK_TOP   0x7ffffff00000UL
#define PG_STACK_PAGES 16

// The calls, their numbers (SYS_*, SYS_COUNT), parameters and results: one line each in
// syscalls.def (docs/abi.md has them as a table).
#include "include/pagoda/syscalls.h"
#include "include/pagoda/context.h"

// Upcalls (scheduler activations). Every event a vcpu gets enters its space at the
// vcpu's entry point, on its upcall stack [upcall_stack - PG_UPCALL_STACK_SIZE,
// upcall_stack), with rdi = a struct pg_upcall the kernel wrote at the top of that
// stack and rsp just below it (as after a call). The runtime resumes ctx (or another
// context) itself, without a system call.
// While the vcpu's rsp is inside its upcall stack it is "in an upcall": preemption
// then just resumes it later (no PREEMPTED upcall), a TIMER stays pending until it
// leaves, and a fault cannot be delivered: the vcpu is stopped and the fault counted
// in space_stats.faults. A NOTIFY upcall replaces the return of a blocked
// notify_wait (ctx returns the bits); in an upcall, notify_wait just returns them.
#define PG_UPCALL_STACK_SIZE 16384
enum {
	UPCALL_START = 1,   // first run: ctx is all zeros but for the control words
	UPCALL_PREEMPTED,   // the timer took the CPU; ctx is where the vcpu was
	UPCALL_FAULT,       // fault_addr, fault_code (error code | vector << 32), ctx
	UPCALL_NOTIFY,      // notify_bits woke a blocked notify_wait; ctx returns them
	UPCALL_TIMER,       // the vcpu's timer expired; ctx is where the vcpu was
};

// struct pg_context: include/pagoda/context.h (included above).

// Room for the extended-state image in the upcall frame. The kernel enables x87, SSE
// and AVX where the CPU has them (832 bytes with AVX), never AVX-512 (its 2 KiB more
// would not fit: AVX-512 instructions #UD).
#define PG_XSTATE_MAX 1024

// The frame the kernel writes at the top of the upcall stack (rounded down to 64 bytes
// by vcpu_create): 64-byte aligned, so xstate is too.
struct pg_upcall {
	uint64_t reason;       // UPCALL_*
	uint64_t arg;          // the vcpu's argument (vcpu_create)
	uint64_t cpu;          // CPU the upcall runs on
	uint64_t fault_addr;   // FAULT: the address (cr2 for a page fault, else rip)
	uint64_t fault_code;   // FAULT: error code | vector << 32
	uint64_t notify_bits;  // NOTIFY
	struct pg_context ctx; // ctx.xstate points at xstate below (but for START)
	uint8_t pad[48];
	uint8_t xstate[PG_XSTATE_MAX] __attribute__((aligned(64)));
};
_Static_assert(sizeof(struct pg_upcall) == 1280 && __builtin_offsetof(struct pg_upcall, xstate) == 256,
	       "crt0.S and context.S hard-code the frame's layout");

struct space_stats {
	uint64_t ipis_sent;        // shootdown IPIs this space caused
	uint64_t remote_flushes;   // flush requests run on other CPUs for it
	uint64_t local_flushes;    // flushes on the calling CPU
	uint64_t full_flushes;     // remote or local flushes that dropped the whole TLB
	uint64_t pages_flushed;    // pages invalidated one by one (invlpg)
	uint64_t lazy_pending;     // lazily unmapped ranges not yet reclaimed
	uint64_t lazy_reclaimed;   // lazily unmapped ranges reclaimed
	uint64_t budget_denials;   // calls refused with E_BUDGET
	uint64_t frames_charged;   // frames of mem objects charged to this space
	uint64_t mappings;         // pages currently mapped
	uint64_t vcpus;            // vcpus created in it and not yet gone
	uint64_t faults;           // vcpus stopped by a fault no upcall could take
	uint64_t wake_ipis;        // IPIs it caused to wake a vcpu on another CPU (notify_signal,
	                           // vcpu_create, a deletion waking blocked vcpus); budgeted
	uint64_t kick_ipis;        // IPIs its space_delete calls sent to stop running vcpus; budgeted
	uint64_t ipis_deferred;    // wake-ups and kicks not sent, the budget being spent: the
	                           // CPU concerned acts at its next timer tick instead
	// Quota, in bytes: charged never exceeds quota; it is the sum of frames_charged
	// pages, table_frames pages, kernel_bytes and children_quota.
	uint64_t quota;            // given at space_create (carved out of the creator's)
	uint64_t charged;
	uint64_t table_frames;     // its page tables, the root included
	uint64_t kernel_bytes;     // kernel heap and stacks it costs: itself and its handle
	                           // table, mapping records, vcpus, lazy tags, and the mem and
	                           // notify objects it created
	uint64_t children_quota;   // quota given to its children whose structs still live
	uint64_t budget_per_tick;  // its shootdown budget (0: unlimited), children's shares included
	uint64_t budget_carved;    // the part of it its children hold
	int64_t exit_status;       // the first non-zero status one of its vcpus stopped with
	                           // (vcpu_stop; -1 for a fault), else 0: final once vcpus is 0
};

// kernel_stat's counters: kernel-wide, so only the holder of the resource handle (the
// root task, init) may read them; init's test runner checks them for leaks around
// every test program. Each is read alone (no snapshot across them).
enum {
	KSTAT_HEAP_BYTES = 0, // kernel heap in use
	KSTAT_MEM_FRAMES,     // frames held by all mem objects
	KSTAT_PT_TABLES,      // user page-table frames
	KSTAT_FREE_FRAMES,    // frames free in the allocator
	KSTAT_COUNT
};

#endif
