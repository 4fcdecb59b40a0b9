// hello.c: the smallest user program: prints which CPU it runs on and exits 0.
#include "pagoda.h"

int main(uint64_t arg)
{
	(void)arg;
	pg_printf("hello from user space on cpu %d\n", pg_cpu_id());
	return 0;
}
