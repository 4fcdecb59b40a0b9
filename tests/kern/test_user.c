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
	err = space_create(&s, NULL);
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
	EXPECT_OK(space_create(&root, NULL));
	EXPECT_OK(space_create(&a, root));
	EXPECT_OK(space_create(&b, a));
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

// A chain 10,000 deep in the tree (each the parent of the next): deleting the top
// deletes them all, in bounded stack.
KTEST(space_delete_of_a_10000_deep_tree)
{
	struct usage before = usage_now();
	struct space *top, *s;
	EXPECT_OK(space_create(&top, NULL));
	s = top;
	for (int i = 0; i < 10000; i++) {
		struct space *c;
		if (space_create(&c, s) != E_OK) {
			EXPECT_TRUE(!"space_create failed");
			break;
		}
		// Each link keeps the next alive through a handle, as user space would.
		EXPECT_GT(space_handle_add(s, &c->obj, OBJ_SPACE, R_ALL), 0);
		obj_unref(&c->obj);
		s = c;
	}
	struct space *dead_child;
	EXPECT_OK(space_create(&dead_child, top)); // a live parent takes children
	obj_unref(&dead_child->obj);
	EXPECT_OK(space_delete(top, NULL));
	EXPECT_ERR(space_create(&dead_child, top), E_NOENT); // a deleted one no more
	EXPECT_TRUE(space_wait_torn_down(top, NULL));
	obj_unref(&top->obj);
	expect_usage(before);
}
