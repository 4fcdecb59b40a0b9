// plat_linux.c: the runtime hosted on Linux (same rt/ source as on pagoda). vcpus are
// pthreads; SIGSEGV, on a per-thread alternate stack, plays the fault upcall; idle
// vcpus sleep on a futex used as a counting semaphore (a wake is never lost, as with
// a pagoda notification); memory is mmap'ed. Hosted, the runtime is cooperative:
// there is no preemption, because switching on a signal would need the FPU/SSE state
// saved, which struct pg_context does not hold.
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
#include "plat.h"
#include "rt.h"

#define SCHED_STACK (64 * 1024)
#define ALT_STACK   (64 * 1024)

static int nvcpus;
static pthread_t threads[64];
static char *sched_stacks;
static _Atomic int tokens; // pending wake-ups

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

uintptr_t plat_sched_stack(int i) { return (uintptr_t)sched_stacks + (uintptr_t)(i + 1) * SCHED_STACK - 64; }

static long futex(_Atomic int *w, int op, int v, const struct timespec *t)
{
	return syscall(SYS_futex, w, op, v, t, NULL, 0);
}

void plat_idle(uint64_t deadline)
{
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

void plat_slice(uint64_t ns) { (void)ns; } // cooperative when hosted (see the top)

void plat_vcpu_exit(void) { pthread_exit(NULL); }

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (rt_fault((uintptr_t)si->si_addr, 0) != RT_FAULT_UNHANDLED)
		return; // retried (hosted, a yield request is a plain retry)
	signal(sig, SIG_DFL); // unhandled: die of it
}

static void *vcpu_thread(void *arg)
{
	stack_t ss = { .ss_sp = malloc(ALT_STACK), .ss_size = ALT_STACK };
	if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0)
		plat_panic("sigaltstack");
	rt_vcpu_main((int)(intptr_t)arg);
}

int plat_start_vcpus(int n)
{
	nvcpus = n;
	sched_stacks = plat_alloc((size_t)n * SCHED_STACK);
	struct sigaction sa = { .sa_sigaction = on_segv, .sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER };
	if (!sched_stacks || sigaction(SIGSEGV, &sa, NULL) != 0)
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
