// roottask.c: starts the root task, init: the one program the kernel runs by itself
// (SPEC §1.6). It comes from the boot archive (member "init"), runs in a space with no
// parent (the root of the lifetime tree, its quota the machine's memory), and gets
// handles to what the kernel owns: each boot module as a read-only mem object, and the
// resource handle, listed in a read-only boot-info page (include/pagoda/bootinfo.h).
// Everything else is init's decision. When init's last vcpu stops, the machine ends,
// with init's status: 0 and no fault is success (docs/boot.md).
#include "kern/roottask.h"
#include "kern/uprog.h"
#include "kern/space.h"
#include "kern/mem.h"
#include "kern/vcpu.h"
#include "kern/sched.h"
#include "kern/resource.h"
#include "kern/frame.h"
#include "kern/kheap.h"
#include "kern/boot.h"
#include "kern/console.h"
#include "kern/percpu.h"
#include "lib/string.h"
#include "include/pagoda/bootinfo.h"
#include "include/pagoda/errors.h"
#include <arch/arch.h>
#include <arch/paging.h>

#define MOD_RIGHTS (R_READ | R_MAP | R_DUP | R_TRANSFER) // never R_WRITE: modules are read-only

static uint64_t page_up(uint64_t v) { return (v + PAGE_MASK) & ~PAGE_MASK; }

// Module i as a mem object of s's (a copy: the module's own frames stay the kernel's,
// mapped read-only for the in-kernel tests, and never enter the allocator), its handle
// in bi->mods. A module that cannot be copied is left out, and said so.
static void give_module(struct space *s, size_t i, struct pg_bootinfo *bi)
{
	const struct boot_module *b = &boot_info.mods[i];
	const uint8_t *va = uprog_module(i);
	uint64_t size = b->end - b->start;
	struct mem *m;
	int err = va && size ? uprog_mem_with(s, page_up(size), va, 0, size, &m) : E_INVAL;
	int h = err == E_OK ? space_handle_add(s, &m->obj, OBJ_MEM, MOD_RIGHTS) : err;
	if (err == E_OK)
		obj_unref(&m->obj); // the handle holds it (or nothing, if that failed)
	if (h < 0) {
		kprintf("init: module %lu (\"%s\") not given to init: error %d\n", i, b->name, h);
		return;
	}
	struct pg_boot_module *o = &bi->mods[bi->nmods++];
	o->mem = h;
	o->size = size;
	strlcpy(o->name, b->name, sizeof o->name);
}

// The boot-info page, mapped read-only (and never writable: maxprot) at PG_BOOTINFO_VA.
static int give_bootinfo(struct space *s, struct pg_bootinfo *bi)
{
	struct mem *m;
	int err = uprog_mem_with(s, PAGE_SIZE, (const uint8_t *)bi, 0, sizeof *bi, &m);
	if (err != E_OK)
		return err;
	err = space_map(s, PG_BOOTINFO_VA, m, 0, PAGE_SIZE, PROT_READ, PROT_READ);
	obj_unref(&m->obj);
	return err;
}

// Builds init's space and starts its vcpu on cpu0; *out holds the caller's reference.
static int start(const struct uprog *p, struct space **out)
{
	struct pg_bootinfo *bi = kmalloc(sizeof *bi);
	if (!bi)
		return E_NOMEM;
	*bi = (struct pg_bootinfo){ .magic = PG_BOOTINFO_MAGIC, .version = 1, .ncpus = ncpus_online };
	strlcpy(bi->cmdline, boot_info.cmdline, sizeof bi->cmdline);
	struct space *s;
	// The whole machine's memory is init's to hand out, and its budget is unlimited:
	// the root of the quota tree (every other space's share is carved out of it).
	int err = space_create(&s, NULL, frame_usable_count() * PAGE_SIZE, 0);
	if (err == E_OK) {
		for (size_t i = 0; i < boot_info.nmods && i < PG_BOOT_MAX_MODS; i++)
			give_module(s, i, bi);
		bi->resource = space_handle_add(s, &root_resource.obj, OBJ_RESOURCE, R_READ | R_WRITE);
		err = bi->resource < 0 ? bi->resource : give_bootinfo(s, bi);
		if (err == E_OK)
			err = uprog_start(s, p, PG_BOOTINFO_VA, 0);
		*out = s;
	}
	kfree(bi);
	return err;
}

void roottask_run(void)
{
	struct uprog p;
	int err = uprog_find("init", &p);
	if (err != E_OK) {
		kprintf("pagoda: no program \"init\" in the boot archive (error %d): nothing to run\n", err);
		arch_exit(EXIT_FAILURE_CODE);
	}
	struct space *s = NULL;
	err = start(&p, &s);
	if (err != E_OK)
		kprintf("pagoda: init could not be started: error %d\n", err);
	// This is cpu0's idle thread: waiting lets init (and all it starts) run here too.
	while (err == E_OK && atomic_load(&s->nvcpus) > 0)
		sched_idle_once();
	int status = err == E_OK ? atomic_load(&s->exit_status) : err;
	uint32_t faults = s ? atomic_load(&s->faults) : 0;
	if (s) {
		space_delete(s, NULL);
		space_wait_torn_down(s, NULL);
		obj_unref(&s->obj);
	}
	if (status != 0 || faults != 0) {
		kprintf("pagoda: init ended with status %d, %u threads killed by faults\n", status, faults);
		arch_exit(EXIT_FAILURE_CODE);
	}
	arch_exit(EXIT_SUCCESS_CODE);
}
