// fpcalc.h: ordinary C floating point (double and float, scalar and GCC vectors: SSE
// at the baseline, AVX2 in a second copy) whose result, a hash of the final bits, must
// be the same wherever it runs: IEEE arithmetic in SSE registers, no contraction into
// FMA (ISO C mode), the default rounding. tools/fpcalc_gen.c runs it on the build
// host and writes the expected hashes; tests/user/fpcalc.c runs it under preemption
// on every vcpu of pagoda and compares.
#ifndef FPCALC_H
#define FPCALC_H
#include <stdint.h>

#define FPCALC_SEEDS 32
#define FPCALC_TURNS 20000

typedef double fp_v4d __attribute__((vector_size(32)));
typedef float fp_v8f __attribute__((vector_size(32)));

static inline uint64_t fp_bits(double d)
{
	union { double d; uint64_t u; } c = { .d = d };
	return c.u;
}

static inline uint64_t fp_mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull + (h >> 29); }

#define FPCALC_BODY                                                                      \
	double x = (double)seed + 0.5, y = 1.0 / (double)(seed + 3);                      \
	fp_v4d a = { x, y, x * y, x + y };                                                \
	fp_v8f f = { (float)x, (float)y, 0.25f, -1.5f, 3.0f, (float)seed, 7.0f, 0.125f }; \
	const fp_v4d ka = { 0.75, 0.5, 0.25, 0.125 };                                     \
	const fp_v8f kf = { 0.999f, 0.5f, 0.25f, 0.75f, 0.9f, 0.3f, 0.6f, 0.1f };         \
	for (uint32_t i = 0; i < n; i++) {                                                \
		x = x * 1.0000001 + y / (x + 1.0);                                        \
		y = y - x * 1e-9 + (double)(i & 7) * 1e-12;                               \
		a = a * ka + (fp_v4d){ x, y, -x, 1.0 / (x + 2.0) };                       \
		a = a / (a + 4.0);                                                        \
		f = f * kf + (fp_v8f){ (float)x, (float)y, (float)a[0], (float)a[1],      \
				       (float)a[2], (float)a[3], (float)(i & 15), 1.0f }; \
		f = f - f / (f + 8.0f);                                                   \
	}                                                                                 \
	uint64_t h = fp_mix(fp_bits(x), fp_bits(y));                                      \
	for (int j = 0; j < 4; j++)                                                       \
		h = fp_mix(h, fp_bits(a[j]));                                             \
	for (int j = 0; j < 8; j++)                                                       \
		h = fp_mix(h, fp_bits((double)f[j]));                                     \
	return h;

__attribute__((noinline)) static uint64_t fpcalc_sse(uint64_t seed, uint32_t n) { FPCALC_BODY }
__attribute__((noinline, target("avx2"))) static uint64_t fpcalc_avx2(uint64_t seed, uint32_t n) { FPCALC_BODY }

// A double made of a result, and how printf shows it: pagoda's pg_snprintf must write
// what the host's C library writes.
static inline double fpcalc_as_double(uint64_t h) { return (double)(h >> 11) * 0x1p-40 - 4096.0; }
#define FPCALC_FORMAT "%.17g %.6e %.3f %g %+08.2f %G"
#define FPCALC_ARGS(d) d, d, d, d, d, d * 1e-30

#endif
