// selfdelete.c: a space deletes itself while one of its vcpus is blocked in
// notify_wait and another spins: every vcpu must stop (the blocked one is woken), the
// program must end, and the kernel's leak check must find everything returned.
#include "tcommon.h"

static handle_t nt;
static volatile uint64_t blocked, spinning;

static void waiter(uint64_t arg)
{
	(void)arg;
	blocked = 1;
	pg_notify_wait(nt); // never signalled: only the deletion ends it
	pg_printf("selfdelete: the wait returned in a deleted space\n");
	pg_exit(1);
}

static void spinner(uint64_t arg)
{
	(void)arg;
	spinning = 1;
	for (;;)
		__asm__ volatile("" ::: "memory");
}

int main(uint64_t arg)
{
	(void)arg;
	nt = pg_notify_create();
	int ncpu = pg_cpu_count();
	if (nt < 0 || tc_spawn(waiter, 0, ncpu - 1, 0) != E_OK || tc_spawn(spinner, 0, ncpu > 2 ? 2 : 0, 0) != E_OK)
		return 1;
	if (!TC_WAIT(blocked && spinning, 5000))
		return 2;
	utest_plan(1);
	utest_result(1, true, "selfdelete_setup"); // the kernel checks the rest
	pg_space_delete(H_SELF); // this vcpu stops on its way back to user mode
	pg_printf("selfdelete: still running after deleting my space\n");
	return 3;
}
