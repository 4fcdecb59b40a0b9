// console.h: kernel log on the serial port; whole lines, prefixed with the CPU number.
#ifndef KERN_CONSOLE_H
#define KERN_CONSOLE_H
#include <stdarg.h>

void console_init(void);
__attribute__((format(printf, 1, 2))) void kprintf(const char *fmt, ...);
void kvprintf(const char *fmt, va_list ap);
// For the crash path: no lock (the holder may be the crashed CPU), no prefix.
__attribute__((format(printf, 1, 2))) void kprintf_unlocked(const char *fmt, ...);

#endif
