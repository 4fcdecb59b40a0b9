// frame.c: physical frames. Wraps the bitmap pool (fpool.c) with a lock, and hands out
// frames from a bump allocator until the bitmap itself has been allocated.
#include "kern/finject.h"
#include "kern/frame.h"
#include "kern/fpool.h"
#include "kern/kva.h"
#include "kern/kwin.h"
#include "kern/spinlock.h"
#include "kern/panic.h"
#include "kern/console.h"
#include "include/pagoda/errors.h"

#define MAX_RANGES 64
#define PFN(pa) ((pa) >> 12)

// lock protects: pool, the bump cursor (early), ready.
static struct spinlock frame_lock = SPINLOCK_INIT("frame");
static struct fpool pool GUARDED_BY(frame_lock);
static bool ready GUARDED_BY(frame_lock);
static struct mrange ranges[MAX_RANGES]; // usable RAM, written once at boot
static size_t nranges;                   // written once at boot
static size_t bump_range GUARDED_BY(frame_lock);  // early: range being consumed
static uint64_t bump_next GUARDED_BY(frame_lock); // early: next frame in it
static uint64_t usable_frames;           // written once in frame_init, before any reader

// Boot, one CPU, before any frame is allocated: nothing to lock against.
void frame_early_init(const struct mrange *usable, size_t n) NO_LOCK_ANALYSIS
{
	KASSERT(n <= MAX_RANGES && n > 0);
	for (size_t i = 0; i < n; i++)
		ranges[i] = usable[i];
	nranges = n;
	bump_next = ranges[0].base;
}

static int bump_alloc_locked(uint64_t *pa) REQUIRES(frame_lock)
{
	spin_assert_held(&frame_lock);
	while (bump_range < nranges) {
		struct mrange *r = &ranges[bump_range];
		if (bump_next < r->base + r->len) {
			*pa = bump_next;
			bump_next += 4096;
			return E_OK;
		}
		if (++bump_range < nranges)
			bump_next = ranges[bump_range].base;
	}
	return E_NOMEM;
}

// Frees every usable frame into the pool, then takes back what the bump handed out.
static void pool_fill_locked(void) REQUIRES(frame_lock)
{
	spin_assert_held(&frame_lock);
	for (size_t i = 0; i < nranges; i++) {
		usable_frames += fpool_add_range(&pool, PFN(ranges[i].base), PFN(ranges[i].len));
		uint64_t used_end = i < bump_range ? ranges[i].base + ranges[i].len
			          : i == bump_range ? bump_next : ranges[i].base;
		fpool_reserve_range(&pool, PFN(ranges[i].base), PFN(used_end - ranges[i].base));
	}
}

void frame_init(void)
{
	uint64_t top = ranges[nranges - 1].base + ranges[nranges - 1].len;
	size_t bytes = fpool_bitmap_bytes(PFN(top));
	void *bits = kva_alloc((bytes + 4095) / 4096); // comes from the bump allocator
	if (!bits)
		panic("no memory for the frame bitmap (%zu bytes)", bytes);
	spin_lock(&frame_lock);
	fpool_init(&pool, bits, PFN(top));
	pool_fill_locked();
	ready = true;
	uint64_t nfree = pool.nfree;
	spin_unlock(&frame_lock);
	kprintf("frames: %lu usable, %lu free, highest %#lx, bitmap %zu KiB\n",
		usable_frames, nfree, frame_highest_usable(), bytes / 1024);
}

int frame_alloc(uint64_t *pa)
{
	uint64_t pfn;
	int err;
	if (finject_fail())
		return E_NOMEM;
	spin_lock(&frame_lock);
	if (!ready)
		err = bump_alloc_locked(pa);
	else if ((err = fpool_alloc(&pool, &pfn)) == E_OK)
		*pa = pfn << 12;
	spin_unlock(&frame_lock);
	return err;
}

int frame_alloc_zeroed(uint64_t *pa)
{
	int err = frame_alloc(pa);
	if (err == E_OK)
		kwin_zero_frame(*pa);
	return err;
}

void frame_free(uint64_t pa)
{
	spin_lock(&frame_lock);
	// Before the pool exists a frame can only go back on an error path at boot; the
	// bump cursor already passed it, so pool_fill_locked() will count it used.
	int err = ready ? fpool_free(&pool, PFN(pa)) : E_OK;
	spin_unlock(&frame_lock);
	if (err != E_OK)
		panic("frame_free(%#lx): %d (double free or not a frame)", pa, err);
}

int frame_claim(uint64_t pa)
{
	spin_lock(&frame_lock);
	uint64_t got = ready ? fpool_reserve_range(&pool, PFN(pa), 1) : 0;
	spin_unlock(&frame_lock);
	return got == 1 ? E_OK : E_BUSY;
}

uint64_t frame_free_count(void)
{
	spin_lock(&frame_lock);
	uint64_t n = ready ? pool.nfree : 0;
	spin_unlock(&frame_lock);
	return n;
}

uint64_t frame_usable_count(void) { return usable_frames; }
uint64_t frame_highest_usable(void) { return ranges[nranges - 1].base + ranges[nranges - 1].len - 4096; }
