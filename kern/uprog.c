// uprog.c: the boot archive's programs (uprog.h): finding them, loading one into a
// space, and running them for the in-kernel tests. The ELF image is checked by
// elf_parse() first; each segment is copied into a fresh mem object charged to the
// space, mapped with the segment's rights, and the mapping holds the only reference.
#include <stddef.h>
#include "kern/uprog.h"
#include "lib/elf.h"
#include "kern/space.h"
#include "kern/mem.h"
#include "kern/vcpu.h"
#include "kern/sched.h"
#include "kern/kwin.h"
#include "kern/kheap.h"
#include "kern/console.h"
#include "kern/kva.h"
#include "kern/boot.h"
#include "lib/cpio.h"
#include "lib/string.h"
#include "include/pagoda/errors.h"
#include <arch/paging.h>

#define USTACK_TOP   PG_STACK_TOP // abi.h: the layout pg_spawn makes too
#define USTACK_PAGES PG_STACK_PAGES

// Written at boot (uprog_init), read-only after.
static const uint8_t *mod_va[BOOT_MAX_MODS];
static const uint8_t *archive;
static size_t archive_len;

void uprog_init(void)
{
	for (size_t i = 0; i < boot_info.nmods; i++) {
		const struct boot_module *b = &boot_info.mods[i];
		uint64_t lo = b->start & ~PAGE_MASK, hi = (b->end + PAGE_MASK) & ~PAGE_MASK;
		const uint8_t *va = b->end > b->start ? kva_map_ro(lo, (hi - lo) / PAGE_SIZE) : NULL;
		mod_va[i] = va ? va + (b->start - lo) : NULL;
		kprintf("module %lu: %lu bytes at %#lx, \"%s\"%s\n", i, b->end - b->start, b->start, b->name,
			mod_va[i] ? "" : " (not mapped)");
		if (!archive && mod_va[i] && b->end - b->start >= 6 && memcmp(mod_va[i], "070701", 6) == 0)
			archive = mod_va[i], archive_len = b->end - b->start;
	}
	if (!archive)
		kprintf("uprog: no boot archive (a cpio newc multiboot module): no program can run\n");
}

const uint8_t *uprog_archive(size_t *len)
{
	*len = archive_len;
	return archive;
}

const uint8_t *uprog_module(size_t i) { return i < BOOT_MAX_MODS ? mod_va[i] : NULL; }

int uprog_find(const char *name, struct uprog *out)
{
	struct cpio_entry e;
	const char *why;
	if (!archive)
		return E_NOENT;
	int err = cpio_find(archive, archive_len, name, &e, &why);
	if (err == E_INVAL)
		kprintf("uprog: boot archive rejected looking for %s: %s\n", name, why);
	if (err == E_OK)
		*out = (struct uprog){ e.data, e.data + e.size };
	return err;
}

// Copies len bytes of src to byte offset off of m.
static void mem_write(struct mem *m, uint64_t off, const uint8_t *src, uint64_t len)
{
	while (len) {
		uint64_t in = off & PAGE_MASK, n = PAGE_SIZE - in;
		if (n > len)
			n = len;
		kwin_write_phys(m->frames[off / PAGE_SIZE] + in, src, n);
		off += n, src += n, len -= n;
	}
}

int uprog_mem_with(struct space *payer, uint64_t len, const uint8_t *data, uint64_t doff, uint64_t dlen,
		   struct mem **out)
{
	int err = mem_create(payer, len, out);
	if (err == E_OK && data)
		mem_write(*out, doff, data, dlen);
	return err;
}

// A fresh mem object of len bytes mapped at va; data (may be NULL) copied in at doff.
static int map_new(struct space *s, uintptr_t va, uint64_t len, unsigned prot,
		   const uint8_t *data, uint64_t doff, uint64_t dlen)
{
	struct mem *m;
	int err = uprog_mem_with(s, len, data, doff, dlen, &m);
	if (err != E_OK)
		return err;
	err = space_map(s, va, m, 0, len, prot, PROT_ALL);
	obj_unref(&m->obj); // the mapping holds it now (or nothing, on error)
	return err;
}

int uprog_load(struct space *s, const uint8_t *img, size_t len, uintptr_t *entry, uintptr_t *stack)
{
	struct elf_info *e = kmalloc(sizeof *e);
	if (!e)
		return E_NOMEM;
	const char *why;
	int err = elf_parse_why(img, len, e, &why);
	if (err != E_OK)
		kprintf("uprog: ELF rejected (%d): %s\n", err, why);
	for (uint32_t i = 0; err == E_OK && i < e->nseg; i++) {
		struct elf_seg *g = &e->seg[i];
		uintptr_t lo = g->va & ~PAGE_MASK, hi = (g->va + g->memsz + PAGE_MASK) & ~PAGE_MASK;
		err = map_new(s, lo, hi - lo, g->prot, img + g->off, g->va - lo, g->filesz);
	}
	if (err == E_OK)
		err = map_new(s, USTACK_TOP - USTACK_PAGES * PAGE_SIZE, USTACK_PAGES * PAGE_SIZE,
			      PROT_READ | PROT_WRITE, NULL, 0, 0);
	*entry = e->entry;
	*stack = USTACK_TOP;
	kfree(e);
	return err;
}

int uprog_start(struct space *s, const struct uprog *p, uint64_t arg, int cpu)
{
	uintptr_t entry, stack;
	int err = uprog_load(s, p->start, (size_t)(p->end - p->start), &entry, &stack);
	if (err == E_OK)
		err = vcpu_create(s, entry, stack, arg, cpu, NULL);
	return err;
}

int uprog_run_group(const struct uprog_spec *specs, int n, struct uprog_result *res)
{
	struct space *sp[UPROG_GROUP_MAX] = { 0 };
	int err = n > 0 && n <= UPROG_GROUP_MAX ? E_OK : E_INVAL;
	for (int i = 0; err == E_OK && i < n; i++) {
		struct uprog p;
		if ((err = uprog_find(specs[i].name, &p)) != E_OK)
			break;
		uint64_t quota = specs[i].quota ? specs[i].quota : SPACE_QUOTA_KERNEL;
		if ((err = space_create(&sp[i], NULL, quota, specs[i].budget)) != E_OK)
			break;
		err = uprog_start(sp[i], &p, specs[i].arg, specs[i].cpu);
	}
	// This is cpu0's idle thread: waiting lets the programs' threads run here too.
	for (int i = 0; i < n; i++)
		while (err == E_OK && atomic_load(&sp[i]->nvcpus) > 0)
			sched_idle_once();
	for (int i = 0; i < n && sp[i]; i++) {
		res[i].status = atomic_load(&sp[i]->exit_status);
		res[i].faults = atomic_load(&sp[i]->faults);
		space_delete(sp[i], NULL);
		space_wait_torn_down(sp[i], NULL);
		obj_unref(&sp[i]->obj);
	}
	return err;
}

int uprog_run(const char *name, uint64_t arg, int cpu, struct uprog_result *res)
{
	struct uprog_spec spec = { name, arg, cpu, 0, 0 };
	return uprog_run_group(&spec, 1, res);
}
