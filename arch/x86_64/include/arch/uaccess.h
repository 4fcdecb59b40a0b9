// uaccess.h: reaching the current user space's memory from the kernel. Every access
// is fault-safe: a bad address gives E_FAULT, never a kernel crash (uentry.c).
#ifndef ARCH_UACCESS_H
#define ARCH_UACCESS_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

// Copies between the kernel and [uaddr, uaddr + n) of the current user space:
// E_FAULT if the range leaves the user half or touches an unmapped/forbidden page.
int copy_from_user(void *dst, uintptr_t usrc, size_t n);
int copy_to_user(uintptr_t udst, const void *src, size_t n);
bool user_range_ok(uintptr_t va, size_t n);
bool uentry_smap(void);      // SMAP is on (tests check that it is)
bool uentry_umip(void);      // UMIP is on: sgdt & co. fault in user mode

#endif
