// spawn.c: libpagoda's program loader (pagoda.h: pg_spawn, pg_wait, pg_args). The
// image is checked by lib/elf.c, the kernel's own checker, so nothing is loaded here
// that the kernel's loader would refuse. Each segment becomes a fresh mem object,
// filled through a temporary mapping in the caller and then mapped into the child with
// the segment's rights; a read-only segment is mapped through a handle without
// R_WRITE, so the child can never make its own code or constants writable.
#include "pagoda.h"
#include "lib/elf.h"

#define PAGE 4096UL

static uint64_t page_up(uint64_t v) { return (v + PAGE - 1) & ~(PAGE - 1); }

// A new mem of len bytes, mapped in child at va with prot, data[0, dlen) copied in at
// doff (through the caller's scratch mapping). The caller's handle is closed.
static int map_copy(handle_t child, uintptr_t va, size_t len, unsigned prot, const void *data, size_t doff,
		    size_t dlen)
{
	handle_t m = pg_mem_create(len);
	if (m < 0)
		return m;
	int err = E_OK;
	if (dlen) {
		if (len > (1UL << 30))
			err = E_RANGE;
		else if ((err = pg_map(H_SELF, PG_SPAWN_SCRATCH, m, 0, len, PROT_READ | PROT_WRITE)) == E_OK) {
			memcpy((char *)PG_SPAWN_SCRATCH + doff, data, dlen);
			err = pg_unmap(H_SELF, PG_SPAWN_SCRATCH, len, 0);
		}
	}
	handle_t h = m;
	if (err == E_OK && !(prot & PROT_WRITE) && (h = pg_handle_dup(m, R_READ | R_MAP)) < 0)
		err = h;
	if (err == E_OK)
		err = pg_map(child, va, h, 0, len, prot);
	if (h >= 0 && h != m)
		pg_handle_close(h);
	pg_handle_close(m); // the child's mapping holds the mem now (or nothing does)
	return err;
}

// The argument page: struct pg_args, then the strings, addressed as the child sees them.
static int build_args(const char *const *argv, char *page)
{
	size_t argc = 0;
	while (argv[argc])
		argc++;
	struct pg_args *a = (struct pg_args *)page;
	size_t at = sizeof *a + (argc + 1) * sizeof a->argv[0];
	if (at > PG_ARGS_SIZE)
		return E_RANGE;
	a->argc = argc;
	for (size_t i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]) + 1;
		if (n > PG_ARGS_SIZE - at)
			return E_RANGE;
		memcpy(page + at, argv[i], n);
		a->argv[i] = (const char *)PG_ARGS_VA + at;
		at += n;
	}
	a->argv[argc] = NULL;
	return E_OK;
}

// Copies of o->give[0, ngive) in the child's table at 1 .. ngive (a new space holds
// only H_SELF, so transfers fill those slots in order).
static int give(handle_t child, const struct pg_spawn_opts *o)
{
	for (uint32_t i = 0; i < o->ngive; i++) {
		handle_t h = pg_handle_dup(o->give[i], R_ALL);
		if (h < 0)
			return h;
		long at = pg_handle_transfer(h, child);
		if (at < 0) {
			pg_handle_close(h);
			return (int)at;
		}
		if (at != (long)i + 1)
			return E_INVAL;
	}
	return E_OK;
}

static int load(handle_t child, const void *img, const struct elf_info *e, const struct pg_spawn_opts *o,
		const char **why)
{
	int err = E_OK;
	for (uint32_t i = 0; err == E_OK && i < e->nseg; i++) {
		const struct elf_seg *g = &e->seg[i];
		uint64_t lo = g->va & ~(PAGE - 1), hi = page_up(g->va + g->memsz);
		err = map_copy(child, lo, hi - lo, g->prot, (const char *)img + g->off, g->va - lo, g->filesz);
	}
	if (err == E_OK)
		err = map_copy(child, PG_STACK_TOP - PG_STACK_PAGES * PAGE, PG_STACK_PAGES * PAGE,
			       PROT_READ | PROT_WRITE, NULL, 0, 0);
	if (err == E_OK && o->argv) {
		static char page[PG_ARGS_SIZE];
		memset(page, 0, sizeof page);
		if ((err = build_args(o->argv, page)) != E_OK)
			*why = "arguments do not fit PG_ARGS_SIZE";
		else
			err = map_copy(child, PG_ARGS_VA, PG_ARGS_SIZE, PROT_READ, page, 0, sizeof page);
	}
	if (err == E_OK && (err = give(child, o)) != E_OK)
		*why = "a handle to give lacks R_DUP or R_TRANSFER";
	if (err == E_OK)
		err = pg_vcpu_create(child, e->entry, PG_STACK_TOP, o->argv ? PG_ARGS_VA : o->arg, o->cpu);
	if (err != E_OK && !*why)
		*why = "a mapping or the first vcpu could not be made";
	return err;
}

// The child's share of the caller's quota and budget (both are carved out of the
// caller's: docs/isolation.md): as asked, or half of what the caller has left.
static void spawn_share(const struct pg_spawn_opts *o, uint64_t *quota, uint64_t *budget)
{
	struct space_stats me;
	*quota = o->quota, *budget = o->budget;
	if ((*quota && *budget) || pg_space_stats(H_SELF, &me) != E_OK)
		return; // the create call says what is wrong with a missing share
	if (!*quota)
		*quota = (me.quota - me.charged) / 2 & ~(uint64_t)(PAGE - 1);
	uint64_t left = (me.budget_per_tick - me.budget_carved) / 2;
	if (!*budget) // an empty budget gives 1, and create says E_BUDGET
		*budget = me.budget_per_tick == 0 ? PG_SPAWN_BUDGET_UNLIMITED : left ? left : 1;
}

handle_t pg_spawn(const void *img, size_t len, const struct pg_spawn_opts *o, const char **why)
{
	static struct elf_info e; // 400 bytes: off the (small) stack; one caller at a time
	const char *dummy;
	if (!why)
		why = &dummy;
	*why = NULL;
	int err = elf_parse_why(img, len, &e, why);
	if (err != E_OK)
		return err;
	uint64_t quota, budget;
	spawn_share(o, &quota, &budget);
	handle_t child = pg_space_create(quota, budget);
	if (child < 0) {
		*why = "no space";
		return child;
	}
	err = load(child, img, &e, o, why);
	if (err == E_OK)
		return child;
	pg_space_delete(child);
	pg_handle_close(child);
	return err;
}

// Blocks on a notify the kernel signals when the space's last vcpu stops (space_watch),
// then reads how it ended. The notify is made once and kept: the kernel drops the
// watch's reference on it just after the signal, so a notify closed at once could be
// freed a moment after pg_wait returned, under a leak check's nose.
int pg_wait(handle_t space, struct pg_exit *out)
{
	static handle_t n = -1;
	struct space_stats st;
	if (n < 0 && (n = pg_notify_create()) < 0)
		return n;
	long r = pg_space_watch(space, n, 1);
	while (r == E_OK && (r = pg_notify_wait(n)) == E_TIMEOUT)
		; // a timer this vcpu had set ended the wait early: the watch still holds
	int err = r < 0 ? (int)r : pg_space_stats(space, &st);
	if (err == E_OK)
		*out = (struct pg_exit){ (int)st.exit_status, (uint32_t)st.faults };
	return err;
}

uint64_t pg_atou(const char *s)
{
	uint64_t v = 0;
	for (; *s >= '0' && *s <= '9'; s++)
		v = v * 10 + (uint64_t)(*s - '0');
	return v;
}

int pg_args(uint64_t arg, const char *const **argv)
{
	if (arg != PG_ARGS_VA) {
		*argv = NULL;
		return 0;
	}
	const struct pg_args *a = (const struct pg_args *)PG_ARGS_VA;
	*argv = a->argv;
	return (int)a->argc;
}
