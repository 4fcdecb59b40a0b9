// trap.c: dispatch of exceptions and interrupts. A CPU exception in the kernel is
// always a kernel bug: it prints the registers and a backtrace, then stops QEMU with
// a failure status (user-mode faults will be routed to upcalls, not here).
#include <stddef.h>
#include "trap.h"
#include <arch/arch.h>
#include "apic.h"
#include "x86.h"
#include "kern/percpu.h"
#include "kern/console.h"
#include "kern/xcall.h"
#include "kern/timer.h"
#include "kern/sched.h"
#include "kern/vcpu.h"
#include "uentry.h"

static const char *const exc_names[32] = {
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound", "#UD invalid opcode", "#NM no FPU", "#DF double fault",
	"coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
	"#SS stack fault", "#GP general protection", "#PF page fault", "reserved",
	"#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
	"#VE virtualization", "#CP control protection",
};

struct ksym {
	uint64_t addr;
	const char *name;
};
extern const struct ksym ksyms_table[];
extern const unsigned ksyms_count;

// ksyms_table is sorted by address (tools/ksyms.sh); find the last symbol <= addr.
const char *ksym_lookup(uintptr_t addr, uintptr_t *offset)
{
	unsigned lo = 0, hi = ksyms_count;
	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (ksyms_table[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	*offset = addr - ksyms_table[lo - 1].addr;
	return ksyms_table[lo - 1].name;
}

static void print_addr(uintptr_t a)
{
	uintptr_t off;
	const char *name = ksym_lookup(a, &off);
	if (name)
		kprintf_unlocked("  %p %s+%#lx\n", (void *)a, name, off);
	else
		kprintf_unlocked("  %p ?\n", (void *)a);
}

// Walks saved-rbp links (the kernel keeps frame pointers). Stops at a null or
// misaligned link, one outside the kernel half, or one that does not go up the stack.
void arch_backtrace_from(uintptr_t rbp)
{
	kprintf_unlocked("backtrace:\n");
	for (int depth = 0; depth < 32; depth++) {
		if (rbp == 0 || (rbp & 7) || rbp < 0xffff800000000000UL)
			break;
		uintptr_t *frame = (uintptr_t *)rbp;
		if (frame[1] == 0)
			break;
		print_addr(frame[1]);
		if (frame[0] <= rbp)
			break;
		rbp = frame[0];
	}
}

void trap_dump(const struct trap_frame *f)
{
	kprintf_unlocked("rip %016lx cs %04lx rflags %016lx err %#lx\n", f->rip, f->cs, f->rflags, f->error);
	kprintf_unlocked("rsp %016lx ss %04lx cr2 %016lx cr3 %016lx\n", f->rsp, f->ss, read_cr2(), read_cr3());
	kprintf_unlocked("rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	kprintf_unlocked("rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	kprintf_unlocked("r9  %016lx r10 %016lx r11 %016lx r12 %016lx\n", f->r9, f->r10, f->r11, f->r12);
	kprintf_unlocked("r13 %016lx r14 %016lx r15 %016lx\n", f->r13, f->r14, f->r15);
	kprintf_unlocked("at:\n");
	print_addr(f->rip);
	arch_backtrace_from(f->rbp);
}

static _Atomic int in_fatal;

__attribute__((noreturn)) static void kernel_exception(struct trap_frame *f)
{
	int expected = 0, me = (int)cpu_id() + 1;
	if (!atomic_compare_exchange_strong(&in_fatal, &expected, me)) {
		if (expected != me) // another CPU is reporting and will stop QEMU
			arch_halt_forever();
		kprintf_unlocked("\nnested exception %lu while reporting a fault\n", f->vector);
		arch_exit(EXIT_FAILURE_CODE);
	}
	const char *name = f->vector < 32 && exc_names[f->vector] ? exc_names[f->vector] : "?";
	kprintf_unlocked("\nKERNEL EXCEPTION %lu (%s) on cpu%u\n", f->vector, name, cpu_id());
	trap_dump(f);
	arch_exit(EXIT_FAILURE_CODE);
}

void trap_dispatch(struct trap_frame *f)
{
	switch (f->vector) {
	case VEC_TIMER:
		timer_tick();
		sched_tick();
		lapic_eoi();
		break;
	case VEC_XCALL:
		atomic_fetch_add_explicit(&this_cpu()->ipis_received, 1, memory_order_relaxed);
		lapic_eoi(); // before running: a request queued meanwhile raises a new IPI
		xcall_poll();
		break;
	case VEC_SPURIOUS:
		return; // no EOI for spurious interrupts
	case VEC_IRQ_BASE ... VEC_IRQ_BASE + IRQ_LINES_MAX - 1:
		trap_device_irq((unsigned)(f->vector - VEC_IRQ_BASE));
		break;
	default:
		if (uentry_from_user(f)) {
			vcpu_user_fault(f); // the program's problem, never the kernel's
			break;
		}
		if (f->vector == VEC_PF && uentry_fixup(f))
			return; // a user copy hit a bad address: it returns E_FAULT
		if (f->vector == VEC_NM && fpu_nm_fixup())
			return;
		kernel_exception(f);
	}
	if (uentry_from_user(f))
		sched_user_return(f);
}

void arch_exit(int code)
{
	irq_disable();
	outl(0xf4, (uint32_t)code);
	// Not under QEMU (or no isa-debug-exit): stop here.
	arch_halt_forever();
}

void arch_halt_forever(void)
{
	for (;;) {
		irq_disable();
		halt();
	}
}
