// syscalls.h: the SYS_* numbers, made from the list in syscalls.def, and the few
// preprocessor helpers every user of that list needs (the kernel's table in
// kern/syscall.c, libpagoda's wrappers in user/lib/sys.c). Included by abi.h.
#ifndef PAGODA_SYSCALLS_H
#define PAGODA_SYSCALLS_H

#define PG_CAT(a, b) PG_CAT_(a, b)
#define PG_CAT_(a, b) a##b

// PG_NARGS(...): how many arguments, 0 to 6.
#define PG_NARGS(...) PG_NARGS_(~ __VA_OPT__(,) __VA_ARGS__, 6, 5, 4, 3, 2, 1, 0)
#define PG_NARGS_(z, a, b, c, d, e, g, n, ...) n

// PG_LIST(m, empty, p...): m(0, p0), m(1, p1), ... separated by commas; `empty` if
// there is no p. Each p is a parameter of syscalls.def, (type, name).
#define PG_LIST(m, empty, ...) PG_CAT(PG_LIST, PG_NARGS(__VA_ARGS__))(m, empty __VA_OPT__(,) __VA_ARGS__)
#define PG_LIST0(m, e) e
#define PG_LIST1(m, e, a) m(0, a)
#define PG_LIST2(m, e, a, b) m(0, a), m(1, b)
#define PG_LIST3(m, e, a, b, c) m(0, a), m(1, b), m(2, c)
#define PG_LIST4(m, e, a, b, c, d) m(0, a), m(1, b), m(2, c), m(3, d)
#define PG_LIST5(m, e, a, b, c, d, g) m(0, a), m(1, b), m(2, c), m(3, d), m(4, g)
#define PG_LIST6(m, e, a, b, c, d, g, h) m(0, a), m(1, b), m(2, c), m(3, d), m(4, g), m(5, h)
#define PG_PTYPE(t, n) t
#define PG_PNAME(t, n) n

// Each parameter type's C type in user space (the kernel's: kern/sysarg.h).
#define PG_UTYPE_handle handle_t
#define PG_UTYPE_uaddr  uintptr_t
#define PG_UTYPE_ustr   const char *
#define PG_UTYPE_ustats struct space_stats *
#define PG_UTYPE_umapops const struct pg_mapop *
#define PG_UTYPE_uout   uint64_t *
#define PG_UTYPE_size   size_t
#define PG_UTYPE_u64    uint64_t
#define PG_UTYPE_flags  unsigned
#define PG_UTYPE_cpu    int
#define PG_UTYPE_int    int

enum {
#define SYSCALL(nr, NAME, name, ret, what, ...) SYS_##NAME = nr,
#include "include/pagoda/syscalls.def"
#undef SYSCALL
	// The number of calls; numbers are 0 .. SYS_COUNT - 1 (kern/syscall.c checks).
	SYS_COUNT = 0
#define SYSCALL(...) + 1
#include "include/pagoda/syscalls.def"
#undef SYSCALL
};

#endif
