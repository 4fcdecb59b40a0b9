// echo.c: prints its arguments, one line (make run PROG=echo ARGS="a b c").
#include "pagoda.h"

int main(uint64_t arg)
{
	const char *const *argv;
	int argc = pg_args(arg, &argv);
	for (int i = 1; i < argc; i++)
		pg_printf("%s%s", argv[i], i + 1 < argc ? " " : "\n");
	return 0;
}
