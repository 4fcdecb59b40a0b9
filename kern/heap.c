// heap.c: the kernel heap's allocator logic: size-class pages for small objects,
// first-fit page runs (split on take, merged on free) for large ones, all carved
// from pages a grow callback supplies and never gives back. Misuse is reported
// through the corrupt callback. Callers lock; see heap.h for the invariants.
#include "kern/heap.h"

#define PAGE_MASK ((uintptr_t)HEAP_PAGE - 1)

#define CLASS_MAGIC 0x70676863u  // "pghc": page belongs to a size class
#define RUN_MAGIC   0x70676872u  // "pghr": page starts a page run
#define RUN_USED    0x75736564u
#define RUN_FREE    0x66726565u
#define FREE_TAG    0x5a17c0ffee5a17c0ull

// Header at the start of every class page. Objects start at offset class size,
// so it must fit in the smallest class.
struct class_page {
	uint32_t magic;  // CLASS_MAGIC
	uint32_t cls;    // index into heap.cls
	uint64_t check;  // seal(page, magic, cls): a stray pointer's page rarely passes
};

// Header at the start of every page run; the caller's memory follows it.
struct heap_run {
	uint32_t magic;         // RUN_MAGIC
	uint32_t state;         // RUN_USED or RUN_FREE
	uint64_t npages;        // run length, header page included
	struct heap_run *next;  // next free run (higher address), when free
	uint64_t check;         // seal(run, magic ^ state, npages)
};

_Static_assert(sizeof(struct class_page) <= HEAP_MIN_CLASS, "class header must fit the first slot");
_Static_assert(sizeof(struct heap_run) == HEAP_RUN_HDR, "run header size is part of the API");
_Static_assert((HEAP_MIN_CLASS << (HEAP_NCLASSES - 1)) == HEAP_MAX_SMALL, "class table mismatch");

// --- helpers ---

// Mixes a header's address and fields, so a header copied elsewhere or
// half-overwritten (or plain user data) fails the check.
static uint64_t seal(uintptr_t addr, uint64_t a, uint64_t b)
{
	uint64_t x = (uint64_t)addr ^ (a << 32) ^ b ^ 0x9e3779b97f4a7c15ull;
	x ^= x >> 31;
	x *= 0xbf58476d1ce4e5b9ull;
	return x ^ (x >> 29);
}

static void report(struct heap *h, const void *p, const char *what)
{
	if (h->corrupt)
		h->corrupt(h->ctx, p, what);
}

// Fills n bytes at p (8-aligned, n a multiple of 8) with byte b, a word at a time.
static void fill(uintptr_t p, size_t n, uint8_t b)
{
	uint64_t pat = b * 0x0101010101010101ull;
	uint64_t *w = (uint64_t *)p;
	for (size_t i = 0; i < n / 8; i++)
		w[i] = pat;
}

// True when n bytes at p (8-aligned, n a multiple of 8) all equal b.
static bool filled(uintptr_t p, size_t n, uint8_t b)
{
	uint64_t pat = b * 0x0101010101010101ull;
	const uint64_t *w = (const uint64_t *)p;
	for (size_t i = 0; i < n / 8; i++)
		if (w[i] != pat)
			return false;
	return true;
}

static size_t class_size(unsigned i)
{
	return (size_t)HEAP_MIN_CLASS << i;
}

// Smallest class holding n bytes, 0 < n <= HEAP_MAX_SMALL.
static unsigned class_for(size_t n)
{
	unsigned i = 0;
	while (class_size(i) < n)
		i++;
	return i;
}

// --- class pages ---

// The class page holding address a, or NULL when a's page is not one.
static struct class_page *class_page_of(uintptr_t a)
{
	struct class_page *cp = (struct class_page *)(a & ~PAGE_MASK);
	if (cp->magic != CLASS_MAGIC || cp->cls >= HEAP_NCLASSES ||
	    cp->check != seal((uintptr_t)cp, CLASS_MAGIC, cp->cls))
		return NULL;
	return cp;
}

// Why a is not an object of class i that the heap may have handed out, or NULL if it is.
static const char *object_problem(const struct heap *h, unsigned i, uintptr_t a)
{
	// Checked before the header is read, so an obviously bad link is not followed.
	if (a & (HEAP_MIN_CLASS - 1))
		return "bad pointer (misaligned)";
	struct class_page *cp = class_page_of(a);
	if (!cp || cp->cls != i)
		return "bad pointer (not a heap object)";
	size_t off = a & PAGE_MASK, size = class_size(i);
	if (off < size || off % size != 0)
		return "bad pointer (misaligned in class page)";
	const struct heap_class *c = &h->cls[i];
	if (c->bump_end && (a & ~PAGE_MASK) == c->bump_end - HEAP_PAGE && a >= c->bump)
		return "bad pointer (never allocated)";
	return NULL;
}

static uint64_t free_tag(uintptr_t obj)
{
	return FREE_TAG ^ (uint64_t)obj;
}

// True when obj is on class c's free list. Only called when obj carries the free
// tag, which live data almost never does, so the walk stays off the common path.
// Bounded by nfree in case the list has been damaged into a cycle.
static bool on_free_list(const struct heap_class *c, uintptr_t obj)
{
	uintptr_t o = (uintptr_t)c->free;
	for (size_t k = 0; o && k < c->nfree; k++) {
		if (o == obj)
			return true;
		o = ((const uint64_t *)o)[0];
	}
	return false;
}

// --- page runs ---

static void run_seal(struct heap_run *r)
{
	r->check = seal((uintptr_t)r, r->magic ^ r->state, r->npages);
}

static bool run_valid(const struct heap_run *r)
{
	return r->magic == RUN_MAGIC && (r->state == RUN_USED || r->state == RUN_FREE) &&
	       r->npages != 0 && r->check == seal((uintptr_t)r, r->magic ^ r->state, r->npages);
}

static uintptr_t run_end(const struct heap_run *r)
{
	return (uintptr_t)r + r->npages * HEAP_PAGE;
}

// True when free run r may be trusted as a list member: its header is intact and
// its link points strictly above it, which also rules out cycles.
static bool free_run_ok(const struct heap_run *r)
{
	return run_valid(r) && r->state == RUN_FREE &&
	       (r->next == NULL || (uintptr_t)r->next >= run_end(r));
}

// Reports a damaged free run list and drops everything from *link on: the pages
// leak, but the heap never builds on a header it cannot trust.
static void drop_runs(struct heap *h, struct heap_run **link)
{
	report(h, *link, "free run list corrupt");
	*link = NULL;
}

// With poison on, reports (naming what) if the free memory [p, p+n) was written after free.
static void check_freed(struct heap *h, uintptr_t what, uintptr_t p, size_t n)
{
	if (h->poison && !filled(p, n, HEAP_POISON_FREE))
		report(h, (const void *)what, "use after free");
}

// Takes need pages from the first free run large enough, from its top end so the
// run's header stays put. Returns their address, or 0 when no run fits.
static uintptr_t take_from_runs(struct heap *h, size_t need)
{
	for (struct heap_run **link = &h->runs; *link; link = &(*link)->next) {
		struct heap_run *r = *link;
		if (!free_run_ok(r)) {
			drop_runs(h, link);
			return 0;
		}
		if (r->npages < need)
			continue;
		if (r->npages == need) {
			*link = r->next;
			check_freed(h, (uintptr_t)r, (uintptr_t)r + HEAP_RUN_HDR, need * HEAP_PAGE - HEAP_RUN_HDR);
			return (uintptr_t)r;
		}
		r->npages -= need;
		run_seal(r);
		uintptr_t base = run_end(r);
		check_freed(h, base, base, need * HEAP_PAGE);
		return base;
	}
	return 0;
}

// need pages for a class page or a run: reused free pages first, grow otherwise.
// Returns 0 when grow fails, with nothing changed.
static uintptr_t take_pages(struct heap *h, size_t need)
{
	uintptr_t base = take_from_runs(h, need);
	if (base)
		return base;
	void *m = h->grow(h->ctx, need);
	if (!m)
		return 0;
	h->pages += need;
	// Headers are found by masking pointers down to their page: a misaligned
	// block would break that, so it is reported and left unused.
	if ((uintptr_t)m & PAGE_MASK) {
		report(h, m, "grow returned unaligned memory");
		return 0;
	}
	return (uintptr_t)m;
}

// Turns an absorbed neighbour's header into plain free memory, so nothing mistakes
// it for a run later and (with poison) the run is uniformly poisoned.
static void wipe_header(struct heap *h, struct heap_run *r)
{
	fill((uintptr_t)r, HEAP_RUN_HDR, h->poison ? HEAP_POISON_FREE : 0);
}

// Links free run r into the address-ordered list, merging it with the runs just
// below and above when they touch, so later large requests find long runs.
static void insert_run(struct heap *h, struct heap_run *r)
{
	struct heap_run **link = &h->runs, *prev = NULL;
	while (*link && (uintptr_t)*link < (uintptr_t)r) {
		if (!free_run_ok(*link)) {
			drop_runs(h, link);
			break;
		}
		prev = *link;
		link = &prev->next;
	}
	struct heap_run *next = *link;
	if (next && !free_run_ok(next)) {
		drop_runs(h, link);
		next = NULL;
	}
	if (prev && run_end(prev) == (uintptr_t)r) {
		prev->npages += r->npages;
		wipe_header(h, r);
		r = prev;
	} else {
		r->next = next;
		*link = r;
	}
	if (next && run_end(r) == (uintptr_t)next) {
		r->npages += next->npages;
		r->next = next->next;
		wipe_header(h, next);
	}
	run_seal(r);
}

// --- allocation ---

// Starts a new page for class i. False when no page could be had.
static bool class_grow(struct heap *h, unsigned i)
{
	uintptr_t page = take_pages(h, 1);
	if (!page)
		return false;
	struct class_page *cp = (struct class_page *)page;
	cp->magic = CLASS_MAGIC;
	cp->cls = i;
	cp->check = seal(page, CLASS_MAGIC, i);
	h->cls[i].bump = page + class_size(i);
	h->cls[i].bump_end = page + HEAP_PAGE;
	return true;
}

// Pops class i's free list, checking the object was left alone since its free.
static uintptr_t pop_free(struct heap *h, unsigned i)
{
	struct heap_class *c = &h->cls[i];
	uintptr_t obj = (uintptr_t)c->free;
	uint64_t *w = (uint64_t *)obj;
	uintptr_t next = (uintptr_t)w[0];
	if (w[1] != free_tag(obj) || next == obj || (next && object_problem(h, i, next))) {
		// The link cannot be trusted: drop the rest of the list (it leaks).
		report(h, (const void *)obj, "free list corrupt");
		c->free = NULL;
		c->nfree = 0;
		return obj;  // obj itself was vetted when it was freed
	}
	c->free = (void *)next;
	c->nfree--;
	check_freed(h, obj, obj + 2 * sizeof(uint64_t), class_size(i) - 2 * sizeof(uint64_t));
	return obj;
}

static void *small_alloc(struct heap *h, size_t n)
{
	unsigned i = class_for(n);
	struct heap_class *c = &h->cls[i];
	size_t size = class_size(i);
	uintptr_t obj;
	if (c->free) {
		obj = pop_free(h, i);
	} else {
		if (c->bump == c->bump_end && !class_grow(h, i))
			return NULL;
		obj = c->bump;
		c->bump += size;
	}
	uint64_t *w = (uint64_t *)obj;
	// Clear the link and tag so stale heap pointers do not leak to the caller
	// and a later free does not take the slow double-free check.
	w[0] = 0;
	w[1] = 0;
	if (h->poison)
		fill(obj, size, HEAP_POISON_FRESH);
	h->in_use += size;
	return (void *)obj;
}

static void *large_alloc(struct heap *h, size_t n)
{
	if (n > SIZE_MAX - HEAP_RUN_HDR - (HEAP_PAGE - 1))
		return NULL;
	size_t need = (n + HEAP_RUN_HDR + HEAP_PAGE - 1) / HEAP_PAGE;
	uintptr_t base = take_pages(h, need);
	if (!base)
		return NULL;
	struct heap_run *r = (struct heap_run *)base;
	r->magic = RUN_MAGIC;
	r->state = RUN_USED;
	r->npages = need;
	r->next = NULL;
	run_seal(r);
	uintptr_t p = base + HEAP_RUN_HDR;
	if (h->poison)
		fill(p, need * HEAP_PAGE - HEAP_RUN_HDR, HEAP_POISON_FRESH);
	h->in_use += need * HEAP_PAGE;
	return (void *)p;
}

// --- free ---

static void small_free(struct heap *h, struct class_page *cp, uintptr_t a)
{
	unsigned i = cp->cls;
	const char *why = object_problem(h, i, a);
	if (why) {
		report(h, (const void *)a, why);
		return;
	}
	struct heap_class *c = &h->cls[i];
	uint64_t *w = (uint64_t *)a;
	if (w[1] == free_tag(a) && on_free_list(c, a)) {
		report(h, (const void *)a, "double free");
		return;
	}
	size_t size = class_size(i);
	if (h->poison)
		fill(a + 2 * sizeof(uint64_t), size - 2 * sizeof(uint64_t), HEAP_POISON_FREE);
	w[0] = (uint64_t)(uintptr_t)c->free;
	w[1] = free_tag(a);
	c->free = (void *)a;
	c->nfree++;
	h->in_use -= size;
}

static void large_free(struct heap *h, struct heap_run *r, uintptr_t a)
{
	if (a != (uintptr_t)r + HEAP_RUN_HDR) {
		report(h, (const void *)a, "bad pointer (inside a page run)");
		return;
	}
	if (r->state == RUN_FREE) {
		report(h, (const void *)a, "double free");
		return;
	}
	size_t bytes = r->npages * HEAP_PAGE;
	if (h->poison)
		fill(a, bytes - HEAP_RUN_HDR, HEAP_POISON_FREE);
	h->in_use -= bytes;
	r->state = RUN_FREE;
	insert_run(h, r);
}

// --- public ---

void heap_init(struct heap *h, heap_grow_fn grow, heap_corrupt_fn corrupt, void *ctx, bool poison)
{
	h->grow = grow;
	h->corrupt = corrupt;
	h->ctx = ctx;
	h->poison = poison;
	for (unsigned i = 0; i < HEAP_NCLASSES; i++) {
		h->cls[i].free = NULL;
		h->cls[i].nfree = 0;
		h->cls[i].bump = 0;
		h->cls[i].bump_end = 0;
	}
	h->runs = NULL;
	h->in_use = 0;
	h->pages = 0;
}

size_t heap_grow_pages(size_t n)
{
	if (n == 0)
		return 0; // never allocated
	if (n <= HEAP_MAX_SMALL)
		return 1; // a class page
	size_t c = heap_cost(n);
	return c == SIZE_MAX ? 0 : c / HEAP_PAGE;
}

void heap_add_pages(struct heap *h, void *p, size_t npages)
{
	if (npages == 0)
		return;
	if ((uintptr_t)p & PAGE_MASK) {
		report(h, p, "added memory is unaligned");
		return;
	}
	h->pages += npages;
	struct heap_run *r = (struct heap_run *)p;
	if (h->poison)
		fill((uintptr_t)p + HEAP_RUN_HDR, npages * HEAP_PAGE - HEAP_RUN_HDR, HEAP_POISON_FREE);
	r->magic = RUN_MAGIC;
	r->state = RUN_FREE;
	r->npages = npages;
	r->next = NULL;
	insert_run(h, r);
}

size_t heap_cost(size_t n)
{
	if (n == 0)
		return 0;
	if (n <= HEAP_MAX_SMALL)
		return class_size(class_for(n));
	if (n > SIZE_MAX - HEAP_RUN_HDR - (HEAP_PAGE - 1))
		return SIZE_MAX; // large_alloc refuses it
	return (n + HEAP_RUN_HDR + HEAP_PAGE - 1) / HEAP_PAGE * HEAP_PAGE;
}

void *heap_alloc(struct heap *h, size_t n)
{
	if (n == 0)
		return NULL;
	if (n <= HEAP_MAX_SMALL)
		return small_alloc(h, n);
	return large_alloc(h, n);
}

void heap_free(struct heap *h, void *p)
{
	if (!p)
		return;
	uintptr_t a = (uintptr_t)p;
	if (a & (HEAP_MIN_CLASS - 1)) {
		report(h, p, "bad pointer (misaligned)");
		return;
	}
	// Every pointer handed out lies in the first page of its class page or run,
	// whose header says which kind it is.
	struct class_page *cp = class_page_of(a);
	if (cp) {
		small_free(h, cp, a);
		return;
	}
	struct heap_run *r = (struct heap_run *)(a & ~PAGE_MASK);
	if (run_valid(r)) {
		large_free(h, r, a);
		return;
	}
	report(h, p, "bad pointer (not a heap object)");
}

size_t heap_in_use(const struct heap *h)
{
	return h->in_use;
}

size_t heap_pages(const struct heap *h)
{
	return h->pages;
}
