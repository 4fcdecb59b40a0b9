// vmmap.c: a space's mapping records, a sorted array searched by binary search.
// Every edit validates and finds its records first, reserves the storage its splits
// need, and only then changes anything, so no call fails halfway. Edits merge the
// records they touch with their neighbours, keeping the array minimal. Callers lock
// and count references; see vmmap.h for the invariants.
#include "kern/vmmap.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include "lib/string.h"

#define PAGE_MASK (VM_PAGE - 1)

_Static_assert(sizeof(size_t) >= 8, "record counts up to 2^32 must fit a byte count");

static uint64_t end_of(const struct vm_range *r)
{
	return r->va + r->len;
}

// Page-aligned, non-empty, and va+len <= 2^64 - VM_PAGE, so ends never wrap.
static bool range_ok(uint64_t va, uint64_t len)
{
	return len != 0 && ((va | len) & PAGE_MASK) == 0 && len <= UINT64_MAX - va;
}

// Index of the first record ending above va, or n if none: the one containing va,
// else the next one up. Records are sorted and disjoint, so their ends are sorted too.
static uint32_t first_after(const struct vmmap *m, uint64_t va)
{
	uint32_t lo = 0, hi = m->n;
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (end_of(&m->r[mid]) <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

// b continues a: together they are one record.
static bool mergeable(const struct vm_range *a, const struct vm_range *b)
{
	return end_of(a) == b->va && a->obj == b->obj && a->off + a->len == b->off &&
	       a->maxprot == b->maxprot && a->state == b->state && a->epoch_tag == b->epoch_tag;
}

// Makes room for k more records: E_OK, or E_NOMEM with nothing changed.
// Indices of struct vmmap's pages[].
#define PAGES_MAPPED 0
#define PAGES_LAZY   1

// Records moved between two relax calls: 64 KiB of them.
#define RELAX_RECORDS ((64u << 10) / sizeof(struct vm_range))

static void relax(const struct vmmap *m)
{
	if (m->relax)
		m->relax(m->ctx);
}

// memmove of count records, in chunks with relax() between them. Chunk by chunk from
// the far end of the move, so no record is overwritten before it is copied.
static void move_records(struct vmmap *m, struct vm_range *dst, const struct vm_range *src, size_t count)
{
	while (count) {
		size_t c = count < RELAX_RECORDS ? count : RELAX_RECORDS;
		if (dst > src) {
			count -= c;
			memmove(dst + count, src + count, c * sizeof *dst);
		} else {
			memmove(dst, src, c * sizeof *dst);
			dst += c, src += c, count -= c;
		}
		if (count)
			relax(m);
	}
}

// The capacity reserve(k) grows to: by a quarter plus 8, at least n + k. A quarter,
// not double, so the array never costs much more than its records: the kernel
// charges a space for the most its records could grow to (space.c).
static uint64_t grown_cap(const struct vmmap *m, uint32_t k)
{
	if (k <= m->cap - m->n)
		return m->cap;
	uint64_t cap = (uint64_t)m->cap + m->cap / 4 + 8;
	if (cap < (uint64_t)m->n + k)
		cap = (uint64_t)m->n + k;
	return cap > UINT32_MAX ? UINT32_MAX : cap;
}

uint32_t vmmap_cap_for(const struct vmmap *m, uint32_t k)
{
	return m->n > UINT32_MAX - k ? m->cap : (uint32_t)grown_cap(m, k);
}

int vmmap_reserve(struct vmmap *m, uint32_t k)
{
	if (k <= m->cap - m->n)
		return E_OK;
	if (m->n > UINT32_MAX - k || m->grow == NULL)
		return E_NOMEM;
	uint64_t cap = grown_cap(m, k);
	struct vm_range *p = m->grow((size_t)cap * sizeof *m->r, m->ctx);
	if (p == NULL)
		return E_NOMEM;
	if (m->r != NULL) {
		move_records(m, p, m->r, m->n); // as long as the array: in chunks, relaxed
		m->release(m->r, m->ctx);
	}
	m->r = p;
	m->cap = (uint32_t)cap;
	return E_OK;
}

// Shifts r[i..n-1] up by k. The caller has reserved k records.
static void open_gap(struct vmmap *m, uint32_t i, uint32_t k)
{
	move_records(m, &m->r[i + k], &m->r[i], (size_t)(m->n - i));
	m->n += k;
}

// Deletes r[i..i+k-1], shifting the tail down.
static void close_gap(struct vmmap *m, uint32_t i, uint32_t k)
{
	move_records(m, &m->r[i], &m->r[i + k], (size_t)(m->n - i - k));
	m->n -= k;
}

// Splits r[i] in two at `at`, strictly inside it. The caller has reserved a record.
static void split_at(struct vmmap *m, uint32_t i, uint64_t at)
{
	open_gap(m, i + 1, 1);
	struct vm_range *a = &m->r[i], *b = &m->r[i + 1];
	uint64_t d = at - a->va;
	*b = *a;
	a->len = d;
	b->va = at;
	b->off += d;
	b->len -= d;
}

// Merges every mergeable neighbour pair among r[lo..hi] (hi < n).
static void coalesce(struct vmmap *m, uint32_t lo, uint32_t hi)
{
	uint32_t w = lo;
	for (uint32_t k = lo + 1; k <= hi; k++) {
		if (mergeable(&m->r[w], &m->r[k]))
			m->r[w].len += m->r[k].len;
		else
			m->r[++w] = m->r[k];
	}
	if (w < hi)
		close_gap(m, w + 1, hi - w);
}

// When every page of [va, end) is in a VMR_MAPPED record, stores the first and last
// of those records in *i0, *i1 and returns true. O(log n + records in the range).
static bool span_mapped(const struct vmmap *m, uint64_t va, uint64_t end,
                        uint32_t *i0, uint32_t *i1)
{
	uint64_t at = va;
	uint32_t i = first_after(m, va);
	*i0 = i;
	for (;; i++) {
		if (i == m->n || m->r[i].va > at || m->r[i].state != VMR_MAPPED)
			return false;
		at = end_of(&m->r[i]);
		if (at >= end)
			break;
	}
	*i1 = i;
	return true;
}

// The part of r inside [va, end), with off moved along.
static struct vm_range clip(const struct vm_range *r, uint64_t va, uint64_t end)
{
	struct vm_range p = *r;
	uint64_t lo = r->va > va ? r->va : va, hi = end_of(r) < end ? end_of(r) : end;
	p.va = lo;
	p.off += lo - r->va;
	p.len = hi - lo;
	return p;
}

// Splits the first and last records of a span (*i0, *i1 from span_mapped) where they
// stick out of [va, end), moving *i0, *i1 to the records that now start and end it.
// Reserves first: E_OK, or E_NOMEM (at most 2 records were needed) with nothing changed.
static int cut_ends(struct vmmap *m, uint64_t va, uint64_t end, uint32_t *i0, uint32_t *i1)
{
	bool lo = m->r[*i0].va < va, hi = end_of(&m->r[*i1]) > end;
	int rc = vmmap_reserve(m, (uint32_t)lo + (uint32_t)hi);
	if (rc != E_OK)
		return rc;
	if (lo) {
		split_at(m, *i0, va);
		(*i0)++;
		(*i1)++;
	}
	if (hi)
		split_at(m, *i1, end);
	return E_OK;
}

void vmmap_init(struct vmmap *m, void *(*grow)(size_t bytes, void *ctx),
                void (*release)(void *p, void *ctx), void *ctx)
{
	m->r = NULL;
	m->n = 0;
	m->cap = 0;
	m->pages[0] = m->pages[1] = 0;
	m->grow = grow;
	m->release = release;
	m->relax = NULL;
	m->ctx = ctx;
}

void vmmap_set_relax(struct vmmap *m, void (*relax)(void *ctx)) { m->relax = relax; }

void vmmap_destroy(struct vmmap *m)
{
	if (m->r != NULL && m->release != NULL)
		m->release(m->r, m->ctx);
	m->r = NULL;
	m->n = 0;
	m->cap = 0;
	m->pages[0] = m->pages[1] = 0;
}

static int insert(struct vmmap *m, uint64_t va, uint64_t len, void *obj, uint64_t off,
                  uint32_t maxprot, uint64_t tag)
{
	if (!range_ok(va, len) || (off & PAGE_MASK) != 0 || len > UINT64_MAX - off ||
	    obj == NULL || (maxprot & ~PROT_ALL) != 0)
		return E_INVAL;
	uint32_t i = first_after(m, va);
	if (i < m->n && m->r[i].va < va + len)
		return E_EXISTS;
	struct vm_range nr = { .va = va, .len = len, .obj = obj, .off = off, .maxprot = maxprot,
	                       .state = VMR_MAPPED, .epoch_tag = tag };
	// r[i-1] ends at or below va and r[i] starts at or above va+len.
	bool prev = i > 0 && mergeable(&m->r[i - 1], &nr);
	bool next = i < m->n && mergeable(&nr, &m->r[i]);
	if (prev && next) {
		m->r[i - 1].len += len + m->r[i].len;
		close_gap(m, i, 1);
	} else if (prev) {
		m->r[i - 1].len += len;
	} else if (next) {
		m->r[i].va = va;
		m->r[i].off = off;
		m->r[i].len += len;
	} else {
		int rc = vmmap_reserve(m, 1);
		if (rc != E_OK)
			return rc;
		open_gap(m, i, 1);
		m->r[i] = nr;
	}
	m->pages[PAGES_MAPPED] += len / VM_PAGE;
	return E_OK;
}

int vmmap_insert(struct vmmap *m, uint64_t va, uint64_t len, void *obj, uint64_t off,
                 uint32_t maxprot)
{
	return insert(m, va, len, obj, off, maxprot, 0);
}

int vmmap_insert_alone(struct vmmap *m, uint64_t va, uint64_t len, void *obj, uint64_t off,
                       uint32_t maxprot, uint64_t tag)
{
	return tag ? insert(m, va, len, obj, off, maxprot, tag) : E_INVAL;
}

int vmmap_find(const struct vmmap *m, uint64_t va, struct vm_range *out)
{
	uint32_t i = first_after(m, va);
	if (i == m->n || m->r[i].va > va)
		return E_NOENT;
	if (out != NULL)
		*out = m->r[i];
	return E_OK;
}

int vmmap_next(const struct vmmap *m, uint64_t va, struct vm_range *out)
{
	uint32_t i = first_after(m, va);
	if (i == m->n)
		return E_NOENT;
	if (out != NULL)
		*out = m->r[i];
	return E_OK;
}

bool vmmap_covered(const struct vmmap *m, uint64_t va, uint64_t len)
{
	uint32_t i0, i1;
	return range_ok(va, len) && span_mapped(m, va, va + len, &i0, &i1);
}

uint32_t vmmap_maxprot(const struct vmmap *m, uint64_t va, uint64_t len)
{
	uint32_t i0, i1, max = PROT_ALL;
	if (!range_ok(va, len) || !span_mapped(m, va, va + len, &i0, &i1))
		return 0;
	for (uint32_t i = i0; i <= i1; i++)
		max &= m->r[i].maxprot;
	return max;
}

int vmmap_mark_lazy(struct vmmap *m, uint64_t va, uint64_t len, uint64_t tag)
{
	uint32_t i0, i1;
	if (!range_ok(va, len))
		return E_INVAL;
	uint64_t end = va + len;
	if (!span_mapped(m, va, end, &i0, &i1))
		return E_NOENT;
	int rc = cut_ends(m, va, end, &i0, &i1);
	if (rc != E_OK)
		return rc;
	for (uint32_t i = i0; i <= i1; i++) {
		m->r[i].state = VMR_LAZY;
		m->r[i].epoch_tag = tag;
	}
	coalesce(m, i0 > 0 ? i0 - 1 : 0, i1 + 1 < m->n ? i1 + 1 : m->n - 1);
	m->pages[PAGES_MAPPED] -= len / VM_PAGE;
	m->pages[PAGES_LAZY] += len / VM_PAGE;
	return E_OK;
}

int vmmap_remove(struct vmmap *m, uint64_t va, uint64_t len, struct vm_range *out,
                 uint32_t *nout, uint32_t maxout)
{
	uint32_t i0, i1;
	if (!range_ok(va, len))
		return E_INVAL;
	uint64_t end = va + len;
	if (!span_mapped(m, va, end, &i0, &i1))
		return E_NOENT;
	uint32_t k = i1 - i0 + 1;
	if (k > maxout) {
		if (nout != NULL)
			*nout = k;
		return E_RANGE;
	}
	// Only a hole strictly inside one record leaves more records than before.
	bool middle = i0 == i1 && m->r[i0].va < va && end_of(&m->r[i0]) > end;
	if (middle && vmmap_reserve(m, 1) != E_OK)
		return E_NOMEM;
	for (uint32_t j = 0; j < k; j++)
		out[j] = clip(&m->r[i0 + j], va, end);
	if (nout != NULL)
		*nout = k;
	m->pages[PAGES_MAPPED] -= len / VM_PAGE;
	if (middle) {
		split_at(m, i0, end);
		m->r[i0].len = va - m->r[i0].va;
		return E_OK;
	}
	uint32_t first = i0, last = i1 + 1;  // records [first, last) go entirely
	if (m->r[i0].va < va) {
		m->r[i0].len = va - m->r[i0].va;
		first++;
	}
	struct vm_range *b = &m->r[i1];
	if (end_of(b) > end) {
		uint64_t d = end - b->va;
		b->va = end;
		b->off += d;
		b->len -= d;
		last--;
	}
	if (first < last)
		close_gap(m, first, last - first);
	return E_OK;
}

uint32_t vmmap_reclaim(struct vmmap *m, bool (*done)(uint64_t tag, void *arg), void *arg,
                       void (*drop)(const struct vm_range *r, void *arg))
{
	// Removing records leaves holes, and records either side of a hole never merge,
	// so one compacting pass keeps the array minimal.
	uint32_t w = 0, got = 0;
	for (uint32_t i = 0; i < m->n; i++) {
		if (i % RELAX_RECORDS == RELAX_RECORDS - 1)
			relax(m);
		struct vm_range r = m->r[i];
		if (r.state == VMR_LAZY && done(r.epoch_tag, arg)) {
			if (drop != NULL)
				drop(&r, arg);
			m->pages[PAGES_LAZY] -= r.len / VM_PAGE;
			got++;
		} else {
			m->r[w++] = r;
		}
	}
	m->n = w;
	return got;
}

uint64_t vmmap_pages(const struct vmmap *m, uint32_t state)
{
	if (state == VMR_MAPPED)
		return m->pages[PAGES_MAPPED];
	return state == VMR_LAZY ? m->pages[PAGES_LAZY] : 0;
}
