// panic.c: report a kernel bug with a backtrace and stop QEMU with a failure status.
#include <stdarg.h>
#include "kern/panic.h"
#include "kern/console.h"
#include "kern/percpu.h"
#include "lib/fmt.h"
#include <arch/arch.h>

static _Atomic int panicking;

void panic(const char *fmt, ...)
{
	irq_disable();
	if (atomic_exchange(&panicking, 1)) // another CPU is already reporting
		arch_halt_forever();
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	fmt_vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	kprintf_unlocked("\nPANIC on cpu%u: %s\n", this_cpu() ? cpu_id() : 0, buf);
	arch_backtrace_from(arch_frame_pointer());
	arch_exit(EXIT_FAILURE_CODE);
}
