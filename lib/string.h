// string.h: the kernel's memory and string routines (included as "lib/string.h").
// gcc may emit calls to memcpy/memset/memmove/memcmp itself, so these carry the
// standard names and semantics; strlcpy follows BSD.
#ifndef PAGODA_LIB_STRING_H
#define PAGODA_LIB_STRING_H

#include <stddef.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);

size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);

// Copies at most size-1 bytes and NUL-terminates when size > 0.
// Returns strlen(src), so a result >= size means src was truncated.
size_t strlcpy(char *restrict dst, const char *restrict src, size_t size);

#endif
