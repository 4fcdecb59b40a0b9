// va.c: libpagoda's VA allocator, pg_va_alloc / pg_va_free (pagoda.h): fresh
// addresses from [PG_VA_BASE, PG_VA_TOP), each handed out once in the life of the
// space. Owns the allocator's lock, the memory behind its table (vacore.c keeps the
// books) and the count of system calls it and malloc.c make. A freed range is
// unmapped lazily (UNMAP_LAZY: no IPI); as its VA is never handed out again, no
// stale TLB entry can ever be read through a new object.
#include <stdatomic.h>

#include "pagoda.h"
#include "vacore.h"

// The table's VA: the first PG_VA_TABLE bytes of the region, room for 2^28 slots.
#define PG_VA_TABLE (4UL << 30)
_Static_assert(PG_VA_TOP <= PG_SPAWN_SCRATCH && PG_VA_BASE + PG_VA_TABLE < PG_VA_TOP, "VA layout");

// lock protects: core (every field), inited.   syscalls: atomic.
static volatile uint32_t lock;
static struct va_core core;
static int inited;
static _Atomic uint64_t syscalls;

static void (*hook_enter)(void), (*hook_leave)(void);

void pg_set_lock_hooks(void (*enter)(void), void (*leave)(void))
{
	hook_enter = enter;
	hook_leave = leave;
}

// No `pause` in the spin: under QEMU's TCG it costs more than the wait (rt.c).
void pg_spin_lock(volatile uint32_t *l)
{
	if (hook_enter)
		hook_enter();
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (*l)
			__asm__ volatile("" ::: "memory");
}

void pg_spin_unlock(volatile uint32_t *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
	if (hook_leave)
		hook_leave();
}

static void va_lock(void) { pg_spin_lock(&lock); }
static void va_unlock(void) { pg_spin_unlock(&lock); }

static long counted(long r)
{
	atomic_fetch_add_explicit(&syscalls, 1, memory_order_relaxed);
	return r;
}

int pg_va_map(uintptr_t va, size_t len)
{
	handle_t m = (handle_t)counted(pg_mem_create(len));
	if (m < 0)
		return m;
	int err = (int)counted(pg_map(H_SELF, va, m, 0, len, PROT_READ | PROT_WRITE));
	counted(pg_handle_close(m)); // the mapping holds the memory
	return err;
}

static int grow_table(void *ctx, uintptr_t at, uint64_t bytes)
{
	(void)ctx;
	return pg_va_map(at, bytes);
}

// Caller holds lock.
static struct va_core *core_locked(void)
{
	if (!inited) {
		va_core_init(&core, PG_VA_BASE + PG_VA_TABLE, PG_VA_TOP, PG_VA_BASE, PG_VA_TABLE, grow_table, NULL);
		inited = 1;
	}
	return &core;
}

long pg_va_alloc(size_t len, size_t align)
{
	uint64_t va = 0;
	va_lock();
	int err = va_core_alloc(core_locked(), len, align, &va);
	va_unlock();
	return err == E_OK ? (long)va : err; // below 2^47: never negative
}

// Lazily unmaps whatever is mapped in [va, va + len): one call when it is mapped
// whole or not at all; where a call finds a hole (E_NOENT) the halves are tried in
// turn, so k mapped pieces cost O(k log(len / page)) calls.
static int unmap_lazy_all(uintptr_t va, size_t len)
{
	int err = (int)counted(pg_unmap(H_SELF, va, len, UNMAP_LAZY));
	if (err != E_NOENT)
		return err;
	if (len == VA_PAGE)
		return E_OK; // nothing was mapped here
	size_t half = len / VA_PAGE / 2 * VA_PAGE;
	int e1 = unmap_lazy_all(va, half), e2 = unmap_lazy_all(va + half, len - half);
	return e1 != E_OK ? e1 : e2;
}

// The books first: a bad free is refused before anything is unmapped.
static int forget(uintptr_t va, size_t len, uint64_t *rounded)
{
	va_lock();
	int err = va_core_free(core_locked(), va, len, rounded);
	va_unlock();
	return err;
}

int pg_va_free(uintptr_t va, size_t len)
{
	uint64_t rounded;
	int err = forget(va, len, &rounded);
	return err != E_OK ? err : unmap_lazy_all(va, rounded);
}

int pg_va_free_unmapped(uintptr_t va, size_t len) { return forget(va, len, NULL); }

long pg_va_len(uintptr_t va)
{
	va_lock();
	long n = (long)va_core_len(core_locked(), va);
	va_unlock();
	return n;
}

void pg_va_get_stats(struct pg_va_stats *out)
{
	va_lock();
	struct va_core *c = core_locked();
	*out = (struct pg_va_stats){ .live = c->live, .allocs = c->allocs, .frees = c->frees,
				     .bytes = va_core_bytes(c), .compactions = c->compactions,
				     .spent = c->next - c->base, .left = c->top - c->next };
	va_unlock();
	out->syscalls = atomic_load_explicit(&syscalls, memory_order_relaxed);
}

uint64_t pg_va_syscalls(void) { return atomic_load_explicit(&syscalls, memory_order_relaxed); }

int pg_va_test_shrink(size_t left)
{
	va_lock();
	int err = va_core_shrink(core_locked(), left);
	va_unlock();
	return err;
}
