// mem.c: memory objects. Creation charges the payer first (the frames, and the heap
// for the object and its frame list), then takes frames one by one; any failure
// gives everything back, so E_NOMEM leaves no trace.
#include <stddef.h>
#include "kern/mem.h"
#include "kern/space.h"
#include "kern/frame.h"
#include "kern/kheap.h"
#include "kern/spinlock.h"
#include "kern/boot.h"
#include <arch/arch.h>
#include "include/pagoda/errors.h"
#include <arch/paging.h>

static _Atomic uint64_t frames_in_use;

uint64_t mem_frames_in_use(void) { return frames_in_use; }

// A mem is as large as user space asked, and its last reference often goes under a
// space's lock (unmap, teardown): an interrupt window every 512 frames.
static void free_frames(struct mem *m, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		frame_free(m->frames[i]);
		if (i % 512 == 511)
			irq_window();
	}
	frames_in_use -= n;
}

// What a mem of n frames costs the kernel's heap: the struct and its frame list.
static uint64_t struct_cost(uint64_t n) { return kheap_cost(sizeof(struct mem) + n * sizeof(uint64_t)); }

// The last step of both creations: m (its frames filled) becomes a mem of n pages.
static void publish(struct mem *m, struct space *payer, uint64_t n, struct mem **out)
{
	m->obj.type = OBJ_MEM;
	m->obj.refs = 1;
	m->payer = payer;
	m->npages = n;
	obj_ref(&payer->obj);
	*out = m;
}

int mem_create(struct space *payer, uint64_t size, struct mem **out)
{
	if (size == 0 || (size & PAGE_MASK))
		return E_INVAL;
	uint64_t n = size / PAGE_SIZE;
	if (n > frame_usable_count())
		return E_NOMEM;
	uint64_t cost = struct_cost(n);
	if (space_charge(payer, CHARGE_KERNEL, cost) != E_OK)
		return E_NOMEM;
	if (space_charge(payer, CHARGE_MEM, n * PAGE_SIZE) != E_OK) {
		space_uncharge(payer, CHARGE_KERNEL, cost);
		return E_NOMEM;
	}
	struct mem *m = kzalloc(sizeof *m + n * sizeof m->frames[0]);
	if (!m)
		goto uncharge;
	for (uint64_t i = 0; i < n; i++) {
		if (frame_alloc_zeroed(&m->frames[i]) != E_OK) {
			frames_in_use += i;
			free_frames(m, i);
			kfree(m);
			goto uncharge;
		}
	}
	frames_in_use += n;
	publish(m, payer, n, out);
	return E_OK;
uncharge:
	space_uncharge(payer, CHARGE_MEM, n * PAGE_SIZE);
	space_uncharge(payer, CHARGE_KERNEL, cost);
	return E_NOMEM;
}

// Whether [pa, pa + size) overlaps anything the firmware reported as RAM (or ACPI
// tables, types 3 and 4): the frame pool, the kernel, modules, and what it reserves.
static bool is_ram(uint64_t pa, uint64_t size)
{
	for (size_t i = 0; i < boot_info.nmmap; i++) {
		const struct mmap_entry *e = &boot_info.mmap[i];
		bool ram = e->type == MMAP_USABLE || e->type == 3 || e->type == 4;
		uint64_t end = e->len > UINT64_MAX - e->base ? UINT64_MAX : e->base + e->len; // entries may run past 2^64
		if (ram && e->len && pa < end && e->base < pa + size)
			return true;
	}
	return pa < 0x100000; // the first MiB: BIOS data, tables, the AP trampoline
}

#define PHYS_LIMIT (1ull << 52) // the architectural physical address width

int mem_create_device(struct space *payer, uint64_t pa, uint64_t size, struct mem **out)
{
	if (size == 0 || ((pa | size) & PAGE_MASK) || pa >= PHYS_LIMIT || size > PHYS_LIMIT - pa)
		return E_INVAL;
	if (is_ram(pa, size) || arch_mmio_kernel(pa, size))
		return E_RANGE;
	uint64_t n = size / PAGE_SIZE;
	if (n > (1u << 20)) // 4 GiB: more than any BAR here, and a bounded frame list
		return E_INVAL;
	uint64_t cost = struct_cost(n);
	if (space_charge(payer, CHARGE_KERNEL, cost) != E_OK)
		return E_NOMEM;
	struct mem *m = kzalloc(sizeof *m + n * sizeof m->frames[0]);
	if (!m) {
		space_uncharge(payer, CHARGE_KERNEL, cost);
		return E_NOMEM;
	}
	for (uint64_t i = 0; i < n; i++)
		m->frames[i] = pa + i * PAGE_SIZE;
	m->device = true;
	publish(m, payer, n, out);
	return E_OK;
}

void mem_destroy(struct mem *m)
{
	struct space *payer = m->payer;
	if (!m->device) {
		free_frames(m, m->npages);
		space_uncharge(payer, CHARGE_MEM, m->npages * PAGE_SIZE);
	}
	space_uncharge(payer, CHARGE_KERNEL, struct_cost(m->npages));
	kfree(m);
	obj_unref(&payer->obj);
}
