// upcall.c: libpagoda's default upcall handler, used by programs that do not define
// pg_upcall themselves (crt0.S calls it for every upcall but the first). It resumes
// preempted, timer and notify contexts as they were; a fault it cannot handle is
// reported and turned into a stop the kernel counts (a fault inside the upcall).
#include "pagoda.h"

_Static_assert(sizeof(struct pg_upcall) == 1280, "crt0.S hard-codes the upcall frame size");
_Static_assert(UPCALL_START == 1 && PG_UPCALL_STACK_SIZE == 16384, "crt0.S hard-codes these");
_Static_assert(__builtin_offsetof(struct pg_upcall, arg) == 8, "crt0.S reads arg at 8");
_Static_assert(__builtin_offsetof(struct pg_context, rip) == 128 &&
		       __builtin_offsetof(struct pg_context, xstate) == 144 &&
		       __builtin_offsetof(struct pg_context, mxcsr) == 152 &&
		       __builtin_offsetof(struct pg_context, fcw) == 156 &&
		       __builtin_offsetof(struct pg_context, xsize) == 158, "context.S layout");

__attribute__((weak, noreturn)) void pg_upcall(struct pg_upcall *u)
{
	if (u->reason == UPCALL_FAULT) {
		pg_printf("unhandled fault: addr %#lx code %#lx rip %#lx\n", u->fault_addr, u->fault_code,
			  u->ctx.rip);
		__builtin_trap(); // a fault in an upcall: the kernel stops the vcpu and counts it
	}
	pg_context_resume(&u->ctx);
}
