// xstate.c: each vcpu's x87/SSE/AVX state is its own (arch/x86_64/fpu.c). A program
// fills every register class with patterns that name it (a tag of its own) and checks,
// from XSAVE images, that they survive system calls, yields to other vcpus and spaces
// on the same CPU, preemption and a fault upcall whose handler clobbers everything;
// that every upcall frame carries them (ctx.xstate); and that a new vcpu starts in the
// init state, with nothing of anyone else's. Run alone (ONE(xstate): its own second
// vcpu competes for the CPU) and as two spaces at once on CPU 0 (arg 1).
#include <stdatomic.h>
#include "utest.h"
#include "vecloop.h"

int memcmp(const void *a, const void *b, size_t n);
void *memcpy(void *restrict d, const void *restrict s, size_t n);
void *memset(void *d, int c, size_t n);

#define PREFIX 0xC0DEull // bits 63:48 of every pattern word (x87 mantissas: bit 63 set)

// What xs_hold loads: st[i] is fldt'd in order (so ST0 ends up st[7]); vec[i] is
// ymm i (xmm i its low half); then MXCSR and the x87 control word.
struct xs_pat {
	uint8_t st[8][16];
	uint8_t vec[16][32];
	uint32_t mxcsr;
	uint16_t fcw;
} __attribute__((aligned(64)));
_Static_assert(__builtin_offsetof(struct xs_pat, vec) == 128 && __builtin_offsetof(struct xs_pat, mxcsr) == 640 &&
		       __builtin_offsetof(struct xs_pat, fcw) == 644, "xs_hold's offsets");

enum { XS_AVX = 1, XS_XSAVE = 2 };

// void xs_hold(const struct xs_pat *p, uint64_t yields, uint64_t spin, int ud, void *out, int mode):
// loads p, then `yields` times spins `spin` turns and calls vcpu_yield (number 2),
// then (if ud) executes ud2 at xs_ud_site, then XSAVEs (or FXSAVEs) every register
// into out (64-byte aligned) and leaves a clean x87 stack and MXCSR. Between the load
// and the save no instruction touches a vector or x87 register.
__asm__(".pushsection .text\n"
	".globl xs_hold, xs_ud_site\n"
	"xs_hold:\n"
	"	push %rbx\n	push %r12\n	push %r13\n"
	"	mov %rcx, %rbx\n	mov %rsi, %r12\n	mov %rdx, %r13\n"
	"	fldcw 644(%rdi)\n	ldmxcsr 640(%rdi)\n"
	"	fldt 0(%rdi)\n	fldt 16(%rdi)\n	fldt 32(%rdi)\n	fldt 48(%rdi)\n"
	"	fldt 64(%rdi)\n	fldt 80(%rdi)\n	fldt 96(%rdi)\n	fldt 112(%rdi)\n"
	"	test $1, %r9d\n	jz 1f\n"
	"	vmovdqu 128(%rdi), %ymm0\n	vmovdqu 160(%rdi), %ymm1\n	vmovdqu 192(%rdi), %ymm2\n"
	"	vmovdqu 224(%rdi), %ymm3\n	vmovdqu 256(%rdi), %ymm4\n	vmovdqu 288(%rdi), %ymm5\n"
	"	vmovdqu 320(%rdi), %ymm6\n	vmovdqu 352(%rdi), %ymm7\n	vmovdqu 384(%rdi), %ymm8\n"
	"	vmovdqu 416(%rdi), %ymm9\n	vmovdqu 448(%rdi), %ymm10\n	vmovdqu 480(%rdi), %ymm11\n"
	"	vmovdqu 512(%rdi), %ymm12\n	vmovdqu 544(%rdi), %ymm13\n	vmovdqu 576(%rdi), %ymm14\n"
	"	vmovdqu 608(%rdi), %ymm15\n	jmp 2f\n"
	"1:	movdqu 128(%rdi), %xmm0\n	movdqu 160(%rdi), %xmm1\n	movdqu 192(%rdi), %xmm2\n"
	"	movdqu 224(%rdi), %xmm3\n	movdqu 256(%rdi), %xmm4\n	movdqu 288(%rdi), %xmm5\n"
	"	movdqu 320(%rdi), %xmm6\n	movdqu 352(%rdi), %xmm7\n	movdqu 384(%rdi), %xmm8\n"
	"	movdqu 416(%rdi), %xmm9\n	movdqu 448(%rdi), %xmm10\n	movdqu 480(%rdi), %xmm11\n"
	"	movdqu 512(%rdi), %xmm12\n	movdqu 544(%rdi), %xmm13\n	movdqu 576(%rdi), %xmm14\n"
	"	movdqu 608(%rdi), %xmm15\n"
	"2:	test %r12, %r12\n	jz 4f\n"
	"	mov %r13, %rax\n"
	"3:	dec %rax\n	jnz 3b\n"
	"	mov $2, %eax\n	syscall\n"
	"	dec %r12\n	jmp 2b\n"
	"4:	test %rbx, %rbx\n	jz 5f\n"
	"xs_ud_site:\n	ud2\n"
	"5:	mov $-1, %eax\n	mov $-1, %edx\n"
	"	test $2, %r9d\n	jz 6f\n"
	"	xsave64 (%r8)\n	jmp 7f\n"
	"6:	fxsave64 (%r8)\n"
	"7:	fninit\n	push $0x1F80\n	ldmxcsr (%rsp)\n	add $8, %rsp\n"
	"	pop %r13\n	pop %r12\n	pop %rbx\n	ret\n"
	".popsection\n");
void xs_hold(const struct xs_pat *p, uint64_t yields, uint64_t spin, int ud, void *out, int mode);
extern char xs_ud_site[];

// void xs_restore(const void *img, int xsave): XRSTOR (or FXRSTOR) of img in user
// mode; a #GP there (a malformed image) resumes at xs_restore_end (pg_upcall).
__asm__(".pushsection .text\n"
	".globl xs_restore, xs_restore_site, xs_restore_end\n"
	"xs_restore:\n"
	"	mov $-1, %eax\n	mov $-1, %edx\n"
	"	test %esi, %esi\n	jz 1f\n"
	"xs_restore_site:\n	xrstor64 (%rdi)\n	jmp xs_restore_end\n"
	"1:	fxrstor64 (%rdi)\n"
	"xs_restore_end:\n	ret\n"
	".popsection\n");
void xs_restore(const void *img, int xsave);
extern char xs_restore_site[], xs_restore_end[];

static int mode;
static uint32_t ymm_off; // of the AVX upper halves in an XSAVE image (CPUID 0xD.2)
static uint64_t tag;     // 40 bits naming this run
static struct xs_pat pat;
static uint8_t img[PG_XSTATE_MAX] __attribute__((aligned(64)));

static void probe(void)
{
	uint32_t a, b, c, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(1), "c"(0));
	mode = (c & (1u << 27) ? XS_XSAVE : 0) | (vec_have_avx() ? XS_AVX : 0);
	if (mode & XS_AVX) {
		__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xD), "c"(2));
		ymm_off = b;
	}
}

static uint64_t word(unsigned i) { return PREFIX << 48 | tag << 8 | i; }

// A pattern of this run's: x87 values 1.xxx * 2^0 (exponent 0x3FFF), every vector
// word tagged, rounding toward zero, x87 at double precision.
static void make_pattern(void)
{
	for (unsigned i = 0; i < 8; i++) {
		uint64_t m = word(i);
		memcpy(pat.st[i], &m, 8);
		pat.st[i][8] = 0xFF;
		pat.st[i][9] = 0x3F;
	}
	for (unsigned i = 0; i < 16; i++)
		for (unsigned j = 0; j < 4; j++) {
			uint64_t w = word(16 + 4 * i + j);
			memcpy(&pat.vec[i][8 * j], &w, 8);
		}
	pat.mxcsr = 0x1F80 | 3u << 13;
	pat.fcw = 0x027F;
}

static uint64_t img_word(size_t off)
{
	uint64_t w;
	memcpy(&w, img + off, 8);
	return w;
}

// Words that carry the prefix but another run's tag: someone else's registers.
static int foreign_words(size_t len)
{
	int n = 0;
	for (size_t off = 0; off + 8 <= len; off += 8) {
		uint64_t w = img_word(off);
		if (w >> 48 == PREFIX && (w >> 8 & 0xFFFFFFFFFFull) != tag)
			n++;
	}
	return n;
}

static size_t img_len(void) { return mode & XS_XSAVE ? PG_XSTATE_MAX : 512; }

// img holds exactly the pattern: control words, ST0-7, xmm and the ymm upper halves.
static void check_pattern(const char *n, const uint8_t *im)
{
	UCHECK_EQ(n, *(const uint16_t *)im, pat.fcw);
	UCHECK_EQ(n, *(const uint32_t *)(im + 24), pat.mxcsr);
	for (int i = 0; i < 8; i++)
		UCHECK(n, memcmp(im + 32 + 16 * i, pat.st[7 - i], 10) == 0);
	for (int i = 0; i < 16; i++)
		UCHECK(n, memcmp(im + 160 + 16 * i, pat.vec[i], 16) == 0);
	if (mode & XS_AVX)
		for (int i = 0; i < 16; i++)
			UCHECK(n, memcmp(im + ymm_off + 16 * i, pat.vec[i] + 16, 16) == 0);
}

static void hold(uint64_t yields, uint64_t spin, int ud)
{
	memset(img, 0, sizeof img);
	xs_hold(&pat, yields, spin, ud, img, mode);
}

// ---- the upcall handler ------------------------------------------------------------

static uint8_t fault_img[PG_XSTATE_MAX] __attribute__((aligned(64)));
static volatile uint64_t faults_taken, preempt_frames, preempt_tagged, gp_taken;

// Every register class gets other values, as any handler's own code might leave.
static void clobber(void)
{
	static const uint32_t csr = 0x1F80 | 1u << 13;
	__asm__ volatile("fninit\n\tfldpi\n\tfldz\n\tldmxcsr %0\n\t"
			 "pcmpeqd %%xmm0, %%xmm0\n\tmovdqa %%xmm0, %%xmm7\n\tmovdqa %%xmm0, %%xmm15" ::"m"(csr)
			 : "xmm0", "xmm7", "xmm15", "memory");
	if (mode & XS_AVX)
		__asm__ volatile("vzeroall" ::: "memory");
}

static bool tagged(const uint8_t *im, size_t len)
{
	for (size_t off = 0; off + 8 <= len; off += 8) {
		uint64_t w;
		memcpy(&w, im + off, 8);
		if (w == word(16))
			return true;
	}
	return false;
}

void pg_upcall(struct pg_upcall *u)
{
	if (u->reason == UPCALL_FAULT && u->fault_code >> 32 == 6 && u->ctx.rip == (uintptr_t)xs_ud_site) {
		memcpy(fault_img, (const void *)u->ctx.xstate, u->ctx.xsize);
		faults_taken++;
		clobber();
		u->ctx.rip += 2; // past the ud2
	} else if (u->reason == UPCALL_FAULT && u->fault_code >> 32 == 13 &&
		   u->ctx.rip >= (uintptr_t)xs_restore && u->ctx.rip < (uintptr_t)xs_restore_end) {
		gp_taken++;
		u->ctx.rip = (uintptr_t)xs_restore_end; // the image was refused
	} else if (u->reason == UPCALL_FAULT) {
		pg_printf("xstate: unexpected fault at %#lx (rip %#lx)\n", u->fault_addr, u->ctx.rip);
		__builtin_trap();
	} else if (u->reason == UPCALL_PREEMPTED) {
		preempt_frames++;
		if (u->ctx.xstate == (uintptr_t)u->xstate && tagged(u->xstate, u->ctx.xsize))
			preempt_tagged++;
		clobber();
	}
	pg_context_resume(&u->ctx);
}

// ---- a second vcpu, to compete for the CPU ------------------------------------------

static uint8_t burner_stack[PG_UPCALL_STACK_SIZE] __attribute__((aligned(4096)));
static _Atomic int burner_stop, burner_running;

static void burner(struct pg_upcall *u)
{
	if (u->reason != UPCALL_START)
		pg_context_resume(&u->ctx); // in the upcall: it just goes on
	atomic_store(&burner_running, 1);
	while (!atomic_load(&burner_stop))
		__asm__ volatile("" ::: "memory");
	pg_exit(0);
}

// ---- the cases ---------------------------------------------------------------------

static uint8_t start_img[PG_XSTATE_MAX] __attribute__((aligned(64)));

// What main found before anything ran: the init state, nothing of anyone's.
static void starts_clean(const char *n)
{
	UCHECK_EQ(n, *(const uint16_t *)start_img, 0x37F);
	UCHECK_EQ(n, *(const uint32_t *)(start_img + 24), 0x1F80);
	memcpy(img, start_img, sizeof img);
	UCHECK_EQ(n, foreign_words(img_len()), 0);
}

// System calls and yields (to the other space on this CPU, when two run).
static void kept_across_yields(const char *n)
{
	hold(2000, 2000, 0);
	check_pattern(n, img);
	UCHECK_EQ(n, foreign_words(img_len()), 0);
}

// The fault upcall's frame has the pattern; its handler clobbers the registers, and
// pg_context_resume puts the pattern back.
static void fault_upcall_carries_it(const char *n)
{
	uint64_t f = faults_taken;
	memset(fault_img, 0, sizeof fault_img);
	hold(0, 0, 1);
	UCHECK_EQ(n, faults_taken, f + 1);
	check_pattern(n, fault_img);
	check_pattern(n, img);
}

// With a second vcpu on the CPU, the timer takes it from a spin: PREEMPTED frames
// carry the pattern, the handler clobbers, the resume restores.
static void preempted_upcall_carries_it(const char *n)
{
	int cpu = pg_cpu_id();
	if (!UCHECK_EQ(n, pg_vcpu_create(H_SELF, (uintptr_t)burner, (uintptr_t)burner_stack + sizeof burner_stack,
					 0, cpu), E_OK))
		return;
	while (!atomic_load(&burner_running))
		pg_yield();
	uint64_t p0 = preempt_tagged;
	for (int i = 0; i < 40 && preempt_tagged - p0 < 3; i++) {
		hold(1, 20000000, 0); // long spins: the timer preempts them
		check_pattern(n, img);
	}
	atomic_store(&burner_stop, 1);
	pg_printf("xstate: %lu preemption frames, %lu with the pattern\n", preempt_frames, preempt_tagged - p0);
	UCHECK(n, preempt_tagged - p0 >= 1);
}

// A hostile image: XRSTOR of one with a non-zero reserved header byte is refused by
// the CPU in user mode (#GP: a FAULT upcall to this program alone); the kernel never
// loads an image user space wrote, and goes on switching whatever the registers hold.
static void malformed_image_faults_only_its_program(const char *n)
{
	static uint8_t bad[PG_XSTATE_MAX] __attribute__((aligned(64)));
	hold(0, 0, 0); // img: a valid image of the pattern
	// A reserved MXCSR bit: hardware raises #GP; QEMU 7.2's TCG loads it into MXCSR.
	// Either way the kernel must go on switching this vcpu (its own XSAVE/XRSTOR of
	// whatever the register holds), here across yields to the other space.
	memcpy(bad, img, sizeof bad);
	*(uint32_t *)(bad + 24) |= 1u << 31;
	xs_restore(bad, mode & XS_XSAVE);
	for (int i = 0; i < 50; i++)
		pg_yield();
	uint32_t def = 0x1F80;
	__asm__ volatile("fninit\n\tldmxcsr %0" ::"m"(def));
	if (mode & XS_XSAVE) { // a non-zero reserved header byte: #GP (TCG too)
		memcpy(bad, img, sizeof bad);
		bad[512 + 16] = 1;
		uint64_t g = gp_taken;
		xs_restore(bad, 1);
		UCHECK_EQ(n, gp_taken, g + 1);
	}
	hold(200, 2000, 0); // and everything still switches
	check_pattern(n, img);
}

// Every exception unmasked (MXCSR 0, x87 control word 0x40) survives the kernel's
// saves and loads across yields, as any other value.
static void unmasked_exceptions_survive_switches(const char *n)
{
	struct xs_pat keep = pat;
	pat.mxcsr = 0;
	pat.fcw = 0x0040;
	hold(500, 2000, 0);
	check_pattern(n, img);
	UCHECK_EQ(n, foreign_words(img_len()), 0);
	pat = keep;
}

static const struct utest_case cases[] = {
	{ "xstate_starts_clean", starts_clean },
	{ "xstate_kept_across_yields", kept_across_yields },
	{ "xstate_fault_upcall_carries_it", fault_upcall_carries_it },
	{ "xstate_preempted_upcall_carries_it", preempted_upcall_carries_it },
	{ "xstate_malformed_image_faults_only_its_program", malformed_image_faults_only_its_program },
	{ "xstate_unmasked_exceptions_survive_switches", unmasked_exceptions_survive_switches },
};

// Beside another space on the same CPU: both hold their patterns across many yields.
static const struct utest_case pair_cases[] = {
	{ "xstate_starts_clean", starts_clean },
	{ "xstate_kept_across_yields", kept_across_yields },
	{ "xstate_kept_across_yields_again", kept_across_yields },
};

int main(uint64_t arg)
{
	probe();
	if (mode & XS_XSAVE)
		__asm__ volatile("xsave64 %0" : "=m"(start_img) : "a"(-1), "d"(-1));
	else
		__asm__ volatile("fxsave64 %0" : "=m"(start_img));
	tag = (pg_clock_ns() ^ (uint64_t)pg_cpu_id() << 32) & 0xFFFFFFFFFFull;
	make_pattern();
	return arg == 1 ? UTEST_RUN_QUIET(pair_cases) : UTEST_RUN(cases);
}
