// test_user.c: the kernel's side of running user programs: user-mode protections
// (SMAP, SMEP, UMIP), the kernel's ELF loader (it loads init) on good and malformed
// images, and the lifetime tree of spaces; each checks that the kernel heap, the
// frames of mem objects and the page tables are back where they were. The user test
// programs themselves (tests/user/) run under init (user/init/testrun.c).
#include "kern/ktest.h"
#include "kern/console.h"
#include "kern/uprog.h"
#include "kern/space.h"
#include "kern/mem.h"
#include "kern/kheap.h"
#include "kern/frame.h"
#include "kern/sched.h"
#include "lib/elf.h"
#include "kern/boot.h"
#include "kern/shootdown.h"
#include "lib/string.h"
#include "lib/fmt.h"
#include "include/pagoda/errors.h"
#include <arch/mmu.h>
#include <arch/uaccess.h>

struct usage {
	uint64_t heap, mem_frames, tables;
};

static struct usage usage_now(void)
{
	return (struct usage){ kheap_in_use(), mem_frames_in_use(), mmu_tables_in_use() };
}

static void expect_usage(struct usage before)
{
	struct usage after = usage_now();
	EXPECT_EQ(before.heap, after.heap);
	EXPECT_EQ(before.mem_frames, after.mem_frames);
	EXPECT_EQ(before.tables, after.tables);
}

// The user test programs (tests/user/) run under init's test runner
// (user/init/testrun.c), with the same leak checks read through the resource handle.
KTEST(uentry_smap_smep_on) { EXPECT_TRUE(uentry_smap()); }
KTEST(uentry_umip_on) { EXPECT_TRUE(uentry_umip()); } // QEMU -cpu max has it

// ---- Malformed ELF images: rejected with an error, nothing leaked -------------

typedef void (*corrupt_fn)(uint8_t *img, size_t len);

static void bad_magic(uint8_t *img, size_t len) { (void)len; img[1] = 'X'; }
static void bad_class(uint8_t *img, size_t len) { (void)len; img[4] = 1; }   // ELFCLASS32
static void bad_phoff(uint8_t *img, size_t len) { (void)len; uint64_t v = 1ull << 40; memcpy(img + 32, &v, 8); }
static void truncated(uint8_t *img, size_t len) { (void)img; (void)len; }
static void kernel_vaddr(uint8_t *img, size_t len)
{
	(void)len;
	uint64_t phoff, va = 0xffffffff80000000ull;
	memcpy(&phoff, img + 32, 8);
	for (int i = 0; i < 2; i++) { // first two program headers: vaddr and paddr
		uint32_t type;
		memcpy(&type, img + phoff + 56 * i, 4);
		if (type == 1) {
			memcpy(img + phoff + 56 * i + 16, &va, 8);
			break;
		}
	}
}
static void entry_outside(uint8_t *img, size_t len) { (void)len; uint64_t e = 0x1000; memcpy(img + 24, &e, 8); }

static int load_copy(corrupt_fn fn, size_t keep)
{
	struct uprog p;
	int err = uprog_find("hello", &p);
	if (err != E_OK)
		return err;
	size_t len = (size_t)(p.end - p.start);
	uint8_t *img = kmalloc(len);
	if (!img)
		return E_NOMEM;
	memcpy(img, p.start, len);
	if (fn)
		fn(img, len);
	struct space *s;
	err = space_create(&s, NULL, SPACE_QUOTA_KERNEL, 0);
	if (err == E_OK) {
		uintptr_t entry, stack;
		err = uprog_load(s, img, keep ? keep : len, &entry, &stack);
		space_delete(s, NULL);
		space_wait_torn_down(s, NULL);
		obj_unref(&s->obj);
	}
	kfree(img);
	return err;
}

KTEST(elf_good_image_loads)
{
	struct usage before = usage_now();
	EXPECT_OK(load_copy(NULL, 0));
	expect_usage(before);
}

KTEST(elf_malformed_images_fail)
{
	struct usage before = usage_now();
	EXPECT_ERR(load_copy(bad_magic, 0), E_INVAL);
	EXPECT_ERR(load_copy(bad_class, 0), E_INVAL);
	EXPECT_ERR(load_copy(bad_phoff, 0), E_INVAL);
	EXPECT_ERR(load_copy(truncated, 100), E_INVAL);
	EXPECT_ERR(load_copy(kernel_vaddr, 0), E_RANGE);
	EXPECT_ERR(load_copy(entry_outside, 0), E_RANGE);
	expect_usage(before);
}

// ---- The lifetime tree: deleting a space deletes its descendants ----------------

// root -> a -> b, with a and b holding handles to each other (a cycle nothing else
// reaches once our references go), and a mem mapped in each: deleting root must free
// all of it. Without the tree the cycle lived forever.
KTEST(space_delete_takes_the_subtree_and_its_cycles)
{
	struct usage before = usage_now();
	struct space *root, *a, *b;
	struct mem *m;
	EXPECT_OK(space_create(&root, NULL, SPACE_QUOTA_KERNEL, 0));
	EXPECT_OK(space_create(&a, root, 1 << 20, 1));
	EXPECT_OK(space_create(&b, a, 1 << 19, 1));
	EXPECT_OK(mem_create(root, 4096, &m));
	EXPECT_OK(space_map(a, 0x10000000, m, 0, 4096, PROT_READ, PROT_ALL));
	EXPECT_OK(space_map(b, 0x10000000, m, 0, 4096, PROT_READ, PROT_ALL));
	obj_unref(&m->obj);
	EXPECT_GT(space_handle_add(a, &b->obj, OBJ_SPACE, R_ALL), 0);
	EXPECT_GT(space_handle_add(b, &a->obj, OBJ_SPACE, R_ALL), 0);
	obj_unref(&a->obj);
	obj_unref(&b->obj); // now only the cycle holds a and b
	EXPECT_OK(space_delete(root, NULL));
	EXPECT_TRUE(space_wait_torn_down(root, NULL));
	obj_unref(&root->obj);
	expect_usage(before);
}

static uint64_t quota_left(struct space *s) { return s->quota - atomic_load(&s->charged); }

// A chain 10,000 deep in the tree (each the parent of the next): deleting the top
// deletes them all, in bounded stack.
KTEST(space_delete_of_a_10000_deep_tree)
{
	struct usage before = usage_now();
	struct space *top, *s;
	EXPECT_OK(space_create(&top, NULL, SPACE_QUOTA_KERNEL, 0));
	s = top;
	for (int i = 0; i < 10000; i++) {
		struct space *c;
		// All it has but room for one more child of its own (the dead_child below).
		if (space_create(&c, s, quota_left(s) - space_cost(), 1) != E_OK) {
			EXPECT_TRUE(!"space_create failed");
			break;
		}
		// Each link keeps the next alive through a handle, as user space would.
		EXPECT_GT(space_handle_add(s, &c->obj, OBJ_SPACE, R_ALL), 0);
		obj_unref(&c->obj);
		s = c;
	}
	struct space *dead_child;
	int err = space_create(&dead_child, top, space_cost(), 1); // a live parent takes children
	EXPECT_OK(err);
	if (err == E_OK)
		obj_unref(&dead_child->obj);
	EXPECT_OK(space_delete(top, NULL));
	EXPECT_ERR(space_create(&dead_child, top, space_cost(), 1), E_NOENT); // a deleted one no more
	EXPECT_TRUE(space_wait_torn_down(top, NULL));
	obj_unref(&top->obj);
	expect_usage(before);
}

// ---- The quota tree -------------------------------------------------------------------

// A child's quota is carved out of its parent's, and its own charges stay inside it:
// over it the child gets E_NOMEM while the parent still has room.
KTEST(space_quota_is_carved_from_the_parent)
{
	struct usage before = usage_now();
	struct space *p, *c;
	struct mem *m;
	EXPECT_OK(space_create(&p, NULL, 64ull << 20, 0));
	uint64_t base = atomic_load(&p->charged);
	EXPECT_ERR(space_create(&c, p, 65ull << 20, 1), E_NOMEM);  // more than the parent has
	EXPECT_ERR(space_create(&c, p, space_cost() - 1, 1), E_NOMEM); // less than a space costs
	EXPECT_ERR(space_create(&c, p, 1 << 20, 0), E_INVAL);         // every child is budgeted
	EXPECT_EQ(base, atomic_load(&p->charged));                     // the failures took nothing
	EXPECT_OK(space_create(&c, p, 1 << 20, 1));
	EXPECT_EQ(base + (1 << 20), atomic_load(&p->charged));
	EXPECT_EQ(space_cost(), atomic_load(&c->charged));
	EXPECT_ERR(mem_create(c, 1 << 20, &m), E_NOMEM);  // the child's quota, not the parent's
	EXPECT_OK(mem_create(p, 1 << 20, &m));
	obj_unref(&m->obj);
	EXPECT_OK(mem_create(c, 256 << 10, &m));
	obj_unref(&m->obj);
	EXPECT_EQ(space_cost(), atomic_load(&c->charged));
	EXPECT_OK(space_delete(c, NULL));
	obj_unref(&c->obj);
	EXPECT_EQ(base, atomic_load(&p->charged)); // the share came back with the struct
	EXPECT_OK(space_delete(p, NULL));
	obj_unref(&p->obj);
	expect_usage(before);
}

// A dead child's mem, still mapped by its parent, keeps the child's share charged to
// the parent until the mem goes: a subtree never holds more than its quota.
KTEST(space_quota_returns_when_the_childs_memory_goes)
{
	struct usage before = usage_now();
	struct space *p, *c;
	struct mem *m;
	EXPECT_OK(space_create(&p, NULL, 64ull << 20, 0));
	uint64_t base = atomic_load(&p->charged);
	EXPECT_OK(space_create(&c, p, 1 << 20, 1));
	EXPECT_OK(mem_create(c, 64 << 10, &m));
	EXPECT_OK(space_map(p, 0x10000000, m, 0, 64 << 10, PROT_READ, PROT_ALL));
	obj_unref(&m->obj);
	EXPECT_OK(space_delete(c, NULL));
	obj_unref(&c->obj);
	EXPECT_EQ(1u << 20, atomic_load(&p->charged_by[CHARGE_CHILDREN]));
	EXPECT_OK(space_unmap(p, NULL, 0x10000000, 64 << 10, 0)); // the mem's last reference
	EXPECT_EQ(0u, atomic_load(&p->charged_by[CHARGE_CHILDREN]));
	// What stays is p's own: the tables the map made and the records' storage.
	EXPECT_EQ(base + atomic_load(&p->charged_by[CHARGE_TABLES]) - PAGE_SIZE + p->records_charged,
		  atomic_load(&p->charged));
	EXPECT_OK(space_delete(p, NULL));
	obj_unref(&p->obj);
	expect_usage(before);
}

// Budgets nest too: children hold parts of their parent's, which it cannot spend or
// give twice, and get back when they go.
KTEST(space_budget_is_carved_from_the_parent)
{
	struct usage before = usage_now();
	struct space *p, *a, *b;
	EXPECT_OK(space_create(&p, NULL, 64ull << 20, 10));
	EXPECT_OK(space_create(&a, p, 1 << 20, 6));
	EXPECT_ERR(space_create(&b, p, 1 << 20, 5), E_BUDGET); // 4 left
	EXPECT_OK(space_create(&b, p, 1 << 20, 4));
	EXPECT_EQ(10u, p->budget_carved);
	EXPECT_ERR(space_set_budget(a, 7), E_BUDGET);  // nothing left to take
	EXPECT_ERR(space_set_budget(a, 0), E_INVAL);   // a child is never unlimited
	EXPECT_OK(space_set_budget(a, 2));             // gives 4 back
	EXPECT_EQ(6u, p->budget_carved);
	EXPECT_ERR(space_set_budget(p, 5), E_BUSY);    // below what its children hold
	EXPECT_OK(space_set_budget(p, 6));
	EXPECT_ERR(space_budget_take(p, 1), E_BUDGET); // all of it is its children's now
	EXPECT_OK(space_budget_take(a, 2));
	struct space *c;
	EXPECT_OK(space_child(p, 0, &c)); // newest first
	EXPECT_TRUE(c == b);
	obj_unref(&c->obj);
	EXPECT_OK(space_delete(b, NULL));
	EXPECT_OK(space_child(p, 0, &c)); // a deleted child is not listed
	EXPECT_TRUE(c == a);
	obj_unref(&c->obj);
	EXPECT_ERR(space_child(p, 1, &c), E_NOENT);
	obj_unref(&b->obj);
	EXPECT_EQ(2u, p->budget_carved);
	EXPECT_OK(space_delete(p, NULL)); // and a with it
	obj_unref(&a->obj);
	obj_unref(&p->obj);
	expect_usage(before);
}
