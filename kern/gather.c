// gather.c: the TLB gather's bookkeeping: a range union, a batch of pieces on the
// stack (or the heap when reserved), and the one order every mapping change ends in:
// flush, then release (gather.h). Pure: what a flush or a release does is the ops'.
#include "kern/gather.h"
#include "kern/panic.h"
#include "include/pagoda/errors.h"
#include "lib/string.h"

void gather_init(struct tlb_gather *g, const struct gather_ops *ops, struct space *s,
		 struct space *payer, enum gather_mode mode)
{
	g->ops = ops;
	g->s = s;
	g->payer = payer;
	g->mode = mode;
	g->start = g->end = 0;
	g->nranges = 0;
	g->flushes = 0;
	g->piece = g->stack;
	g->npieces = 0;
	g->cap = GATHER_PIECES_ON_STACK;
	g->tables = 0;
	g->root = 0;
	g->finished = false;
}

// Keeps [va, end) apart from the ranges before it unless it touches one.
static void keep_range(struct tlb_gather *g, uintptr_t va, uintptr_t end)
{
	if (g->nranges > GATHER_RANGES)
		return; // already too many: the union is flushed
	for (uint32_t i = 0; i < g->nranges; i++) {
		struct tlb_range *r = &g->range[i];
		uintptr_t rend = r->va + r->npages * VM_PAGE;
		if (va <= rend && end >= r->va) {
			uintptr_t lo = va < r->va ? va : r->va, hi = end > rend ? end : rend;
			r->va = lo;
			r->npages = (hi - lo) / VM_PAGE;
			return;
		}
	}
	if (g->nranges < GATHER_RANGES)
		g->range[g->nranges] = (struct tlb_range){ va, (end - va) / VM_PAGE };
	g->nranges++;
}

uint32_t gather_flush_ranges(struct tlb_gather *g, const struct tlb_range **out)
{
	if (g->nranges > GATHER_RANGES) { // too many apart: their union, as one
		g->range[0] = (struct tlb_range){ g->start, (g->end - g->start) / VM_PAGE };
		g->nranges = 1;
	}
	*out = g->range;
	return g->start == g->end ? 0 : g->nranges;
}

void gather_add_range(struct tlb_gather *g, uintptr_t va, size_t npages)
{
	KASSERT(g->mode == GATHER_FLUSH && !g->finished);
	uintptr_t end = va + npages * VM_PAGE;
	if (npages == 0)
		return;
	keep_range(g, va, end);
	if (g->start == g->end) {
		g->start = va;
		g->end = end;
		return;
	}
	if (va < g->start)
		g->start = va;
	if (end > g->end)
		g->end = end;
}

int gather_reserve(struct tlb_gather *g, uint32_t n)
{
	KASSERT(!g->finished);
	if (n <= g->cap - g->npieces)
		return E_OK;
	uint64_t want = (uint64_t)g->npieces + n;
	if (want > UINT32_MAX)
		return E_NOMEM;
	struct vm_range *p = g->ops->alloc((size_t)want * sizeof *p);
	if (!p)
		return E_NOMEM;
	memcpy(p, g->piece, g->npieces * sizeof *p);
	if (g->piece != g->stack)
		g->ops->dealloc(g->piece);
	g->piece = p;
	g->cap = (uint32_t)want;
	return E_OK;
}

struct vm_range *gather_slots(struct tlb_gather *g, uint32_t *room)
{
	*room = g->cap - g->npieces;
	return g->piece + g->npieces;
}

void gather_commit(struct tlb_gather *g, uint32_t n)
{
	KASSERT(!g->finished && n <= g->cap - g->npieces);
	g->npieces += n;
}

// The one order: every CPU is done with the old translations, then things go. A
// GATHER_FLUSH gather holding pieces or tables must hold the range that reached them:
// they are deferred after their range, and a flush empties them all together.
static void flush_then_release(struct tlb_gather *g)
{
	KASSERT(g->mode == GATHER_QUIESCED || (g->npieces == 0 && g->tables == 0) || g->start != g->end);
	if (g->mode == GATHER_FLUSH && g->start != g->end) {
		g->ops->flush(g);
		g->flushes++;
		g->start = g->end = 0; // what is added from now on needs another flush
		g->nranges = 0;
	}
	for (uint32_t i = 0; i < g->npieces; i++)
		g->ops->release(g, &g->piece[i]);
	g->npieces = 0;
	if (g->tables)
		g->ops->free_tables(g, g->tables);
	g->tables = 0;
}

uint64_t *gather_tables(struct tlb_gather *g)
{
	KASSERT(!g->finished);
	return &g->tables;
}

void gather_defer_unref(struct tlb_gather *g, const struct vm_range *piece)
{
	KASSERT(!g->finished && g->npieces < g->cap);
	g->piece[g->npieces++] = *piece;
	if (g->npieces == g->cap)
		flush_then_release(g); // a full batch: flush early rather than allocate
}

void gather_defer_root(struct tlb_gather *g, uint64_t root)
{
	KASSERT(g->mode == GATHER_QUIESCED && !g->finished && !g->root);
	g->root = root;
}

void gather_finish(struct tlb_gather *g)
{
	KASSERT(!g->finished);
	flush_then_release(g);
	if (g->root)
		g->ops->free_root(g, g->root);
	g->root = 0;
	if (g->piece != g->stack)
		g->ops->dealloc(g->piece);
	g->piece = g->stack;
	g->cap = GATHER_PIECES_ON_STACK;
	g->finished = true;
}
