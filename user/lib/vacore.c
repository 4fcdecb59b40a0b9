// vacore.c: the VA allocator's bookkeeping (vacore.h): the bump pointer and the
// sorted table of live ranges. No system call and no lock: va.c holds its lock around
// every call, and the host test drives it with a fake backend.
#include "vacore.h"
#include "include/pagoda/errors.h"

#define VA_ALIGN_MAX (1ULL << 46)

void va_core_init(struct va_core *c, uint64_t base, uint64_t top, uintptr_t table,
		  uint64_t table_bytes, int (*grow)(void *, uintptr_t, uint64_t), void *ctx)
{
	*c = (struct va_core){ .base = base, .next = base, .top = top, .t = (struct va_slot *)table,
			       .cap_max = table_bytes / sizeof(struct va_slot), .grow = grow, .ctx = ctx };
}

// Squeezes the tombstones out, keeping the order.
static void compact(struct va_core *c)
{
	uint64_t k = 0;
	for (uint64_t i = 0; i < c->n; i++)
		if (c->t[i].len)
			c->t[k++] = c->t[i];
	c->n = k;
	c->compactions++;
}

// Room for one more slot: compact when a quarter is tombstones, else back more of
// the table (an eighth more, at least a page). E_OK or E_NOMEM; nothing lost either way.
static int make_room(struct va_core *c)
{
	if (c->n < c->cap)
		return E_OK;
	uint64_t dead = c->n - c->live;
	if (dead && (dead >= c->n / 4 || c->cap == c->cap_max)) {
		compact(c);
		return E_OK;
	}
	uint64_t per_page = VA_PAGE / sizeof(struct va_slot);
	uint64_t more = (c->cap / 8 + per_page - 1) / per_page * per_page;
	if (more < per_page)
		more = per_page;
	if (more > c->cap_max - c->cap)
		more = c->cap_max - c->cap;
	if (!more)
		return E_NOMEM;
	if (c->grow(c->ctx, (uintptr_t)(c->t + c->cap), more * sizeof(struct va_slot)) != E_OK)
		return E_NOMEM;
	c->cap += more;
	return E_OK;
}

int va_core_alloc(struct va_core *c, uint64_t len, uint64_t align, uint64_t *out)
{
	if (!len || (align & (align - 1)) || align > VA_ALIGN_MAX)
		return E_INVAL;
	if (len > c->top - c->base)
		return E_RANGE; // no region this size could ever hold it
	len = (len + VA_PAGE - 1) & ~(VA_PAGE - 1);
	align = align < VA_PAGE ? VA_PAGE : align;
	uint64_t start = (c->next + align - 1) & ~(align - 1); // no overflow: next, align <= 2^47
	if (start > c->top || len > c->top - start)
		return E_NOVA;
	int err = make_room(c);
	if (err != E_OK)
		return err;
	c->t[c->n++] = (struct va_slot){ start, len };
	c->live++;
	c->allocs++;
	c->next = start + len; // the gap below start (alignment) is spent too
	*out = start;
	return E_OK;
}

// The slot whose start is va (tombstones included), or -1.
static int64_t find(const struct va_core *c, uint64_t va)
{
	uint64_t lo = 0, hi = c->n;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (c->t[mid].start < va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->n && c->t[lo].start == va ? (int64_t)lo : -1;
}

int64_t va_core_len(const struct va_core *c, uint64_t va)
{
	int64_t i = find(c, va);
	return i < 0 || !c->t[i].len ? E_NOENT : (int64_t)c->t[i].len;
}

int va_core_free(struct va_core *c, uint64_t va, uint64_t len, uint64_t *rounded)
{
	if ((va & (VA_PAGE - 1)) || !len)
		return E_INVAL;
	int64_t i = find(c, va);
	if (i < 0 || !c->t[i].len)
		return E_NOENT;
	if (len > c->t[i].len || ((len + VA_PAGE - 1) & ~(VA_PAGE - 1)) != c->t[i].len)
		return E_INVAL;
	if (rounded)
		*rounded = c->t[i].len;
	c->t[i].len = 0;
	c->live--;
	c->frees++;
	while (c->n && !c->t[c->n - 1].len) // tombstones at the end cost nothing to drop
		c->n--;
	return E_OK;
}

uint64_t va_core_bytes(const struct va_core *c) { return c->cap * sizeof(struct va_slot) + sizeof *c; }

int va_core_shrink(struct va_core *c, uint64_t left)
{
	if (left > c->top - c->next)
		return E_INVAL;
	c->top = c->next + left;
	return E_OK;
}
