// kwin.c: per-CPU temporary mapping windows (there is no direct map).
// CPU c owns slots [c*KWIN_SLOTS, (c+1)*KWIN_SLOTS) of kwin_pt; only c writes them and
// only c dereferences them. Unmap clears the PTE and invlpg's it locally, so a mapped
// slot never has a stale TLB entry on its CPU and map needs no flush (a 0->1 P-bit
// change needs no invalidation, SDM 4.10.4.3). Other CPUs may at most hold speculative
// entries for our slots, which they never use: no window ever needs an IPI.
// One slot per CPU, KWIN_KEEP, keeps its frame mapped after kwin_unmap_keep: a page
// walk that comes back to the same leaf table (every protect of a page does, twice
// when other CPUs hold the space) then pays no PTE write, invlpg or TLB miss. The slot
// is rewritten, and invlpg'd, only when another frame is asked for, or when every
// other slot is in use and kwin_map takes it; so it too never holds a stale entry.
// A frame it keeps may be freed meanwhile: the window is dereferenced only through
// kwin_map_keep of that same frame, which wants that frame, so that is harmless.
#include "kern/kwin.h"
#include "kern/percpu.h"
#include "kern/spinlock.h"
#include "kern/panic.h"
#include "lib/string.h"
#include <arch/paging.h>
#include <arch/mmu.h>

_Static_assert(MAX_CPUS * KWIN_SLOTS <= 512, "windows fit in one page table");

static uintptr_t slot_va(unsigned slot) { return KWIN_BASE + (uintptr_t)slot * PAGE_SIZE; }

#define KWIN_KEEP (KWIN_SLOTS - 1)

void *kwin_map(uint64_t pa)
{
	irq_save(); // an interrupt handler may take a slot too
	struct cpu *c = this_cpu();
	uint32_t free = ~c->kwin_used & ((1u << KWIN_SLOTS) - 1);
	KASSERT(free != 0);
	if (free & ~(1u << KWIN_KEEP))
		free &= ~(1u << KWIN_KEEP); // the kept slot last: its frame stays
	unsigned s = __builtin_ctz(free);
	c->kwin_used |= 1u << s;
	if (s == KWIN_KEEP && c->kwin_kept) {
		c->kwin_kept = 0;
		kwin_pt[c->id * KWIN_SLOTS + s] = 0;
		arch_tlb_flush_page(slot_va(c->id * KWIN_SLOTS + s));
	}
	irq_restore();
	unsigned slot = c->id * KWIN_SLOTS + s;
	kwin_pt[slot] = (pa & PTE_ADDR) | PTE_P | PTE_W | PTE_NX | PTE_G;
	return (void *)slot_va(slot);
}

void kwin_unmap(void *va)
{
	struct cpu *c = this_cpu();
	unsigned slot = ((uintptr_t)va - KWIN_BASE) / PAGE_SIZE;
	unsigned s = slot - c->id * KWIN_SLOTS;
	KASSERT(s < KWIN_SLOTS && (c->kwin_used & (1u << s)));
	kwin_pt[slot] = 0;
	arch_tlb_flush_page(slot_va(slot));
	irq_save();
	c->kwin_used &= ~(1u << s);
	irq_restore();
}

void *kwin_map_keep(uint64_t pa)
{
	irq_save();
	struct cpu *c = this_cpu();
	if (c->kwin_used & (1u << KWIN_KEEP)) { // nested: an ordinary window
		irq_restore();
		return kwin_map(pa);
	}
	c->kwin_used |= 1u << KWIN_KEEP;
	unsigned slot = c->id * KWIN_SLOTS + KWIN_KEEP;
	uint64_t pte = (pa & PTE_ADDR) | PTE_P | PTE_W | PTE_NX | PTE_G;
	if (c->kwin_kept != pte) {
		bool was = c->kwin_kept != 0;
		kwin_pt[slot] = pte;
		if (was)
			arch_tlb_flush_page(slot_va(slot)); // drop the old frame's entry
		c->kwin_kept = pte;
	}
	irq_restore();
	return (void *)slot_va(slot);
}

void kwin_unmap_keep(void *va)
{
	struct cpu *c = this_cpu();
	unsigned slot = ((uintptr_t)va - KWIN_BASE) / PAGE_SIZE;
	if (slot != c->id * KWIN_SLOTS + KWIN_KEEP) {
		kwin_unmap(va);
		return;
	}
	KASSERT(c->kwin_used & (1u << KWIN_KEEP));
	irq_save();
	c->kwin_used &= ~(1u << KWIN_KEEP);
	irq_restore();
}

// Copies between a kernel buffer and physical memory, one frame at a time.
static void kwin_copy(void *buf, uint64_t pa, size_t len, int to_phys)
{
	char *b = buf;
	while (len) {
		size_t off = pa & PAGE_MASK, n = PAGE_SIZE - off;
		if (n > len)
			n = len;
		char *w = kwin_map(pa);
		if (to_phys)
			memcpy(w + off, b, n);
		else
			memcpy(b, w + off, n);
		kwin_unmap(w);
		b += n, pa += n, len -= n;
	}
}

void kwin_read_phys(void *dst, uint64_t pa, size_t len) { kwin_copy(dst, pa, len, 0); }
void kwin_write_phys(uint64_t pa, const void *src, size_t len) { kwin_copy((void *)src, pa, len, 1); }

void kwin_zero_frame(uint64_t pa)
{
	void *w = kwin_map(pa);
	memset(w, 0, PAGE_SIZE);
	kwin_unmap(w);
}
