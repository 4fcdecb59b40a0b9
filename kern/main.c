// main.c: the boot sequence, in dependency order, then the mode the command line asks
// for: start init (default), the in-kernel tests, the benchmarks, or a deliberate fault.
#include "kern/boot.h"
#include "kern/console.h"
#include "kern/frame.h"
#include "kern/kheap.h"
#include "kern/idle.h"
#include "kern/sched.h"
#include "kern/uprog.h"
#include "kern/roottask.h"
#include "kern/ktest.h"
#include "kern/bench.h"
#include "kern/panic.h"
#include "kern/timer.h"
#include "kern/xcall.h"
#include "lib/string.h"
#include "include/pagoda/errors.h"
#include <arch/arch.h>
#include <arch/paging.h>

extern char _image_start_pa[], _bss_end_pa[];

static void memory_init(bool poison)
{
	static struct mrange usable[64];
	struct mrange excl[1 + 1 + BOOT_MAX_MODS] = {
		{ 0, 0x100000 }, // BIOS, the AP trampoline
		{ (uintptr_t)_image_start_pa, (uintptr_t)_bss_end_pa - (uintptr_t)_image_start_pa },
	};
	size_t nexcl = 2;
	for (size_t i = 0; i < boot_info.nmods; i++)
		excl[nexcl++] = (struct mrange){ boot_info.mods[i].start,
						 boot_info.mods[i].end - boot_info.mods[i].start };
	int n = memmap_usable(boot_info.mmap, boot_info.nmmap, excl, nexcl, usable, 64);
	if (n <= 0)
		panic("no usable memory in the firmware map (%d)", n);
	kprintf("memory: %d usable ranges, %lu MiB\n", n, memmap_total(usable, n) >> 20);
	frame_early_init(usable, n);
	frame_init();
	kheap_init(poison);
}

static void hello(void *arg)
{
	(void)arg;
	kprintf("online: apic id %u, %lu ticks so far\n", this_cpu()->apic_id, timer_ticks(cpu_id()));
}

// The normal boot (`make run`): say every CPU is up and talking, then start init,
// which decides everything else (the demo, or `make run PROG=`); its end ends the run.
static void start_init(void)
{
	kprintf("pagoda: %u CPUs online, %lu of %lu frames free\n", ncpus_online,
		frame_free_count(), frame_usable_count());
	job_run(cpuset_online(), hello, NULL);
	roottask_run();
}

// mode=fault: proves that a kernel exception is reported and fails the run.
__attribute__((noinline)) static void fault_deliberately(void)
{
	kprintf("fault: writing to an unmapped kernel address\n");
	*(volatile uint64_t *)0xffffff7fdead0000UL = 1;
}

// mode=ubsan: proves that the sanitizer build (kern/ubsan.c) catches undefined
// behaviour and fails the run; the normal build just overflows.
__attribute__((noinline)) static void overflow_deliberately(void)
{
	volatile int big = 0x7fffffff;
	kprintf("ubsan: overflowing a signed int on purpose\n");
	kprintf("ubsan: %d, not caught\n", big + 1);
}

void kmain(uint32_t magic, uint32_t mbi_pa)
{
	arch_early_init(); // from here on exceptions are reported
	console_init();
	kprintf("pagoda booting\n");
	paging_init();
	if (boot_parse_multiboot(magic, mbi_pa) != E_OK)
		panic("no usable boot information (magic %#x): see the lines above", magic);
	kprintf("cmdline: %s\n", boot_info.cmdline);
	char mode[16] = "demo", filter[64] = "";
	boot_arg("mode", mode, sizeof mode);
	boot_arg("ktest", filter, sizeof filter);
	memory_init(strcmp(mode, "test") == 0);
	uprog_init();
	sched_init_cpu(); // kmain becomes cpu0's idle thread: it runs when nothing else does
	arch_timer_init();
	arch_start_aps();
	irq_enable();

	if (strcmp(mode, "test") == 0)
		ktest_run_all(filter);
	else if (strcmp(mode, "bench") == 0)
		bench_run();
	else if (strcmp(mode, "fault") == 0)
		fault_deliberately();
	else if (strcmp(mode, "ubsan") == 0)
		overflow_deliberately();
	else
		start_init();
	panic("mode %s returned", mode);
}
