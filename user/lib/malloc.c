// malloc.c: malloc, free, calloc, realloc on pg_va_alloc (pagoda.h), in the manner of
// FFmalloc (Wickman et al., USENIX Security 2021): an address is used once. Owns the
// size classes' current runs. Small objects are cut in order from 64 KiB runs, one
// size class per run; a run counts its live objects and is unmapped (one lazy unmap,
// no IPI) when the last one is freed, so a free makes no system call but for the
// last object of a run. Nothing is reused, so there is no free list to corrupt, and
// every object is fresh zeroed memory (calloc needs no memset).
#include <stdatomic.h>
#include <stdbool.h>

#include "pagoda.h"

#define RUN        (64 * 1024UL) // a run's VA, mapped whole; aligned to its size
#define RUN_MAGIC  0x6e75722067706170ULL // "papg run"
#define BIG_MAGIC  0x6769622067706170ULL // "papg big"
#define DEAD_MAGIC 0x6461656467706170ULL // a big range being given back
#define BIG_OFF    64                    // a big object's offset in its range
#define NCLASSES   24

// The header at the start of every run and big range (whose pointer p has its header
// at p & ~(RUN - 1): runs are RUN-aligned, big ranges too, their object at BIG_OFF).
struct run {
	_Atomic uint64_t magic;
	uint64_t len;              // big: the range's length
	uint32_t size, nobj;       // small: object size, objects in the run
	_Atomic uint32_t live;     // objects not freed, +1 while the run is its class's current
	_Atomic uint64_t bits[64]; // bit i: object i handed out and not freed
};
#define OBJ0 ((sizeof(struct run) + 15) & ~15UL) // the first object's offset
_Static_assert((RUN - OBJ0) / 16 <= 64 * 64, "a run's bitmap holds its smallest objects");

// lock protects: cur, next (free touches only the run's atomics).
struct klass {
	volatile uint32_t lock;
	uint32_t next;  // the next object of cur to hand out
	struct run *cur;
} __attribute__((aligned(64)));
static struct klass classes[NCLASSES];

// Sizes 16, 32, .. 128, then four classes per power of two up to 2048 (waste < 25%).
static unsigned class_of(size_t n)
{
	if (n <= 128)
		return n ? (unsigned)((n + 15) / 16 - 1) : 0;
	unsigned b = 63 - (unsigned)__builtin_clzl(n - 1); // 2^b < n <= 2^(b+1), b in 7..10
	size_t step = 1UL << (b - 2);
	return 8 + (b - 7) * 4 + (unsigned)((n - (1UL << b) + step - 1) / step) - 1;
}

static uint32_t class_size(unsigned c)
{
	if (c < 8)
		return 16 * (c + 1);
	unsigned b = 7 + (c - 8) / 4;
	return (uint32_t)((1UL << b) + ((c - 8) % 4 + 1) * (1UL << (b - 2)));
}

static struct run *header(const void *p) { return (struct run *)((uintptr_t)p & ~(RUN - 1)); }

// A fresh RUN-aligned range of len bytes, mapped; NULL when out of VA or memory.
static struct run *range_new(size_t len)
{
	long va = pg_va_alloc(len, RUN);
	if (va < 0)
		return NULL;
	if (pg_va_map((uintptr_t)va, len) != E_OK) {
		pg_va_free_unmapped((uintptr_t)va, len);
		return NULL;
	}
	return (struct run *)va;
}

// A fresh run of class c, held once (as its class's current run); NULL when out of VA
// or memory.
static struct run *run_new(unsigned c)
{
	struct run *r = range_new(RUN);
	if (!r)
		return NULL;
	r->size = class_size(c);
	r->nobj = (uint32_t)((RUN - OBJ0) / r->size);
	atomic_store_explicit(&r->live, 1, memory_order_relaxed);
	atomic_store_explicit(&r->magic, RUN_MAGIC, memory_order_release);
	return r;
}

// Drops one hold on r; the last gives the run back (its one system call).
static void run_put(struct run *r)
{
	if (atomic_fetch_sub_explicit(&r->live, 1, memory_order_acq_rel) == 1)
		pg_va_free((uintptr_t)r, RUN);
}

static bool class_full(const struct klass *k) { return !k->cur || k->next == k->cur->nobj; }

// A fresh run is made outside the class lock: making one maps memory (system calls),
// and a thread holding the lock that long, on a vcpu its host may deschedule, keeps
// every other thread of the class spinning. If another thread installed a run
// meanwhile, the spare goes back (rare: the class ran full twice at once).
static void *small_alloc(unsigned c)
{
	struct klass *k = &classes[c];
	struct run *old = NULL, *fresh = NULL;
	pg_spin_lock(&k->lock);
	if (class_full(k)) {
		pg_spin_unlock(&k->lock);
		if (!(fresh = run_new(c)))
			return NULL;
		pg_spin_lock(&k->lock);
	}
	if (fresh && class_full(k)) {
		old = k->cur; // full: its last free (or this put) gives it back
		k->cur = fresh;
		k->next = 0;
		fresh = NULL;
	}
	struct run *r = k->cur;
	uint32_t i = k->next++;
	atomic_fetch_add_explicit(&r->live, 1, memory_order_relaxed);
	atomic_fetch_or_explicit(&r->bits[i / 64], 1ULL << (i % 64), memory_order_relaxed);
	pg_spin_unlock(&k->lock);
	if (old)
		run_put(old);
	if (fresh)
		run_put(fresh); // unused: its only hold goes, and with it the run
	return (char *)r + OBJ0 + (size_t)i * r->size;
}

static void *big_alloc(size_t n)
{
	if (n > PG_VA_TOP - PG_VA_BASE)
		return NULL;
	size_t len = (BIG_OFF + n + 4095) & ~4095UL;
	struct run *r = range_new(len);
	if (!r)
		return NULL;
	r->len = len;
	atomic_store_explicit(&r->magic, BIG_MAGIC, memory_order_release);
	return (char *)r + BIG_OFF;
}

void *malloc(size_t n) { return n <= PG_MALLOC_SMALL ? small_alloc(class_of(n)) : big_alloc(n); }

static int small_free(struct run *r, const void *p)
{
	uintptr_t off = (uintptr_t)p - (uintptr_t)r - OBJ0;
	if ((uintptr_t)p < (uintptr_t)r + OBJ0 || off % r->size || off / r->size >= r->nobj)
		return E_INVAL;
	uint64_t i = off / r->size, bit = 1ULL << (i % 64);
	if (!(atomic_fetch_and_explicit(&r->bits[i / 64], ~bit, memory_order_relaxed) & bit))
		return E_NOENT; // freed already, or never handed out
	run_put(r);
	return E_OK;
}

static int big_free(struct run *r, const void *p)
{
	uint64_t want = BIG_MAGIC;
	if ((uintptr_t)p != (uintptr_t)r + BIG_OFF)
		return E_INVAL;
	if (!atomic_compare_exchange_strong(&r->magic, &want, DEAD_MAGIC))
		return E_NOENT; // another free of it is under way
	int err = pg_va_free((uintptr_t)r, r->len);
	if (err == E_NOENT || err == E_INVAL) // not our range after all: leave it as it was
		atomic_store(&r->magic, BIG_MAGIC);
	return err;
}

int pg_malloc_free(void *p)
{
	if (!p)
		return E_OK;
	struct run *r = header(p);
	uint64_t magic = atomic_load_explicit(&r->magic, memory_order_acquire);
	if (magic == RUN_MAGIC)
		return small_free(r, p);
	return magic == BIG_MAGIC ? big_free(r, p) : E_INVAL;
}

void free(void *p)
{
	if (pg_malloc_free(p) != E_OK)
		__builtin_trap(); // a bad or double free: stop here rather than run on
}

size_t pg_malloc_size(const void *p)
{
	struct run *r = header(p);
	return atomic_load(&r->magic) == RUN_MAGIC ? r->size : r->len - BIG_OFF;
}

void *calloc(size_t count, size_t size)
{
	if (size && count > (size_t)-1 / size)
		return NULL;
	return malloc(count * size); // fresh memory: already zero
}

void *realloc(void *p, size_t n)
{
	if (!p)
		return malloc(n);
	if (!n) {
		free(p);
		return NULL;
	}
	void *q = malloc(n); // never in place: an address is used once
	if (q) {
		size_t old = pg_malloc_size(p);
		memcpy(q, p, old < n ? old : n);
		free(p);
	}
	return q;
}
