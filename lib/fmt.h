// fmt.h: printf-style formatting for the kernel, with no allocation and no libc.
// Output goes to a caller-supplied character sink, or into a bounded buffer.
#ifndef PAGODA_LIB_FMT_H
#define PAGODA_LIB_FMT_H

#include <stdarg.h>
#include <stddef.h>

// Receives each produced character in order; ctx is passed through untouched.
typedef void (*fmt_put_fn)(void *ctx, char c);

// Formats into a character sink; returns the number of characters produced.
// Supports %d %i %u %x %X %o %c %s %p %%, modifiers hh h l ll z,
// flags - 0 + space #, and width/precision as digits or '*'.
// Built with FMT_FLOAT (user space, host tests), also %f %F %e %E %g %G of a double,
// digit for digit as glibc prints them (exactly rounded, half to even); the kernel,
// built without SSE, has no floating point, and prints those literally. No %a, no L.
// Unknown conversions are copied to the output literally.
int fmt_vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap);

// snprintf semantics: always NUL-terminates when n > 0, returns the length
// the full output would have had (so a result >= n means it was truncated).
int fmt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int fmt_snprintf(char *buf, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
