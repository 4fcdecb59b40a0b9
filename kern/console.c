// console.c: the locked kernel log. Each kprintf() call is formatted into a line
// buffer first and written under the lock, so lines from different CPUs never
// interleave; a line gets a "[cpuN] " prefix when it starts a new line.
#include "kern/console.h"
#include "kern/spinlock.h"
#include "kern/percpu.h"
#include "lib/fmt.h"
#include <arch/arch.h>

static struct spinlock console_lock = SPINLOCK_INIT("console");
static bool at_line_start GUARDED_BY(console_lock) = true;

void console_init(void) { arch_console_init(); }

static void emit_locked(const char *buf, int len) REQUIRES(console_lock)
{
	spin_assert_held(&console_lock);
	for (int i = 0; i < len; i++) {
		if (at_line_start) {
			char pre[16];
			int n = fmt_snprintf(pre, sizeof pre, "[cpu%u] ", cpu_id());
			arch_console_write(pre, (size_t)n);
		}
		arch_console_write(&buf[i], 1);
		at_line_start = buf[i] == '\n';
	}
}

void kvprintf(const char *fmt, va_list ap)
{
	char buf[512];
	int n = fmt_vsnprintf(buf, sizeof buf, fmt, ap);
	if (n >= (int)sizeof buf)
		n = sizeof buf - 1;
	spin_lock(&console_lock);
	emit_locked(buf, n);
	spin_unlock(&console_lock);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

void kprintf_unlocked(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof buf)
		n = sizeof buf - 1;
	arch_console_write(buf, (size_t)n);
}
