// string.c: the kernel's memory and string routines, with standard semantics.
// Kept simple: byte loops, plus rep movsb/stosb on x86-64, which modern CPUs
// run fast and which gcc cannot turn back into a call to ourselves.
#include "lib/string.h"

#include <stdint.h>

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
#ifdef __x86_64__
	void *d = dst;
	__asm__ volatile("rep movsb"
			 : "+D"(d), "+S"(src), "+c"(n)
			 :
			 : "memory");
#else
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
#endif
	return dst;
}

// Eight bytes at a time, then the rest: the kernel moves record arrays of hundreds of
// KiB with it (vmmap), under a lock. Safe for overlap in 8-byte steps too: going up
// when dst is below src, every word is read before any write can reach it, and the
// same going down.
void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	uint64_t w;

	// Comparing via uintptr_t because relational operators on unrelated pointers are
	// undefined.
	if ((uintptr_t)d <= (uintptr_t)s) {
		for (; n >= 8; n -= 8, d += 8, s += 8) {
			__builtin_memcpy(&w, s, 8);
			__builtin_memcpy(d, &w, 8);
		}
		while (n--)
			*d++ = *s++;
	} else {
		for (; n >= 8; n -= 8) {
			__builtin_memcpy(&w, s + n - 8, 8);
			__builtin_memcpy(d + n - 8, &w, 8);
		}
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
#ifdef __x86_64__
	// Words first: TCG runs a rep-prefixed store one iteration at a time, so a page
	// (a fresh page table, a fresh frame) costs 512 stores instead of 4096.
	void *d = dst;
	size_t words = n / 8, bytes = n % 8;
	uint64_t pattern = (uint64_t)(unsigned char)c * 0x0101010101010101ull;
	__asm__ volatile("rep stosq"
			 : "+D"(d), "+c"(words)
			 : "a"(pattern)
			 : "memory");
	__asm__ volatile("rep stosb"
			 : "+D"(d), "+c"(bytes)
			 : "a"(c)
			 : "memory");
#else
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
#endif
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *p = a, *q = b;

	for (; n; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}

size_t strnlen(const char *s, size_t max)
{
	size_t n = 0;

	while (n < max && s[n])
		n++;
	return n;
}

int strcmp(const char *a, const char *b)
{
	return strncmp(a, b, SIZE_MAX);
}

int strncmp(const char *a, const char *b, size_t n)
{
	// Compare as unsigned char, as the standard requires.
	const unsigned char *p = (const unsigned char *)a;
	const unsigned char *q = (const unsigned char *)b;

	for (; n; n--, p++, q++)
		if (*p != *q || !*p)
			return *p - *q;
	return 0;
}

size_t strlcpy(char *restrict dst, const char *restrict src, size_t size)
{
	size_t len = strlen(src);

	if (size) {
		size_t copy = len < size ? len : size - 1;
		memcpy(dst, src, copy);
		dst[copy] = '\0';
	}
	return len;
}
