// plat_linux.c: the runtime hosted on Linux (same rt/ source as on pagoda). vcpus are
// pthreads; each has one stack for its scheduler and its signals (the alternate
// stack), as a pagoda vcpu's upcall stack. SIGSEGV plays the fault upcall, and a
// per-vcpu timer signal (SIGURG) the PREEMPTED one: the signal frame's context and
// its XSAVE image become a struct pg_context the runtime can resume anywhere. Idle
// vcpus sleep on a futex used as a counting semaphore (a wake is never lost, as with
// a pagoda notification); memory is mmap'ed.
#define _GNU_SOURCE
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include "plat.h"
#include "rt.h"
#include "include/pagoda/context.h"

#define SCHED_STACK (64 * 1024)  // scheduler and signal stack of a vcpu
#define SIG_SLICE   SIGURG       // ignored by default: a stray one harms nothing
// A slice signal that finds the thread where it cannot be taken (below) comes again
// this much later, as a pagoda TIMER stays pending until the upcall stack is left.
#define RETRY_NS    (1000 * 1000)

static int nvcpus;
static pthread_t threads[64];
static timer_t slice_timer[64];
static char *sched_stacks;
static _Atomic int tokens; // pending wake-ups
static __thread int my_vcpu;
extern char __executable_start[], etext[]; // the program's own code (the linker's)

uint64_t plat_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uintptr_t plat_reserve(size_t bytes)
{
	void *p = mmap(NULL, bytes + (1UL << 21), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	return ((uintptr_t)p + (1UL << 21) - 1) & ~((1UL << 21) - 1); // 2 MiB aligned, like pagoda's
}

uintptr_t plat_reserve_stacks(size_t bytes)
{
	void *p = mmap(NULL, bytes + (1UL << 21), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		       -1, 0);
	if (p == MAP_FAILED)
		return 0;
	return ((uintptr_t)p + (1UL << 21) - 1) & ~((1UL << 21) - 1);
}
const bool plat_stacks_grow_on_fault = false;
int plat_map_pages(const uintptr_t *va, size_t n) { (void)va, (void)n; return 0; } // demand-zero already

uint64_t plat_memory_bytes(void)
{
	long pages[2] = { 0, 0 };
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages[0], &pages[1]) != 2)
			pages[1] = 0;
		fclose(f);
	}
	return (uint64_t)pages[1] * (uint64_t)sysconf(_SC_PAGESIZE);
}

int plat_map(uintptr_t va, size_t bytes)
{
	return mprotect((void *)va, bytes, PROT_READ | PROT_WRITE) == 0 ? 0 : -1;
}

void *plat_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void plat_free(void *p, size_t bytes)
{
	if (munmap(p, bytes) != 0)
		plat_panic("plat_free: munmap");
}

void plat_puts(const char *s) { (void)!write(1, s, strlen(s)); }

void plat_panic(const char *what)
{
	fprintf(stderr, "rt: %s\n", what);
	abort();
}

// Below the room Linux's signal frame takes at the top of the alternate stack when a
// signal comes to a running thread (registers and the XSAVE image: several KiB with
// AVX-512, more with AMX): a thread entering its scheduler writes its context there
// before it switches stacks, and a signal in between must not overwrite it.
#define SIGFRAME_ROOM (24 * 1024)
uintptr_t plat_sched_stack(int i)
{
	return (uintptr_t)sched_stacks + (uintptr_t)(i + 1) * SCHED_STACK - SIGFRAME_ROOM;
}

static bool on_sched_stack(int i, uintptr_t sp)
{
	uintptr_t lo = (uintptr_t)sched_stacks + (uintptr_t)i * SCHED_STACK;
	return sp >= lo && sp < lo + SCHED_STACK;
}

// The image a signal frame holds: XSAVE's standard form, as long as the kernel's
// software bytes say so (FP_XSTATE_MAGIC1), else FXSAVE's 512 bytes.
static uint16_t frame_xsize(const struct _libc_fpstate *fp)
{
	const uint32_t *sw = (const uint32_t *)((const char *)fp + 464); // struct _fpx_sw_bytes
	return sw[0] == 0x46505853u ? (uint16_t)sw[4] : 512; // magic1, xstate_size
}

// The biggest image Linux can hand over here: CPUID's size for the features it
// enabled (XCR0).
size_t plat_xstate_max(void)
{
	uint32_t a, b, c, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xD), "c"(0));
	return b > 512 ? b : 512;
}

static long futex(_Atomic int *w, int op, int v, const struct timespec *t)
{
	return syscall(SYS_futex, w, op, v, t, NULL, 0);
}

static void arm(int i, uint64_t ns)
{
	struct itimerspec it = { .it_value = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) } };
	timer_settime(slice_timer[i], 0, &it, NULL);
}

// plat_idle cancels the slice, as on pagoda (one timer per vcpu there).
void plat_idle(uint64_t deadline)
{
	arm(my_vcpu, 0);
	for (;;) {
		int t = atomic_load(&tokens);
		if (t > 0 && atomic_compare_exchange_weak(&tokens, &t, t - 1))
			return;
		if (t > 0)
			continue;
		struct timespec ts, *tp = NULL;
		if (deadline) {
			uint64_t now = plat_now_ns();
			if (deadline <= now)
				return;
			ts.tv_sec = (time_t)((deadline - now) / 1000000000u);
			ts.tv_nsec = (long)((deadline - now) % 1000000000u);
			tp = &ts;
		}
		if (futex(&tokens, FUTEX_WAIT_PRIVATE, 0, tp) == -1 && errno == ETIMEDOUT)
			return;
	}
}

void plat_wake(void)
{
	atomic_fetch_add(&tokens, 1);
	futex(&tokens, FUTEX_WAKE_PRIVATE, 1, NULL);
}

void plat_slice(uint64_t ns) { arm(my_vcpu, ns); }

void plat_vcpu_exit(void) { pthread_exit(NULL); }

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (rt_fault((uintptr_t)si->si_addr, 0) != RT_FAULT_UNHANDLED)
		return; // retried (hosted, a yield request is a plain retry)
	signal(sig, SIG_DFL); // unhandled: die of it
}

// The end of a slice. Taken only where a pagoda upcall would be: not on the
// scheduler stack (an upcall is running there), and only in the program's own code:
// libc's locks and thread-locals belong to the pthread, so a thread preempted inside
// libc and resumed on another vcpu, or followed by one that takes the same lock on
// this one, would break them. Elsewhere the slice ends a little later.
static void on_slice(int sig, siginfo_t *si, void *ucv)
{
	(void)sig, (void)si;
	ucontext_t *uc = ucv;
	greg_t *g = uc->uc_mcontext.gregs;
	int i = my_vcpu;
	uintptr_t ip = (uintptr_t)g[REG_RIP];
	if (on_sched_stack(i, (uintptr_t)g[REG_RSP]) || ip < (uintptr_t)__executable_start || ip >= (uintptr_t)etext) {
		arm(i, RETRY_NS);
		return;
	}
	struct pg_context c = {
		.rax = (uint64_t)g[REG_RAX], .rbx = (uint64_t)g[REG_RBX], .rcx = (uint64_t)g[REG_RCX],
		.rdx = (uint64_t)g[REG_RDX], .rsi = (uint64_t)g[REG_RSI], .rdi = (uint64_t)g[REG_RDI],
		.rbp = (uint64_t)g[REG_RBP], .rsp = (uint64_t)g[REG_RSP], .r8 = (uint64_t)g[REG_R8],
		.r9 = (uint64_t)g[REG_R9], .r10 = (uint64_t)g[REG_R10], .r11 = (uint64_t)g[REG_R11],
		.r12 = (uint64_t)g[REG_R12], .r13 = (uint64_t)g[REG_R13], .r14 = (uint64_t)g[REG_R14],
		.r15 = (uint64_t)g[REG_R15], .rip = ip, .rflags = (uint64_t)g[REG_EFL],
		.xstate = (uintptr_t)uc->uc_mcontext.fpregs, .xsize = frame_xsize(uc->uc_mcontext.fpregs),
	};
	rt_preempted(i, &c, true); // returns if the thread may not leave now: it goes on
}

static void *vcpu_thread(void *arg)
{
	int i = (int)(intptr_t)arg;
	my_vcpu = i;
	stack_t ss = { .ss_sp = sched_stacks + (size_t)i * SCHED_STACK, .ss_size = SCHED_STACK };
	struct sigevent ev = { .sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIG_SLICE };
	ev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
	if (sigaltstack(&ss, NULL) != 0 || timer_create(CLOCK_MONOTONIC, &ev, &slice_timer[i]) != 0)
		plat_panic("sigaltstack or timer_create");
	rt_vcpu_main(i);
}

int plat_start_vcpus(int n)
{
	nvcpus = n;
	sched_stacks = plat_alloc((size_t)n * SCHED_STACK);
	// SA_NODEFER: a handler the runtime leaves for another thread never returns, so
	// the signal must not stay blocked.
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER };
	struct sigaction ss = { .sa_sigaction = on_slice, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER | SA_RESTART };
	if (!sched_stacks || sigaction(SIGSEGV, &sa, NULL) != 0 || sigaction(SIG_SLICE, &ss, NULL) != 0)
		return -1;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	for (int i = 0; i < n; i++) {
		if (pthread_create(&threads[i], NULL, vcpu_thread, (void *)(intptr_t)i) != 0)
			return -1;
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(i % (ncpu > 0 ? ncpu : 1), &set);
		pthread_setaffinity_np(threads[i], sizeof set, &set);
	}
	return 0;
}

void plat_wait_vcpus(void)
{
	for (int i = 0; i < nvcpus; i++)
		pthread_join(threads[i], NULL);
}
