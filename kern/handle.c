// handle.c: a space's handle table, a fixed array of HTABLE_SLOTS entries.
// Lookups index the array directly; alloc and dup scan for the lowest free slot
// (256 entries of 16 bytes: a linear scan is cheap). Callers lock and count
// references; see handle.h for the invariants.
#include "kern/handle.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"

static bool idx_ok(int idx)
{
	return idx >= 0 && idx < HTABLE_SLOTS;
}

// The slot idx names when it is in range and used, else NULL.
static const struct handle *used_slot(const struct htable *t, int idx)
{
	if (!idx_ok(idx) || t->slot[idx].obj == NULL)
		return NULL;
	return &t->slot[idx];
}

static bool entry_ok(const void *obj, unsigned type, uint32_t rights)
{
	return obj != NULL && type != 0 && type <= UINT16_MAX && (rights & ~R_ALL) == 0;
}

// Lowest free index >= 1, or -1 when slots 1..HTABLE_SLOTS-1 are all used.
static int lowest_free(const struct htable *t)
{
	for (int i = 1; i < HTABLE_SLOTS; i++)
		if (t->slot[i].obj == NULL)
			return i;
	return -1;
}

// Fills free slot idx. Arguments already checked.
static void fill(struct htable *t, int idx, void *obj, unsigned type, uint32_t rights)
{
	t->slot[idx] = (struct handle){ .obj = obj, .type = (uint16_t)type, .pad = 0, .rights = rights };
	t->used++;
}

void htable_init(struct htable *t)
{
	for (int i = 0; i < HTABLE_SLOTS; i++)
		t->slot[i] = (struct handle){ 0 };
	t->used = 0;
}

int htable_install(struct htable *t, int idx, void *obj, unsigned type, uint32_t rights)
{
	if (!idx_ok(idx))
		return E_BADH;
	if (!entry_ok(obj, type, rights))
		return E_INVAL;
	if (t->slot[idx].obj != NULL)
		return E_EXISTS;
	fill(t, idx, obj, type, rights);
	return E_OK;
}

int htable_alloc(struct htable *t, void *obj, unsigned type, uint32_t rights)
{
	if (!entry_ok(obj, type, rights))
		return E_INVAL;
	int idx = lowest_free(t);
	if (idx < 0)
		return E_NOMEM;
	fill(t, idx, obj, type, rights);
	return idx;
}

int htable_get(const struct htable *t, int idx, unsigned type, uint32_t need, void **obj)
{
	const struct handle *h = used_slot(t, idx);
	if (h == NULL)
		return E_BADH;
	if (type != 0 && type != h->type)
		return E_TYPE;
	if ((h->rights & need) != need)
		return E_RIGHTS;
	if (obj != NULL)
		*obj = h->obj;
	return E_OK;
}

int htable_dup(struct htable *t, int idx, uint32_t rights)
{
	const struct handle *h = used_slot(t, idx);
	if (h == NULL)
		return E_BADH;
	if ((rights & ~R_ALL) != 0)
		return E_INVAL;
	if ((h->rights & R_DUP) == 0)
		return E_RIGHTS;
	int nidx = lowest_free(t);
	if (nidx < 0)
		return E_NOMEM;
	fill(t, nidx, h->obj, h->type, h->rights & rights);
	return nidx;
}

int htable_close(struct htable *t, int idx, struct handle *out)
{
	if (used_slot(t, idx) == NULL)
		return E_BADH;
	if (out != NULL)
		*out = t->slot[idx];
	t->slot[idx] = (struct handle){ 0 };
	t->used--;
	return E_OK;
}

uint32_t htable_count(const struct htable *t)
{
	return t->used;
}

int htable_next(const struct htable *t, int from)
{
	for (int i = from < 0 ? 0 : from; i < HTABLE_SLOTS; i++)
		if (t->slot[i].obj != NULL)
			return i;
	return -1;
}
