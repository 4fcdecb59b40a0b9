// uentry.c: user-mode plumbing: the syscall MSRs, SMEP/SMAP, frames for entering user
// mode, and user copies that turn a fault into E_FAULT instead of a kernel crash.
#include "uentry.h"
#include "asm.h"
#include "x86.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"

#define MSR_STAR   0xC0000081
#define MSR_LSTAR  0xC0000082
#define MSR_SFMASK 0xC0000084
#define CR4_SMEP   (1u << 20)
#define CR4_SMAP   (1u << 21)
#define RFLAGS_IF  (1u << 9)

extern char syscall_entry[], usercopy_begin[], usercopy_end[], usercopy_fault[];
static bool smap_on;

bool uentry_smap(void) { return smap_on; }

void uentry_init_cpu(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	// sysret would take CS = STAR[63:48] + 16 and SS = + 8; we return with iretq,
	// but keep STAR consistent with the GDT (udata 0x20, ucode 0x28).
	wrmsr(MSR_STAR, ((uint64_t)(GDT_UDATA - 8) << 48) | ((uint64_t)GDT_KCODE << 32));
	wrmsr(MSR_LSTAR, (uintptr_t)syscall_entry);
	// Entry runs with IF, DF, TF and AC clear: no interrupt before the stack switch,
	// and SMAP enforced from the first kernel instruction.
	wrmsr(MSR_SFMASK, RFLAGS_IF | (1u << 10) | (1u << 8) | (1u << 18));
	uint32_t r[4];
	cpuid(7, 0, r);
	uint64_t cr4 = read_cr4();
	if (r[1] & (1u << 7))
		cr4 |= CR4_SMEP;
	if (r[1] & (1u << 20)) {
		cr4 |= CR4_SMAP;
		smap_on = true;
	}
	write_cr4(cr4);
}

void arch_frame_user_entry(struct trap_frame *f, uintptr_t pc, uintptr_t sp, uint64_t arg)
{
	*f = (struct trap_frame){
		.rip = pc, .cs = GDT_UCODE | 3, .rflags = RFLAGS_IF,
		.rsp = sp, .ss = GDT_UDATA | 3, .rdi = arg,
	};
}

void arch_frame_save_context(const struct trap_frame *f, struct pg_context *c)
{
	*c = (struct pg_context){
		.rax = f->rax, .rbx = f->rbx, .rcx = f->rcx, .rdx = f->rdx, .rsi = f->rsi,
		.rdi = f->rdi, .rbp = f->rbp, .rsp = f->rsp, .r8 = f->r8, .r9 = f->r9,
		.r10 = f->r10, .r11 = f->r11, .r12 = f->r12, .r13 = f->r13, .r14 = f->r14,
		.r15 = f->r15, .rip = f->rip, .rflags = f->rflags,
	};
}

void arch_frame_fault(const struct trap_frame *f, struct arch_fault *out)
{
	bool page = f->vector == VEC_PF;
	*out = (struct arch_fault){
		.addr = page ? read_cr2() : f->rip, // read before anything can fault again
		.code = f->error | f->vector << 32,
		.page = page,
		.pf_error = page ? f->error : 0,
	};
}

bool user_range_ok(uintptr_t va, size_t n)
{
	return va >= USER_BASE && va < USER_TOP && n <= USER_TOP - va;
}

int arch_copy_user(void *dst, const void *src, size_t n, int smap);

int copy_from_user(void *dst, uintptr_t usrc, size_t n)
{
	if (!user_range_ok(usrc, n))
		return E_FAULT;
	return arch_copy_user(dst, (const void *)usrc, n, smap_on);
}

int copy_to_user(uintptr_t udst, const void *src, size_t n)
{
	if (!user_range_ok(udst, n))
		return E_FAULT;
	return arch_copy_user((void *)udst, src, n, smap_on);
}

bool uentry_fixup(struct trap_frame *f)
{
	if (f->rip < (uintptr_t)usercopy_begin || f->rip > (uintptr_t)usercopy_end)
		return false;
	f->rip = (uintptr_t)usercopy_fault;
	return true;
}
