// panic.h: stopping the machine on a kernel bug (never on user input).
#ifndef KERN_PANIC_H
#define KERN_PANIC_H

__attribute__((noreturn, format(printf, 1, 2))) void panic(const char *fmt, ...);

// Our own invariants: a failed KASSERT is a kernel bug, never a user error.
#define KASSERT(cond)                                                                  \
	do {                                                                           \
		if (__builtin_expect(!(cond), 0))                                      \
			panic("assertion failed: %s at %s:%d", #cond, __FILE__, __LINE__); \
	} while (0)

#endif
