// uentry.c: user-mode plumbing: the syscall MSRs, SMEP/SMAP, frames for entering user
// mode, and user copies that turn a fault into E_FAULT instead of a kernel crash.
#include "uentry.h"
#include "asm.h"
#include "x86.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include "kern/panic.h"
#include "kern/percpu.h"
#include "kern/vcpu.h"

#define MSR_STAR   0xC0000081
#define MSR_LSTAR  0xC0000082
#define MSR_SFMASK 0xC0000084
#define CR4_UMIP   (1u << 11)
#define CR4_SMEP   (1u << 20)
#define CR4_SMAP   (1u << 21)

#define RFLAGS_CF   (1u << 0)
#define RFLAGS_PF   (1u << 2)
#define RFLAGS_AF   (1u << 4)
#define RFLAGS_ZF   (1u << 6)
#define RFLAGS_SF   (1u << 7)
#define RFLAGS_TF   (1u << 8)
#define RFLAGS_IF   (1u << 9)
#define RFLAGS_DF   (1u << 10)
#define RFLAGS_OF   (1u << 11)
#define RFLAGS_IOPL (3u << 12)
#define RFLAGS_NT   (1u << 14)
#define RFLAGS_RF   (1u << 16)
#define RFLAGS_AC   (1u << 18)
#define RFLAGS_ID   (1u << 21)
// What user code may hold in RFLAGS and keep across a trap: the arithmetic flags,
// TF (it single-steps itself: #DB reaches its fault upcall), DF, AC (alignment
// checks of its own accesses) and ID. Never IOPL, NT, RF, VM, VIF or VIP.
#define RFLAGS_USER (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF | \
		     RFLAGS_DF | RFLAGS_OF | RFLAGS_AC | RFLAGS_ID)

extern char syscall_entry[], usercopy_begin[], usercopy_end[], usercopy_fault[];
static bool smap_on, umip_on;

bool uentry_smap(void) { return smap_on; }
bool uentry_umip(void) { return umip_on; }

void uentry_init_cpu(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	// sysretq takes CS = STAR[63:48] + 16 and SS = + 8 (udata 0x20, ucode 0x28, RPL
	// 3): the selectors arch_frame_user_sanitize() gives every frame (entry.S).
	wrmsr(MSR_STAR, ((uint64_t)(GDT_UDATA - 8) << 48) | ((uint64_t)GDT_KCODE << 32));
	wrmsr(MSR_LSTAR, (uintptr_t)syscall_entry);
	// Entry clears every flag user code could set (Linux's mask): no interrupt before
	// the stack switch (IF), SMAP enforced from the first kernel instruction (AC), no
	// single-step (TF), and no NT: with NT set the kernel's iretq would attempt a task
	// return and take #GP in ring 0 after swapgs, which nothing recovers from.
	wrmsr(MSR_SFMASK, RFLAGS_USER | RFLAGS_IF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_RF);
	uint32_t r[4];
	cpuid(7, 0, r);
	uint64_t cr4 = read_cr4();
	if (r[1] & (1u << 7))
		cr4 |= CR4_SMEP;
	if (r[1] & (1u << 20)) {
		cr4 |= CR4_SMAP;
		smap_on = true;
	}
	// UMIP: sgdt, sidt, sldt, smsw and str fault in user mode instead of handing out
	// kernel addresses (the GDT, IDT and TSS live in the kernel's per-CPU areas).
	if (r[2] & (1u << 2)) {
		cr4 |= CR4_UMIP;
		umip_on = true;
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

// Whatever led here (a syscall, an interrupt, an upcall's rewrite), iretq must not be
// able to fault in ring 0: after swapgs with the user's GS base, no handler could
// recover. So the frame gets user selectors and only user flags, with IF on, and its
// rip is canonical: the CPU pushed it (every user address is below USER_TOP, and the
// gap above keeps even the return from the last instruction canonical) or the kernel
// checked it (vcpu entry points).
void arch_frame_user_sanitize(struct trap_frame *f)
{
	f->cs = GDT_UCODE | 3;
	f->ss = GDT_UDATA | 3;
	f->rflags = (f->rflags & RFLAGS_USER) | RFLAGS_IF;
	KASSERT(f->rip <= USER_TOP);
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
	this_cpu()->arch.copy_retried = 0; // the kernel is not preempted: this CPU's copy
	return arch_copy_user(dst, (const void *)usrc, n, smap_on);
}

int copy_to_user(uintptr_t udst, const void *src, size_t n)
{
	if (!user_range_ok(udst, n))
		return E_FAULT;
	this_cpu()->arch.copy_retried = 0;
	return arch_copy_user((void *)udst, src, n, smap_on);
}

// A fault in a user copy. Raising rights sends no IPI, so this CPU may still hold the
// old, narrower entry for a page the copy may now use: the fault dropped that entry,
// so if the current PTE allows the access the copy is resumed where it stopped (rep
// movsb restarts with its registers as they were). Once per address: a second fault
// there is real (or SMAP's), and the copy fails with E_FAULT.
bool uentry_fixup(struct trap_frame *f)
{
	if (f->rip < (uintptr_t)usercopy_begin || f->rip > (uintptr_t)usercopy_end)
		return false;
	struct cpu *c = this_cpu();
	uintptr_t addr = read_cr2();
	if (c->arch.copy_retried != addr && vcpu_fault_spurious(addr, f->error)) {
		c->arch.copy_retried = addr;
		return true;
	}
	f->rip = (uintptr_t)usercopy_fault;
	return true;
}
