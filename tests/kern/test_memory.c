// test_memory.c: frames, temporary windows, the global region and the heap.
#include "kern/ktest.h"
#include "kern/frame.h"
#include "kern/kwin.h"
#include "kern/kva.h"
#include "kern/kheap.h"
#include "kern/idle.h"
#include "lib/string.h"
#include "include/pagoda/errors.h"
#include <arch/paging.h>
#include <arch/arch.h>

// Allocates every free frame, chaining them through their first word (written via a
// window, so each frame is also touched), then frees them all.
KTEST(frame_alloc_all_then_free_all_restores_count)
{
	uint64_t free0 = frame_free_count(), heap0 = kheap_in_use();
	uint64_t head = 0, n = 0, above4g = 0, pa;
	while (frame_alloc(&pa) == E_OK) {
		kwin_write_phys(pa, &head, 8);
		head = pa;
		n++;
		above4g += pa >= (1ULL << 32);
	}
	EXPECT_EQ(n, free0);
	EXPECT_EQ(frame_free_count(), 0);
	EXPECT_ERR(frame_alloc(&pa), E_NOMEM); // failure is a return value, not a panic
	if (frame_highest_usable() >= (1ULL << 32))
		EXPECT_GT(above4g, 0);
	while (head) {
		uint64_t next;
		kwin_read_phys(&next, head, 8);
		frame_free(head);
		head = next;
	}
	EXPECT_EQ(frame_free_count(), free0);
	EXPECT_EQ(kheap_in_use(), heap0);
}

KTEST(frame_claim_of_allocated_frame_fails)
{
	uint64_t pa;
	ASSERT_OK(frame_alloc(&pa)); // without a frame the rest means nothing
	EXPECT_ERR(frame_claim(pa), E_BUSY);
	frame_free(pa);
	ASSERT_OK(frame_claim(pa));
	frame_free(pa);
}

#define HIGH_PER_CPU 4
#define ROUNDS 200

struct high_frames {
	uint64_t pa[MAX_CPUS][HIGH_PER_CPU];
	_Atomic int errors;
	_Atomic int phase_done;
	int ncpu;
};

static uint64_t pattern(uint64_t pa, int round, int word) { return pa ^ ((uint64_t)round << 48) ^ (word * 0x9E3779B97F4A7C15ULL); }

static void fill(uint64_t pa, int round)
{
	uint64_t *w = kwin_map(pa);
	for (int i = 0; i < 512; i++)
		w[i] = pattern(pa, round, i);
	kwin_unmap(w);
}

static int check(uint64_t pa, int round)
{
	uint64_t *w = kwin_map(pa);
	int bad = 0;
	for (int i = 0; i < 512; i++)
		bad += w[i] != pattern(pa, round, i);
	kwin_unmap(w);
	return bad;
}

// Every CPU at once: fill its own high frames through its windows, wait for all,
// then check a neighbour's frames (written through another CPU's windows).
static void high_frames_job(void *arg)
{
	struct high_frames *h = arg;
	int me = cpu_id(), peer = (me + 1) % h->ncpu;
	for (int r = 0; r < ROUNDS; r++) {
		for (int i = 0; i < HIGH_PER_CPU; i++)
			fill(h->pa[me][i], r);
		atomic_fetch_add(&h->phase_done, 1);
		while (atomic_load(&h->phase_done) < (r + 1) * 2 * h->ncpu - h->ncpu)
			cpu_relax();
		for (int i = 0; i < HIGH_PER_CPU; i++)
			atomic_fetch_add(&h->errors, check(h->pa[peer][i], r));
		atomic_fetch_add(&h->phase_done, 1);
		while (atomic_load(&h->phase_done) < (r + 1) * 2 * h->ncpu)
			cpu_relax();
	}
}

KTEST(kwin_high_frames_on_every_cpu_at_once)
{
	static struct high_frames h;
	memset(&h, 0, sizeof h);
	h.ncpu = ncpus_online;
	uint64_t free0 = frame_free_count();
	// Claim the highest free frames: above 4 GiB when the machine has that much.
	uint64_t pa = frame_highest_usable();
	for (int c = 0; c < h.ncpu; c++)
		for (int i = 0; i < HIGH_PER_CPU; i++) {
			while (frame_claim(pa) != E_OK)
				pa -= PAGE_SIZE;
			h.pa[c][i] = pa;
		}
	job_run(cpuset_online(), high_frames_job, &h);
	EXPECT_EQ(h.errors, 0);
	for (int c = 0; c < h.ncpu; c++)
		for (int i = 0; i < HIGH_PER_CPU; i++)
			frame_free(h.pa[c][i]);
	EXPECT_EQ(frame_free_count(), free0);
}

// Each CPU's windows are its own: the same slot index on two CPUs shows two frames.
KTEST(kwin_windows_are_private_to_each_cpu)
{
	uint64_t a, b;
	EXPECT_EQ(frame_alloc_zeroed(&a), E_OK);
	EXPECT_EQ(frame_alloc_zeroed(&b), E_OK);
	uint64_t *wa = kwin_map(a);
	wa[0] = 0x1111;
	uint64_t *wb = kwin_map(b); // second slot, still ours
	EXPECT_TRUE(wa != wb);
	wb[0] = 0x2222;
	EXPECT_EQ(wa[0], 0x1111);
	kwin_unmap(wb);
	kwin_unmap(wa);
	// Unmapped means not present (read the PTE directly: a walk would use a window).
	EXPECT_EQ(kwin_pt[((uintptr_t)wa - KWIN_BASE) / PAGE_SIZE], 0);
	frame_free(a);
	frame_free(b);
}

// The kernel maps its image, its global region and windows in use: nothing else.
KTEST(kernel_tables_have_no_direct_map)
{
	uint64_t pml4[512];
	kwin_read_phys(pml4, kernel_cr3, sizeof pml4);
	for (int i = 0; i < 511; i++)
		EXPECT_EQ(pml4[i], 0);
	uint64_t pa;
	EXPECT_EQ(frame_alloc(&pa), E_OK);
	// A free frame's would-be direct-map addresses are not mapped.
	EXPECT_EQ(pt_lookup(kernel_cr3, 0xffff800000000000UL + pa), 0);
	EXPECT_EQ(pt_lookup(kernel_cr3, 0xffffffff80000000UL + pa), 0); // image alias: image only
	frame_free(pa);
}

KTEST(kva_stack_has_unmapped_guard_page)
{
	uintptr_t base;
	EXPECT_EQ(kva_alloc_stack(2, &base), E_OK);
	EXPECT_EQ(pt_lookup(kernel_cr3, base - PAGE_SIZE), 0);
	EXPECT_TRUE(pt_lookup(kernel_cr3, base) & PTE_P);
	EXPECT_TRUE(pt_lookup(kernel_cr3, base) & PTE_NX);
	*(volatile uint64_t *)(base + PAGE_SIZE + 8) = 1; // mapped and writable
}

KTEST(kheap_alloc_free_returns_to_zero_and_reuses)
{
	size_t in0 = kheap_in_use();
	size_t pages0 = kva_pages_mapped();
	void *p[64];
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 64; i++) {
			p[i] = kmalloc(8 + i * 97);
			EXPECT_TRUE(p[i] != NULL);
			EXPECT_EQ((uintptr_t)p[i] & 15, 0);
			memset(p[i], i, 8 + i * 97);
		}
		for (int i = 0; i < 64; i++)
			kfree(p[i]);
		EXPECT_EQ(kheap_in_use(), in0);
		if (round == 0)
			pages0 = kva_pages_mapped();
		else
			EXPECT_EQ(kva_pages_mapped(), pages0); // reused, not regrown
	}
	EXPECT_TRUE(kmalloc(0) == NULL);
}

// memmove moves 8 bytes at a time: every overlap, both ways, at every alignment and
// with tails of every length, against a byte-by-byte model.
KTEST(memmove_overlaps_both_ways)
{
	static uint8_t buf[96], want[96];
	for (unsigned from = 0; from < 24; from++)
		for (unsigned to = 0; to < 24; to++)
			for (unsigned n = 0; n < 40; n += 3) {
				for (unsigned i = 0; i < sizeof buf; i++)
					buf[i] = want[i] = (uint8_t)(i * 7 + 1);
				uint8_t tmp[40];
				for (unsigned i = 0; i < n; i++)
					tmp[i] = want[from + i];
				for (unsigned i = 0; i < n; i++)
					want[to + i] = tmp[i];
				memmove(buf + to, buf + from, n);
				if (memcmp(buf, want, sizeof buf) != 0) {
					EXPECT_TRUE(!"memmove differs from the model");
					return;
				}
			}
}
