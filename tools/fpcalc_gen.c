// fpcalc_gen.c: runs tests/user/fpcalc.h on the build host and prints the hashes
// pagoda's fpcalc test must reproduce, as a C header (user/user.mk makes it).
#include <stdio.h>
#include "tests/user/fpcalc.h"

int main(void)
{
	__builtin_cpu_init();
	int avx2 = __builtin_cpu_supports("avx2");
	printf("// Made by tools/fpcalc_gen.c on the build host: do not edit.\n");
	printf("static const uint64_t fpcalc_want_sse[FPCALC_SEEDS] = {\n");
	for (uint64_t s = 0; s < FPCALC_SEEDS; s++)
		printf("\t0x%016llxull,\n", (unsigned long long)fpcalc_sse(s, FPCALC_TURNS));
	printf("};\n#define FPCALC_HOST_AVX2 %d\n", avx2);
	printf("static const uint64_t fpcalc_want_avx2[FPCALC_SEEDS] = {\n");
	for (uint64_t s = 0; s < FPCALC_SEEDS; s++)
		printf("\t0x%016llxull,\n", avx2 ? (unsigned long long)fpcalc_avx2(s, FPCALC_TURNS) : 0ull);
	printf("};\n");
	printf("static const char *const fpcalc_want_text[FPCALC_SEEDS] = {\n");
	for (uint64_t s = 0; s < FPCALC_SEEDS; s++) {
		double d = fpcalc_as_double(fpcalc_sse(s, FPCALC_TURNS));
		printf("\t\"" FPCALC_FORMAT "\",\n", FPCALC_ARGS(d));
	}
	printf("};\n");
	return 0;
}
