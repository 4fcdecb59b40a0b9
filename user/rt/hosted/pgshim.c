// pgshim.c: the few libpagoda calls the runtime's tests and benchmarks use, on Linux,
// so the same test source runs hosted. The program's own main is renamed
// pg_program_main by the hosted build.
#undef main // the build renames the program's main; this is the real one
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int pg_program_main(uint64_t arg);
extern int utest_depth; // user/lib/utest.c

int pg_debug_write(const char *s, size_t len) { return write(1, s, len) < 0 ? -1 : 0; }

int pg_cpu_count(void)
{
	const char *e = getenv("RT_VCPUS");
	long n = e ? atol(e) : sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)n : 1;
}

uint64_t pg_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// Hosted, the program's KTAP report is the whole output: not nested. RT_ARG is main's
// argument (as a pagoda program's arg).
int main(void)
{
	utest_depth = 0;
	const char *a = getenv("RT_ARG");
	return pg_program_main(a ? strtoull(a, NULL, 0) : 0);
}
