// sys.c: libpagoda's typed system-call wrappers, one per line of
// include/pagoda/syscalls.def, made from it: pg_NAME(params) passes each argument in
// its register (widened to long: handles and ints sign-extended, unsigned zero-extended)
// and narrows the result to the line's return type. All checking is the kernel's.
#include "pagoda.h"
#include "syscall.h"

#define PG_UPARAM(i, p) PG_UPARAM_ p
#define PG_UPARAM_(t, n) PG_UTYPE_##t n
#define PG_UARG(i, p) (long)(PG_PNAME p)
#define SYSCALL(nr, NAME, name, ret, what, ...)                                            \
	ret pg_##name(PG_LIST(PG_UPARAM, void, __VA_ARGS__))                               \
	{                                                                                  \
		return (ret)PG_CAT(pg_syscall, PG_NARGS(__VA_ARGS__))(                     \
			SYS_##NAME __VA_OPT__(, PG_LIST(PG_UARG, , __VA_ARGS__)));         \
	}
#include "include/pagoda/syscalls.def"
#undef SYSCALL

void pg_exit(int status)
{
	pg_vcpu_stop(status);
	__builtin_trap(); // SYS_VCPU_STOP returned: fault loudly rather than run on
}

int pg_yield(void)
{
	return pg_vcpu_yield();
}
