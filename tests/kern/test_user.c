// test_user.c: runs the user test programs (tests/user/) and checks what they cannot
// see themselves: every program exits 0 with no thread killed, and afterwards the
// kernel heap, the frames of mem objects and the page tables are back where they were.
// Each program is a KTAP subtest of the case that runs it, reported here by how it
// ended; the program prints its own cases one level deeper (user/lib/utest.h).
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

// Reports program name as the running case's next subtest: ok if it ran (err) and
// ended with want_status after want_faults threads were killed by faults.
static void report(const char *name, int err, const struct uprog_result *r, int want_status,
		   uint32_t want_faults)
{
	char why[128];
	bool ok = err == E_OK && r->status == want_status && r->faults == want_faults;
	if (err != E_OK)
		fmt_snprintf(why, sizeof why, "could not run: error %d", err);
	else if (!ok)
		fmt_snprintf(why, sizeof why, "exit status %d (want %d), %u threads killed by faults (want %u)",
			     r->status, want_status, r->faults, want_faults);
	ktest_subtest(ok, name, ok ? NULL : why);
}

// Runs specs[0, n) at once: each must exit 0 with no thread killed, and together
// leave nothing behind.
static void run_group(const struct uprog_spec *specs, int n)
{
	struct usage before = usage_now();
	struct uprog_result r[UPROG_GROUP_MAX];
	ktest_plan(n);
	int err = uprog_run_group(specs, n, r);
	for (int i = 0; i < n; i++)
		report(specs[i].name, err, &r[i], 0, 0);
	expect_usage(before);
}

static void run_one(const char *name)
{
	struct uprog_spec s = { name, 0, 0, 0 };
	run_group(&s, 1);
}

KTEST(user_smap_smep_on) { EXPECT_TRUE(uentry_smap()); }
KTEST(user_umip_on) { EXPECT_TRUE(uentry_umip()); } // QEMU -cpu max has it
KTEST(user_ulib) { run_one("ulib"); }
KTEST(user_umode) { run_one("umode"); }
KTEST(user_handles) { run_one("handles"); }
KTEST(user_badinput) { run_one("badinput"); }
KTEST(user_coherence) { run_one("coherence"); }
KTEST(user_targeting) { run_one("targeting"); }
KTEST(user_lazy) { run_one("lazy"); }
KTEST(user_spaces) { run_one("spaces"); }
KTEST(user_upcalls) { run_one("upcalls"); }
KTEST(user_rtthreads) { run_one("rtthreads"); }
KTEST(user_gcdemo) { run_one("gcdemo"); }

static uint64_t boot_number(const char *key, uint64_t dflt)
{
	char buf[24];
	if (boot_arg(key, buf, sizeof buf) != E_OK)
		return dflt;
	uint64_t v = 0;
	for (const char *p = buf; *p >= '0' && *p <= '9'; p++)
		v = v * 10 + (uint64_t)(*p - '0');
	return v;
}

// The system-call fuzzer (tests/user/fuzz.c): `fuzzcalls=N fuzzseed=S` on the command
// line (make fuzz) choose its length and seed; by default 20k calls, seed 1.
KTEST(user_fuzz)
{
	uint64_t calls = boot_number("fuzzcalls", 0), seed = boot_number("fuzzseed", 0);
	struct uprog_spec s = { "fuzz", (seed << 32) | (calls & 0xffffffffu), 0, 0 };
	run_group(&s, 1);
}

// A million thread records need about 200 MiB: run where memory allows (the suite's
// 6 GiB boot), and say so elsewhere.
KTEST(user_rt_million_threads)
{
	if (frame_usable_count() < (1UL << 30) / 4096) {
		ktest_skip("needs 1 GiB of RAM, runs in the 6 GiB boot");
		return;
	}
	run_one("rt1m");
}

// The hog's budget is one IPI a tick: two lowerings within one 10 ms tick exceed it,
// however slow IPIs are. The victim, in another space, must not notice.
KTEST(user_budget)
{
	uint32_t n = ncpus_online;
	struct uprog_spec s[2] = {
		{ "budget_hog", 0, 0, 1 },
		{ "budget_victim", 0, n > 2 ? 2 : 0, 0 },
	};
	run_group(s, 2);
}

// After a warm-up (heap pages, cached kernel stacks), a run must leave the free-frame
// count exactly as it found it.
KTEST(user_spaces_free_frames_exact)
{
	struct uprog_result r;
	ktest_plan(2);
	report("spaces", uprog_run("spaces", 0, 0, &r), &r, 0, 0);
	uint64_t before = frame_free_count();
	report("spaces", uprog_run("spaces", 0, 0, &r), &r, 0, 0);
	EXPECT_EQ(before, frame_free_count());
}

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

// A space deleting itself stops all its vcpus, blocked ones included.
KTEST(user_selfdelete) { run_one("selfdelete"); }

// A fault no upcall handles stops the vcpu and is reported; the space still goes.
KTEST(user_unhandled_fault_stops_vcpu)
{
	struct usage before = usage_now();
	struct uprog_result r;
	ktest_plan(1);
	report("faulty", uprog_run("faulty", 0, 0, &r), &r, -1, 1);
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
