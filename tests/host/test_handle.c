// test_handle.c: host unit tests for kern/handle.c, built against libc with Criterion.
// Besides the API contracts, every test checks the table's invariants (free slots all
// zero, used slots well formed, used = count), and every error is shown to change
// nothing by comparing the whole table with a snapshot.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include "kern/handle.h"

#define T_SPACE 1u
#define T_MEM   2u

static int objs[HTABLE_SLOTS + 8];  // distinct addresses to use as objects
#define OBJ(i) ((void *)&objs[i])

static void check_invariants(const struct htable *t)
{
	static const struct handle zero;
	uint32_t used = 0;
	for (int i = 0; i < HTABLE_SLOTS; i++) {
		const struct handle *h = &t->slot[i];
		if (h->obj == NULL) {
			cr_assert_eq(memcmp(h, &zero, sizeof zero), 0, "free slot %d not zero", i);
			continue;
		}
		used++;
		cr_assert_neq(h->type, 0, "slot %d used with type 0", i);
		cr_assert_eq(h->pad, 0, "slot %d pad", i);
		cr_assert_eq(h->rights & ~R_ALL, 0, "slot %d rights %#x", i, h->rights);
	}
	cr_assert_eq(used, t->used, "used %u but %u slots in use", t->used, used);
	cr_assert_eq(htable_count(t), used);
}

// A fresh table, pre-filled with garbage so init must clear it.
static struct htable *make_table(void)
{
	struct htable *t = malloc(sizeof *t);
	cr_assert_not_null(t);
	memset(t, 0xa5, sizeof *t);
	htable_init(t);
	return t;
}

// A table with H_SELF installed, as the kernel sets one up.
static struct htable *make_space_table(void)
{
	struct htable *t = make_table();
	cr_assert_eq(htable_install(t, H_SELF, OBJ(0), T_SPACE, R_ALL), E_OK);
	return t;
}

static struct htable *take_snap(const struct htable *t)
{
	struct htable *s = malloc(sizeof *s);
	cr_assert_not_null(s);
	memcpy(s, t, sizeof *s);
	return s;
}

static void assert_unchanged(const struct htable *t, struct htable *s)
{
	cr_assert_eq(memcmp(t, s, sizeof *t), 0, "table changed");
	free(s);
}

// --- init and install ---

Test(handle, init_leaves_every_slot_free)
{
	struct htable *t = make_table();
	cr_assert_eq(htable_count(t), 0);
	cr_assert_eq(htable_next(t, 0), -1);
	for (int i = 0; i < HTABLE_SLOTS; i++)
		cr_assert_eq(htable_get(t, i, 0, 0, NULL), E_BADH);
	check_invariants(t);
	free(t);
}

Test(handle, install_self_then_get)
{
	struct htable *t = make_space_table();
	void *o = NULL;
	cr_assert_eq(htable_get(t, H_SELF, T_SPACE, R_ALL, &o), E_OK);
	cr_assert_eq(o, OBJ(0));
	cr_assert_eq(htable_count(t), 1);
	cr_assert_eq(t->slot[0].type, T_SPACE);
	cr_assert_eq(t->slot[0].rights, R_ALL);
	check_invariants(t);
	free(t);
}

Test(handle, install_into_any_free_slot)
{
	struct htable *t = make_table();
	cr_assert_eq(htable_install(t, HTABLE_SLOTS - 1, OBJ(1), T_MEM, R_READ), E_OK);
	cr_assert_eq(htable_install(t, 7, OBJ(2), 0xffff, 0), E_OK);
	cr_assert_eq(htable_next(t, 0), 7);
	cr_assert_eq(htable_next(t, 8), HTABLE_SLOTS - 1);
	check_invariants(t);
	free(t);
}

Test(handle, install_out_of_range_fails)
{
	struct htable *t = make_space_table();
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_install(t, -1, OBJ(1), T_MEM, R_READ), E_BADH);
	cr_assert_eq(htable_install(t, HTABLE_SLOTS, OBJ(1), T_MEM, R_READ), E_BADH);
	cr_assert_eq(htable_install(t, INT32_MIN, OBJ(1), T_MEM, R_READ), E_BADH);
	cr_assert_eq(htable_install(t, INT32_MAX, NULL, 0, ~0u), E_BADH);  // range first
	assert_unchanged(t, s);
	free(t);
}

Test(handle, install_bad_entry_fails)
{
	struct htable *t = make_space_table();
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_install(t, 3, NULL, T_MEM, R_READ), E_INVAL);
	cr_assert_eq(htable_install(t, 3, OBJ(1), 0, R_READ), E_INVAL);
	cr_assert_eq(htable_install(t, 3, OBJ(1), 0x10000, R_READ), E_INVAL);
	cr_assert_eq(htable_install(t, 3, OBJ(1), T_MEM, R_ALL + 1), E_INVAL);
	cr_assert_eq(htable_install(t, 3, OBJ(1), T_MEM, 1u << 31), E_INVAL);
	cr_assert_eq(htable_install(t, 0, NULL, T_MEM, R_READ), E_INVAL);  // before E_EXISTS
	assert_unchanged(t, s);
	free(t);
}

Test(handle, install_over_used_slot_fails)
{
	struct htable *t = make_space_table();
	cr_assert_eq(htable_install(t, 5, OBJ(5), T_MEM, R_READ), E_OK);
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_install(t, 0, OBJ(1), T_SPACE, R_ALL), E_EXISTS);
	cr_assert_eq(htable_install(t, 5, OBJ(5), T_MEM, R_READ), E_EXISTS);
	assert_unchanged(t, s);
	free(t);
}

// --- alloc ---

Test(handle, alloc_returns_lowest_free_index_from_1)
{
	struct htable *t = make_space_table();
	for (int i = 1; i <= 10; i++)
		cr_assert_eq(htable_alloc(t, OBJ(i), T_MEM, R_READ), i);
	struct handle h;
	cr_assert_eq(htable_close(t, 4, &h), E_OK);
	cr_assert_eq(htable_close(t, 2, &h), E_OK);
	cr_assert_eq(htable_alloc(t, OBJ(20), T_MEM, R_READ), 2);
	cr_assert_eq(htable_alloc(t, OBJ(21), T_MEM, R_READ), 4);
	cr_assert_eq(htable_alloc(t, OBJ(22), T_MEM, R_READ), 11);
	check_invariants(t);
	free(t);
}

Test(handle, alloc_never_takes_slot_0)
{
	struct htable *t = make_table();  // slot 0 free
	cr_assert_eq(htable_alloc(t, OBJ(1), T_MEM, R_READ), 1);
	for (int i = 2; i < HTABLE_SLOTS; i++)
		cr_assert_eq(htable_alloc(t, OBJ(i), T_MEM, R_READ), i);
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_alloc(t, OBJ(0), T_MEM, R_READ), E_NOMEM);
	assert_unchanged(t, s);
	cr_assert_eq(htable_count(t), HTABLE_SLOTS - 1);
	cr_assert_null(t->slot[0].obj);
	check_invariants(t);
	free(t);
}

Test(handle, alloc_when_full_fails)
{
	struct htable *t = make_space_table();
	for (int i = 1; i < HTABLE_SLOTS; i++)
		cr_assert_eq(htable_alloc(t, OBJ(i), T_MEM, R_READ | R_DUP), i);
	cr_assert_eq(htable_count(t), HTABLE_SLOTS);
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_alloc(t, OBJ(1), T_MEM, R_READ), E_NOMEM);
	cr_assert_eq(htable_dup(t, 1, R_READ), E_NOMEM);
	assert_unchanged(t, s);
	check_invariants(t);
	free(t);
}

Test(handle, alloc_bad_entry_fails)
{
	struct htable *t = make_space_table();
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_alloc(t, NULL, T_MEM, R_READ), E_INVAL);
	cr_assert_eq(htable_alloc(t, OBJ(1), 0, R_READ), E_INVAL);
	cr_assert_eq(htable_alloc(t, OBJ(1), 1u << 16, R_READ), E_INVAL);
	cr_assert_eq(htable_alloc(t, OBJ(1), T_MEM, ~0u), E_INVAL);
	assert_unchanged(t, s);
	free(t);
}

// --- get ---

Test(handle, get_checks_type_and_rights)
{
	struct htable *t = make_space_table();
	int h = htable_alloc(t, OBJ(1), T_MEM, R_READ | R_MAP);
	void *o = NULL;
	cr_assert_eq(htable_get(t, h, T_MEM, R_READ, &o), E_OK);
	cr_assert_eq(o, OBJ(1));
	o = NULL;
	cr_assert_eq(htable_get(t, h, 0, 0, &o), E_OK);  // any type, no rights
	cr_assert_eq(o, OBJ(1));
	cr_assert_eq(htable_get(t, h, T_MEM, R_READ | R_MAP, NULL), E_OK);
	cr_assert_eq(htable_get(t, h, 0, R_MAP, NULL), E_OK);
	free(t);
}

Test(handle, get_bad_index_fails)
{
	struct htable *t = make_space_table();
	htable_alloc(t, OBJ(1), T_MEM, R_READ);
	struct htable *s = take_snap(t);
	void *o = OBJ(99);
	cr_assert_eq(htable_get(t, -1, 0, 0, &o), E_BADH);
	cr_assert_eq(htable_get(t, INT32_MIN, 0, 0, &o), E_BADH);
	cr_assert_eq(htable_get(t, HTABLE_SLOTS, 0, 0, &o), E_BADH);
	cr_assert_eq(htable_get(t, 2, 0, 0, &o), E_BADH);  // free slot
	cr_assert_eq(o, OBJ(99), "*obj must be untouched");
	assert_unchanged(t, s);
	free(t);
}

Test(handle, get_wrong_type_fails)
{
	struct htable *t = make_space_table();
	void *o = OBJ(99);
	cr_assert_eq(htable_get(t, H_SELF, T_MEM, 0, &o), E_TYPE);
	cr_assert_eq(o, OBJ(99));
	free(t);
}

Test(handle, get_missing_rights_fails)
{
	struct htable *t = make_space_table();
	int h = htable_alloc(t, OBJ(1), T_MEM, R_READ);
	void *o = OBJ(99);
	cr_assert_eq(htable_get(t, h, T_MEM, R_MAP, &o), E_RIGHTS);
	cr_assert_eq(htable_get(t, h, T_MEM, R_READ | R_MAP, &o), E_RIGHTS);
	cr_assert_eq(htable_get(t, h, 0, 1u << 20, &o), E_RIGHTS);  // a right nobody has
	cr_assert_eq(o, OBJ(99));
	free(t);
}

Test(handle, get_errors_are_checked_in_order)
{
	struct htable *t = make_space_table();
	int h = htable_alloc(t, OBJ(1), T_MEM, 0);
	cr_assert_eq(htable_get(t, h + 1, T_SPACE, R_ALL, NULL), E_BADH);  // free + type + rights
	cr_assert_eq(htable_get(t, h, T_SPACE, R_ALL, NULL), E_TYPE);      // type + rights
	cr_assert_eq(htable_get(t, h, T_MEM, R_ALL, NULL), E_RIGHTS);
	free(t);
}

// --- dup ---

Test(handle, dup_masks_rights)
{
	struct htable *t = make_space_table();
	int h = htable_alloc(t, OBJ(1), T_MEM, R_READ | R_MAP | R_DUP);
	int d = htable_dup(t, h, R_READ | R_WRITE | R_DUP);  // WRITE is not held: dropped
	cr_assert_eq(d, 2);
	cr_assert_eq(t->slot[d].obj, OBJ(1));
	cr_assert_eq(t->slot[d].type, T_MEM);
	cr_assert_eq(t->slot[d].rights, R_READ | R_DUP);
	cr_assert_eq(t->slot[h].rights, R_READ | R_MAP | R_DUP, "source unchanged");
	int d2 = htable_dup(t, d, R_ALL);
	cr_assert_eq(d2, 3);
	cr_assert_eq(t->slot[d2].rights, R_READ | R_DUP);
	int d3 = htable_dup(t, d2, 0);  // no rights at all is still a handle
	cr_assert_eq(d3, 4);
	cr_assert_eq(t->slot[d3].rights, 0);
	cr_assert_eq(htable_get(t, d3, T_MEM, 0, NULL), E_OK);
	cr_assert_eq(htable_count(t), 5);
	check_invariants(t);
	free(t);
}

Test(handle, dup_of_self)
{
	struct htable *t = make_space_table();
	int d = htable_dup(t, H_SELF, R_READ | R_DUP);
	cr_assert_eq(d, 1);
	void *o;
	cr_assert_eq(htable_get(t, d, T_SPACE, R_READ, &o), E_OK);
	cr_assert_eq(o, OBJ(0));
	cr_assert_eq(htable_get(t, d, T_SPACE, R_DELETE, &o), E_RIGHTS);
	check_invariants(t);
	free(t);
}

Test(handle, dup_without_dup_right_fails)
{
	struct htable *t = make_space_table();
	int h = htable_alloc(t, OBJ(1), T_MEM, R_ALL & ~R_DUP);
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_dup(t, h, R_READ), E_RIGHTS);
	assert_unchanged(t, s);
	free(t);
}

Test(handle, dup_bad_rights_fails)
{
	struct htable *t = make_space_table();
	int h = htable_alloc(t, OBJ(1), T_MEM, R_ALL);
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_dup(t, h, R_ALL + 1), E_INVAL);
	cr_assert_eq(htable_dup(t, h, ~0u), E_INVAL);
	assert_unchanged(t, s);
	free(t);
}

Test(handle, dup_bad_index_fails)
{
	struct htable *t = make_space_table();
	struct htable *s = take_snap(t);
	cr_assert_eq(htable_dup(t, -1, R_READ), E_BADH);
	cr_assert_eq(htable_dup(t, HTABLE_SLOTS, R_READ), E_BADH);
	cr_assert_eq(htable_dup(t, 1, R_READ), E_BADH);     // free
	cr_assert_eq(htable_dup(t, 1, ~0u), E_BADH);        // handle checked before rights
	assert_unchanged(t, s);
	free(t);
}

Test(handle, dup_errors_are_checked_in_order)
{
	struct htable *t = make_space_table();
	for (int i = 1; i < HTABLE_SLOTS; i++)
		htable_alloc(t, OBJ(i), T_MEM, R_READ);  // full, and no R_DUP anywhere but slot 0
	cr_assert_eq(htable_dup(t, 5, ~0u), E_INVAL);     // bad rights before missing R_DUP
	cr_assert_eq(htable_dup(t, 5, R_READ), E_RIGHTS); // missing R_DUP before full
	cr_assert_eq(htable_dup(t, 0, R_READ), E_NOMEM);
	free(t);
}

// --- close ---

Test(handle, close_returns_entry_and_frees_slot)
{
	struct htable *t = make_space_table();
	int h = htable_alloc(t, OBJ(1), T_MEM, R_READ | R_MAP);
	struct handle out;
	memset(&out, 0x5a, sizeof out);
	cr_assert_eq(htable_close(t, h, &out), E_OK);
	cr_assert_eq(out.obj, OBJ(1));
	cr_assert_eq(out.type, T_MEM);
	cr_assert_eq(out.pad, 0);
	cr_assert_eq(out.rights, R_READ | R_MAP);
	cr_assert_eq(htable_count(t), 1);
	cr_assert_eq(htable_get(t, h, 0, 0, NULL), E_BADH);
	check_invariants(t);
	cr_assert_eq(htable_close(t, H_SELF, NULL), E_OK);  // allowed: the kernel decides
	cr_assert_eq(htable_count(t), 0);
	check_invariants(t);
	free(t);
}

Test(handle, close_twice_fails)
{
	struct htable *t = make_space_table();
	int h = htable_alloc(t, OBJ(1), T_MEM, R_READ);
	cr_assert_eq(htable_close(t, h, NULL), E_OK);
	struct htable *s = take_snap(t);
	struct handle out;
	memset(&out, 0x5a, sizeof out);
	struct handle before = out;
	cr_assert_eq(htable_close(t, h, &out), E_BADH);
	cr_assert_eq(htable_close(t, -1, &out), E_BADH);
	cr_assert_eq(htable_close(t, HTABLE_SLOTS, &out), E_BADH);
	cr_assert_eq(memcmp(&out, &before, sizeof out), 0, "*out must be untouched");
	assert_unchanged(t, s);
	free(t);
}

// --- iteration ---

Test(handle, next_walks_used_slots_in_order)
{
	struct htable *t = make_space_table();
	int want[] = { 0, 3, 4, 100, HTABLE_SLOTS - 1 };
	for (size_t i = 1; i < 5; i++)
		cr_assert_eq(htable_install(t, want[i], OBJ(i), T_MEM, R_READ), E_OK);
	size_t k = 0;
	for (int i = htable_next(t, 0); i >= 0; i = htable_next(t, i + 1))
		cr_assert_eq(i, want[k++]);
	cr_assert_eq(k, 5);
	cr_assert_eq(htable_next(t, -50), 0);
	cr_assert_eq(htable_next(t, INT32_MIN), 0);
	cr_assert_eq(htable_next(t, 101), HTABLE_SLOTS - 1);
	cr_assert_eq(htable_next(t, HTABLE_SLOTS), -1);
	cr_assert_eq(htable_next(t, INT32_MAX), -1);
	free(t);
}

Test(handle, teardown_by_iteration_empties_table)
{
	struct htable *t = make_space_table();
	for (int i = 1; i < 50; i++)
		htable_alloc(t, OBJ(i), T_MEM, R_READ);
	uint32_t closed = 0;
	for (int i = htable_next(t, 0); i >= 0; i = htable_next(t, i + 1)) {
		cr_assert_eq(htable_close(t, i, NULL), E_OK);
		closed++;
	}
	cr_assert_eq(closed, 50);
	cr_assert_eq(htable_count(t), 0);
	check_invariants(t);
	free(t);
}

// --- randomized against a reference model ---

// The model: one entry per slot, with the expected result of each call computed
// directly from the contract.
Test(handle, random_ops_match_reference_model)
{
	srand(4321);
	for (int round = 0; round < 20; round++) {
		struct htable *t = make_table();
		struct handle m[HTABLE_SLOTS] = { 0 };
		uint32_t mused = 0;
		for (int op = 0; op < 5000; op++) {
			int r = rand() % 100;
			int idx = rand() % (HTABLE_SLOTS + 8) - 4;  // some out of range
			bool in = idx >= 0 && idx < HTABLE_SLOTS;
			bool used = in && m[idx].obj != NULL;
			unsigned type = 1 + (unsigned)rand() % 3;
			uint32_t rights = (uint32_t)rand() & (rand() % 10 ? R_ALL : 0xff);
			int lowest = -1;
			for (int i = 1; i < HTABLE_SLOTS && lowest < 0; i++)
				if (m[i].obj == NULL)
					lowest = i;
			struct htable *s = take_snap(t);
			int rc, want;
			if (r < 25) {
				void *o = OBJ(rand() % HTABLE_SLOTS);
				want = (rights & ~R_ALL) ? E_INVAL : lowest < 0 ? E_NOMEM : lowest;
				rc = htable_alloc(t, o, type, rights);
				if (want >= 0)
					m[want] = (struct handle){ o, (uint16_t)type, 0, rights };
			} else if (r < 35) {
				void *o = OBJ(rand() % HTABLE_SLOTS);
				want = !in ? E_BADH : (rights & ~R_ALL) ? E_INVAL : used ? E_EXISTS : E_OK;
				rc = htable_install(t, idx, o, type, rights);
				if (want == E_OK)
					m[idx] = (struct handle){ o, (uint16_t)type, 0, rights };
			} else if (r < 60) {
				unsigned wtype = rand() % 4 == 0 ? 0 : type;
				uint32_t need = (uint32_t)rand() & R_ALL & (uint32_t)rand();
				void *o = NULL;
				want = !used ? E_BADH
				     : (wtype != 0 && wtype != m[idx].type) ? E_TYPE
				     : (m[idx].rights & need) != need ? E_RIGHTS : E_OK;
				rc = htable_get(t, idx, wtype, need, &o);
				if (want == E_OK)
					cr_assert_eq(o, m[idx].obj);
			} else if (r < 80) {
				want = !used ? E_BADH : (rights & ~R_ALL) ? E_INVAL
				     : !(m[idx].rights & R_DUP) ? E_RIGHTS : lowest < 0 ? E_NOMEM : lowest;
				rc = htable_dup(t, idx, rights);
				if (want >= 0) {
					m[want] = m[idx];
					m[want].rights &= rights;
				}
			} else {
				struct handle out;
				want = used ? E_OK : E_BADH;
				rc = htable_close(t, idx, &out);
				if (want == E_OK) {
					cr_assert_eq(memcmp(&out, &m[idx], sizeof out), 0);
					m[idx] = (struct handle){ 0 };
				}
			}
			cr_assert_eq(rc, want, "op %d idx %d: got %d want %d", r, idx, rc, want);
			if (rc < 0 || (r >= 35 && r < 60))
				assert_unchanged(t, s);
			else
				free(s);
			mused = 0;
			for (int i = 0; i < HTABLE_SLOTS; i++)
				mused += m[i].obj != NULL;
			cr_assert_eq(htable_count(t), mused);
			if (op % 53 == 0) {
				check_invariants(t);
				cr_assert_eq(memcmp(t->slot, m, sizeof m), 0, "table differs from model");
			}
		}
		check_invariants(t);
		cr_assert_eq(memcmp(t->slot, m, sizeof m), 0, "table differs from model");
		free(t);
	}
}
