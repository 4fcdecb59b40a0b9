// vecloop.h: a computation that lives in the sixteen vector registers and nowhere
// else for as long as it runs: if anything (a preemption, a switch to another space)
// lost or mixed up one register, or the rounding mode, the result would differ from
// the same loop run without interruption. AVX (ymm, 4 doubles) where the CPU and the
// system enable it, SSE (xmm, 2 doubles) otherwise. Used by rtthreads.c (preemption
// on pagoda and hosted) and xstate.c.
#ifndef VECLOOP_H
#define VECLOOP_H
#include <stdbool.h>
#include <stdint.h>

struct vec_state {
	double r[16][4] __attribute__((aligned(32)));
};

static inline bool vec_have_avx(void)
{
	uint32_t a, b, c, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	if (!(c & (1u << 27)) || !(c & (1u << 28))) // OSXSAVE, AVX
		return false;
	uint32_t lo, hi;
	__asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
	return (lo & 6) == 6; // SSE and AVX state enabled
}

// Registers 0-7 accumulate (r[i] += r[i + 8]), 8-15 are steps that grow slowly
// (r[i] *= 1 + 2^-20): neither forgets a corrupted value, and every add rounds, so
// the rounding mode (MXCSR bits 13-14) shows in the bits.
#define VEC_ALL(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define VEC_ACCS(M) M(8, 0) M(9, 1) M(10, 2) M(11, 3) M(12, 4) M(13, 5) M(14, 6) M(15, 7)
#define VEC_STEPS(M) M(8) M(9) M(10) M(11) M(12) M(13) M(14) M(15)
#define VEC_BODY(LD, ADD, MUL, ST)                                                        \
	"ldmxcsr %[csr]\n\t" VEC_ALL(LD) "1:\n\t" VEC_ACCS(ADD) VEC_STEPS(MUL)             \
	"dec %[n]\n\t"                                                                     \
	"jnz 1b\n\t" VEC_ALL(ST) "ldmxcsr %[def]\n\t"

#define AVX_LD(i)     "vmovapd 32*" #i "(%[s]), %%ymm" #i "\n\t"
#define AVX_ST(i)     "vmovapd %%ymm" #i ", 32*" #i "(%[s])\n\t"
#define AVX_ADD(s, d) "vaddpd %%ymm" #s ", %%ymm" #d ", %%ymm" #d "\n\t"
#define AVX_MUL(d)    "vmulpd %[k], %%ymm" #d ", %%ymm" #d "\n\t"
#define SSE_LD(i)     "movapd 32*" #i "(%[s]), %%xmm" #i "\n\t"
#define SSE_ST(i)     "movapd %%xmm" #i ", 32*" #i "(%[s])\n\t"
#define SSE_ADD(s, d) "addpd %%xmm" #s ", %%xmm" #d "\n\t"
#define SSE_MUL(d)    "mulpd %[k], %%xmm" #d "\n\t"
#define VEC_CLOBBERS "memory", "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", \
	"xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15"

static const double vec_k[4] __attribute__((aligned(32))) = { 1.0 + 0x1p-20, 1.0 + 0x1p-20, 1.0 + 0x1p-20,
							      1.0 + 0x1p-20 };

__attribute__((target("avx"), noinline)) static void vec_loop_avx(struct vec_state *s, uint32_t csr, uint64_t n)
{
	uint32_t def = 0x1F80;
	__asm__ volatile(VEC_BODY(AVX_LD, AVX_ADD, AVX_MUL, AVX_ST) "vzeroupper\n\t"
			 : [n] "+r"(n)
			 : [s] "r"(s), [csr] "m"(csr), [def] "m"(def), [k] "m"(*(const double(*)[4])vec_k)
			 : VEC_CLOBBERS);
}

// SSE keeps 2 of each register's 4 doubles.
__attribute__((noinline)) static void vec_loop_sse(struct vec_state *s, uint32_t csr, uint64_t n)
{
	uint32_t def = 0x1F80;
	__asm__ volatile(VEC_BODY(SSE_LD, SSE_ADD, SSE_MUL, SSE_ST)
			 : [n] "+r"(n)
			 : [s] "r"(s), [csr] "m"(csr), [def] "m"(def), [k] "m"(*(const double(*)[2])vec_k)
			 : VEC_CLOBBERS);
}

// s from a seed; rounding mode rc (0-3) for the loop; n > 0 turns.
static inline void vec_seed(struct vec_state *s, uint64_t seed)
{
	for (int i = 0; i < 16; i++)
		for (int j = 0; j < 4; j++)
			s->r[i][j] = (double)(seed * 64 + (uint64_t)(i * 4 + j) + 1) * (i < 8 ? 1.0 : 0x1p-10) / 3.0;
}

static inline void vec_run(struct vec_state *s, int rc, uint64_t n)
{
	uint32_t csr = 0x1F80u | (uint32_t)(rc & 3) << 13;
	if (vec_have_avx())
		vec_loop_avx(s, csr, n);
	else
		vec_loop_sse(s, csr, n);
}

#endif
