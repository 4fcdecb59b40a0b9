// faulty.c: a program whose only thread dereferences NULL without a fault entry: the
// kernel must kill the thread, count the fault for whoever runs the space, and clean
// up (tests/kern/test_user.c checks all three).
#include "utest.h"

int main(uint64_t arg)
{
	(void)arg;
	pg_printf("faulty: touching address 0 on purpose\n");
	return (int)*(volatile uint64_t *)0;
}
