// string.c: libpagoda's memory and string routines, with the standard semantics
// (gcc may emit calls to memcpy/memset/memmove/memcmp itself). The copies and fills use
// rep movsb/stosb, which gcc cannot turn back into a call to themselves.
#include "pagoda.h"

// Copies upwards with rep movsb, which is defined as a byte-by-byte loop, so it is
// also right for overlapping ranges with dst below src.
static void copy_up(void *dst, const void *src, size_t n)
{
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
	copy_up(dst, src, n);
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	void *d = dst;

	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

// Copies downwards when dst overlaps the end of src, so no source byte is overwritten
// before it is read. Compared as integers: relational operators on unrelated pointers
// are undefined.
void *memmove(void *dst, const void *src, size_t n)
{
	if ((uintptr_t)dst - (uintptr_t)src >= n) { // dst below src, or no overlap
		copy_up(dst, src, n);
		return dst;
	}
	// rep movsb with DF=1 copies from the last byte down; the ABI wants DF=0 after.
	unsigned char *d = (unsigned char *)dst + n - 1;
	const unsigned char *s = (const unsigned char *)src + n - 1;
	__asm__ volatile("std\n\trep movsb\n\tcld" : "+D"(d), "+S"(s), "+c"(n) : : "memory");
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
