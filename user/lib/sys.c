// sys.c: libpagoda's typed system-call wrappers, one per SYS_* in include/pagoda/abi.h.
// Owns only argument marshalling: each wrapper widens its arguments to registers and
// narrows the result; all checking is the kernel's.
#include "pagoda.h"
#include "syscall.h"

_Static_assert(SYS_COUNT == 24, "abi.h changed: add or update the wrappers in sys.c");

int pg_debug_write(const char *s, size_t len)
{
	return (int)pg_syscall2(SYS_DEBUG_WRITE, (long)s, (long)len);
}

void pg_exit(int status)
{
	pg_syscall1(SYS_VCPU_STOP, status);
	__builtin_trap(); // SYS_VCPU_STOP returned: fault loudly rather than run on
}

int pg_yield(void)
{
	return (int)pg_syscall0(SYS_VCPU_YIELD);
}

int pg_cpu_id(void)
{
	return (int)pg_syscall0(SYS_CPU_ID);
}

uint64_t pg_clock_ns(void)
{
	return (uint64_t)pg_syscall0(SYS_CLOCK_NS);
}

handle_t pg_space_create(void)
{
	return (handle_t)pg_syscall0(SYS_SPACE_CREATE);
}

int pg_space_delete(handle_t space)
{
	return (int)pg_syscall1(SYS_SPACE_DELETE, space);
}

int pg_space_stats(handle_t space, struct space_stats *out)
{
	return (int)pg_syscall2(SYS_SPACE_STATS, space, (long)out);
}

handle_t pg_mem_create(size_t size)
{
	return (handle_t)pg_syscall1(SYS_MEM_CREATE, (long)size);
}

long pg_mem_size(handle_t mem)
{
	return pg_syscall1(SYS_MEM_SIZE, mem);
}

int pg_map(handle_t space, uintptr_t va, handle_t mem, size_t off, size_t len, unsigned prot)
{
	return (int)pg_syscall6(SYS_MAP, space, (long)va, mem, (long)off, (long)len, prot);
}

int pg_unmap(handle_t space, uintptr_t va, size_t len, unsigned flags)
{
	return (int)pg_syscall4(SYS_UNMAP, space, (long)va, (long)len, flags);
}

int pg_protect(handle_t space, uintptr_t va, size_t len, unsigned prot)
{
	return (int)pg_syscall4(SYS_PROTECT, space, (long)va, (long)len, prot);
}

handle_t pg_handle_dup(handle_t h, unsigned rights)
{
	return (handle_t)pg_syscall2(SYS_HANDLE_DUP, h, rights);
}

int pg_handle_close(handle_t h)
{
	return (int)pg_syscall1(SYS_HANDLE_CLOSE, h);
}

handle_t pg_handle_transfer(handle_t h, handle_t space)
{
	return (handle_t)pg_syscall2(SYS_HANDLE_TRANSFER, h, space);
}

int pg_vcpu_create(handle_t space, uintptr_t entry, uintptr_t upcall_stack, uint64_t arg, int cpu)
{
	return (int)pg_syscall5(SYS_VCPU_CREATE, space, (long)entry, (long)upcall_stack, (long)arg, cpu);
}

int pg_vcpu_timer(uint64_t ns)
{
	return (int)pg_syscall1(SYS_VCPU_TIMER, (long)ns);
}

handle_t pg_notify_create(void)
{
	return (handle_t)pg_syscall0(SYS_NOTIFY_CREATE);
}

int pg_notify_signal(handle_t n, uint64_t bits)
{
	return (int)pg_syscall2(SYS_NOTIFY_SIGNAL, n, (long)bits);
}

long pg_notify_wait(handle_t n)
{
	return pg_syscall1(SYS_NOTIFY_WAIT, n);
}

int pg_cpu_count(void)
{
	return (int)pg_syscall0(SYS_CPU_COUNT);
}

long pg_cpu_tlb_ipis(int cpu)
{
	return pg_syscall1(SYS_CPU_TLB_IPIS, cpu);
}

int pg_set_budget(handle_t space, uint64_t ipis_per_tick)
{
	return (int)pg_syscall2(SYS_SET_BUDGET, space, (long)ipis_per_tick);
}
