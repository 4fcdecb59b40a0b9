// testrun.c: init's test runner (`-- -t [prefix]` on the command line; tools/runtests.py
// boots it): runs the user test programs (tests/user/) from the boot archive, each in a
// space of its own, and checks what they cannot see themselves: every program exits
// as its case wants (status 0 and no thread killed, unless said otherwise), and
// afterwards the kernel heap, the frames of mem objects and the page tables are back
// where they were, read through the resource handle (kernel_stat). Reports in KTAP as
// the in-kernel ktests do: one case per entry below, its programs as subtests, each
// program's own cases one level deeper (user/lib/utest.h).
#include <stdbool.h>

#include "pagoda.h"
#include "include/pagoda/bootinfo.h"
#include "lib/cpio.h"
#include "testrun.h"

#define MAX_PROGS 2

struct prog {
	const char *name;
	int cpu;           // -1: any; -2: CPU 2 if more than two are online, else 0
	uint64_t budget;
	uint64_t arg;      // main's argument (or'ed with the case's)
};

struct ucase {
	const char *name;
	struct prog progs[MAX_PROGS]; // all start at once; name NULL ends the list
	int want_status;
	uint32_t want_faults;
	int (*special)(const struct ucase *c); // instead of one run: returns failures
};

static const struct pg_bootinfo *bi;
static uint64_t quota_next; // non-zero: the quota the next start() gives (then reset)
static const handle_t *give_next; // handles the next start() gives (then reset)
static uint32_t ngive_next;
static const void *ar;
static size_t ar_len;
static int failures; // of the running case
static uint64_t fuzz_arg;

struct usage {
	long heap, mem_frames, tables;
};

static long kstat(int which)
{
	long v = pg_kernel_stat(bi->resource, which);
	if (v < 0) {
		pg_printf("    # kernel_stat(%d): %s\n", which, pg_strerror((int)v));
		failures++;
	}
	return v;
}

static struct usage usage_now(void)
{
	return (struct usage){ kstat(KSTAT_HEAP_BYTES), kstat(KSTAT_MEM_FRAMES), kstat(KSTAT_PT_TABLES) };
}

static void expect_same(const char *what, long before, long after)
{
	if (before != after) {
		pg_printf("    # leak check: %s %ld before, %ld after\n", what, before, after);
		failures++;
	}
}

static void expect_usage(struct usage before)
{
	struct usage after = usage_now();
	expect_same("kernel heap bytes", before.heap, after.heap);
	expect_same("mem frames", before.mem_frames, after.mem_frames);
	expect_same("page tables", before.tables, after.tables);
}

static int subtests;

static void subtest(bool ok, const char *name, const char *why)
{
	if (why)
		pg_printf("    # %s: %s\n", name, why);
	failures += !ok;
	pg_printf("    %s %d %s\n", ok ? "ok" : "not ok", ++subtests, name);
}

// Starts p: its space handle, or an error (reported).
static handle_t start(const struct prog *p, uint64_t arg)
{
	struct cpio_entry e;
	const char *why = NULL;
	int err = cpio_find(ar, ar_len, p->name, &e, &why);
	if (err != E_OK)
		return err;
	int cpu = p->cpu == -2 ? (bi->ncpus > 2 ? 2 : 0) : p->cpu;
	struct pg_spawn_opts o = { .arg = arg | p->arg, .cpu = cpu, .budget = p->budget, .quota = quota_next,
				   .give = give_next, .ngive = ngive_next };
	quota_next = 0, give_next = NULL, ngive_next = 0;
	handle_t h = pg_spawn(e.data, e.size, &o, &why);
	if (h < 0)
		pg_printf("    # %s: %s\n", p->name, why ? why : "not started");
	return h;
}

// Runs c's programs at once; reports each as a subtest. Their usage is not checked here.
static void run_group(const struct ucase *c, uint64_t arg)
{
	handle_t h[MAX_PROGS];
	int n = 0;
	pg_printf("    KTAP version 1\n");
	while (n < MAX_PROGS && c->progs[n].name)
		n++;
	pg_printf("    1..%d\n", n);
	for (int i = 0; i < n; i++)
		h[i] = start(&c->progs[i], arg);
	for (int i = 0; i < n; i++) {
		char why[128];
		struct pg_exit x = { 0, 0 };
		int err = h[i] < 0 ? h[i] : pg_wait(h[i], &x);
		if (h[i] >= 0) {
			pg_space_delete(h[i]);
			pg_handle_close(h[i]);
		}
		bool ok = err == E_OK && x.status == c->want_status && x.faults == c->want_faults;
		if (err != E_OK)
			pg_snprintf(why, sizeof why, "could not run: %s", pg_strerror(err));
		else if (!ok)
			pg_snprintf(why, sizeof why, "exit status %d (want %d), %u threads killed by faults (want %u)",
				    x.status, c->want_status, x.faults, c->want_faults);
		subtest(ok, c->progs[i].name, ok ? NULL : why);
	}
}

// Runs p alone to its end and reports it as the next subtest.
static void run_alone(const struct prog *p)
{
	struct pg_exit x = { -1, 0 };
	handle_t h = start(p, 0);
	int err = h < 0 ? h : pg_wait(h, &x);
	if (h >= 0) {
		pg_space_delete(h);
		pg_handle_close(h);
	}
	subtest(err == E_OK && x.status == 0 && !x.faults, p->name, err != E_OK ? pg_strerror(err) : NULL);
}

// After a warm-up (heap pages, cached kernel stacks), a run must leave the free-frame
// count exactly as it found it, twice. Two warm-up runs: the heap's free page runs
// settle into their final shape only after the second (it grows by 2 pages then).
static int free_frames_exact(const struct ucase *c)
{
	pg_printf("    KTAP version 1\n    1..4\n");
	run_alone(&c->progs[0]);
	run_alone(&c->progs[0]);
	for (int i = 0; i < 2; i++) {
		long before = kstat(KSTAT_FREE_FRAMES);
		run_alone(&c->progs[0]);
		expect_same("free frames", before, kstat(KSTAT_FREE_FRAMES));
	}
	return 0;
}

// A million thread records need about 200 MiB: run where memory allows.
// A million threads blocked at once hold a stack page each: rt1m gets all the memory
// but 256 MiB (init's default gives half).
static int million(const struct ucase *c)
{
	long free = kstat(KSTAT_FREE_FRAMES);
	if (free < (5L << 30) / 4096)
		return -1; // skipped
	quota_next = (uint64_t)free * 4096 - (256UL << 20);
	run_group(c, 0);
	return 0;
}

static int fuzz(const struct ucase *c)
{
	run_group(c, fuzz_arg);
	return 0;
}

// ---- pg_spawn refuses malformed images, as the kernel's loader does -----------------

#define BAD_VA 0x0e0000000000UL // a writable copy of hello, corrupted in turn

struct corrupt {
	const char *what;
	size_t at;         // bytes patched at this offset (or, with len set, the image cut)
	uint64_t value;
	size_t vlen;       // bytes of value written; 0: cut the image to `at` bytes
	int want;
};

static const struct corrupt corrupts[] = {
	{ "bad magic", 1, 'X', 1, E_INVAL },
	{ "32-bit class", 4, 1, 1, E_INVAL },
	{ "phoff far past the end", 32, 1ull << 40, 8, E_INVAL },
	{ "truncated to 100 bytes", 100, 0, 0, E_INVAL },
	{ "truncated to the header", 64, 0, 0, E_INVAL },
	{ "entry outside every segment", 24, 0x1000, 8, E_RANGE },
	{ "ET_DYN (a PIE)", 16, 3, 2, E_INVAL },
};

static int spawn_bad(const struct ucase *c)
{
	(void)c;
	struct cpio_entry e;
	const char *why;
	if (cpio_find(ar, ar_len, "hello", &e, &why) != E_OK) {
		pg_printf("    # no hello in the archive\n");
		return failures++, 0;
	}
	size_t size = (e.size + 4095) & ~4095UL;
	handle_t m = pg_mem_create(size);
	if (m < 0 || pg_map(H_SELF, BAD_VA, m, 0, size, PROT_READ | PROT_WRITE) != E_OK) {
		pg_printf("    # no room for a copy of hello\n");
		return failures++, 0;
	}
	uint8_t *img = (uint8_t *)BAD_VA;
	for (size_t i = 0; i < sizeof corrupts / sizeof corrupts[0]; i++) {
		const struct corrupt *k = &corrupts[i];
		memcpy(img, e.data, e.size);
		size_t len = k->vlen ? e.size : k->at;
		if (k->vlen)
			memcpy(img + k->at, &k->value, k->vlen);
		struct pg_spawn_opts o = { .cpu = -1 };
		why = NULL;
		handle_t h = pg_spawn(img, len, &o, &why);
		if (h != k->want || !why) {
			pg_printf("    # pg_spawn of hello, %s: %d (%s), want %s\n", k->what, h, why ? why : "no reason",
				  pg_strerror(k->want));
			failures++;
		}
		if (h >= 0) {
			pg_space_delete(h);
			pg_handle_close(h);
		}
	}
	pg_unmap(H_SELF, BAD_VA, size, 0);
	pg_handle_close(m);
	return 0;
}

// ---- Device objects: made from the resource handle, given to tests/user/devices.c ----

// What dev_create refuses, from the one holder of the resource handle: each case
// changes nothing (the leak check around the case sees every object made is gone).
static void dev_create_refusals(void)
{
	static const struct {
		const char *what;
		int kind;
		uint64_t a, b;
		int want;
	} bad[] = {
		{ "kind 0", 0, 0, 1, E_INVAL },
		{ "kind 99", 99, 0, 1, E_INVAL },
		{ "no ports", DEV_PORTS, 0x70, 0, E_INVAL },
		{ "ports past 0xFFFF", DEV_PORTS, 0xFFFF, 2, E_INVAL },
		{ "the console's ports", DEV_PORTS, 0x3F0, 0x10, E_RANGE },
		{ "PCI configuration ports", DEV_PORTS, 0xCFC, 4, E_RANGE },
		{ "the exit port", DEV_PORTS, 0xF4, 1, E_RANGE },
		{ "the PIT", DEV_PORTS, 0x40, 4, E_RANGE },
		{ "MMIO over RAM", DEV_MMIO, 0x200000, 0x1000, E_RANGE },
		{ "MMIO in the first MiB", DEV_MMIO, 0xA0000, 0x1000, E_RANGE },
		{ "MMIO over the local APIC", DEV_MMIO, 0xFEE00000, 0x1000, E_RANGE },
		{ "MMIO over the I/O APIC", DEV_MMIO, 0xFEBFF000, 0x2000, E_RANGE },
		{ "MMIO unaligned", DEV_MMIO, 0xFEB00010, 0x1000, E_INVAL },
		{ "MMIO of no bytes", DEV_MMIO, 0xFEB00000, 0, E_INVAL },
		{ "MMIO wrapping", DEV_MMIO, 0xFFFFFFFFFFFFF000ull, 0x2000, E_INVAL },
		{ "MMIO past 2^52", DEV_MMIO, 1ull << 52, 0x1000, E_INVAL },
		{ "interrupt line 200", DEV_IRQ, 200, 0, E_RANGE },
		{ "interrupt flags 4", DEV_IRQ, 8, 4, E_INVAL },
		{ "PCI of no function", DEV_PCI, 0, 0, E_INVAL },
		{ "PCI past bus 255", DEV_PCI, PCI_FUNCS - 1, 2, E_INVAL },
		{ "DMA with arguments", DEV_DMA, 1, 0, E_INVAL },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		long h = pg_dev_create(bi->resource, bad[i].kind, bad[i].a, bad[i].b);
		if (h != bad[i].want) {
			pg_printf("    # dev_create, %s: %ld, want %s\n", bad[i].what, h, pg_strerror(bad[i].want));
			failures++;
		}
		if (h >= 0)
			pg_handle_close((handle_t)h);
	}
	// One object per interrupt line.
	long a = pg_dev_create(bi->resource, DEV_IRQ, 8, 0), b = pg_dev_create(bi->resource, DEV_IRQ, 8, 0);
	if (a < 0 || b != E_BUSY) {
		pg_printf("    # a second object for line 8: %ld (first %ld), want E_BUSY\n", b, a);
		failures++;
	}
	if (a >= 0)
		pg_handle_close((handle_t)a);
	if (b >= 0)
		pg_handle_close((handle_t)b);
	if ((a = pg_dev_create(bi->resource, DEV_IRQ, 8, 0)) < 0) { // free again once closed
		pg_printf("    # line 8 after its object closed: %s\n", pg_strerror((int)a));
		failures++;
	} else {
		pg_handle_close((handle_t)a);
	}
}

// The e1000 (QEMU's default NIC at 00:03.0) registers: BAR 0, 128 KiB of memory.
#define E1000_BDF   PCI_BDF(0, 3, 0)
#define E1000_REGS  0x20000

static int devices(const struct ucase *c)
{
	dev_create_refusals();
	handle_t pci = (handle_t)pg_dev_create(bi->resource, DEV_PCI, 0, PCI_FUNCS);
	long bar0 = pci < 0 ? pci : pg_pci_read(pci, E1000_BDF, 0x10, 4);
	handle_t g[6] = {
		pci,
		(handle_t)pg_dev_create(bi->resource, DEV_PCI, E1000_BDF, 1),
		(handle_t)pg_dev_create(bi->resource, DEV_PORTS, 0x70, 2),
		(handle_t)pg_dev_create(bi->resource, DEV_IRQ, 8, 0),
		(handle_t)pg_dev_create(bi->resource, DEV_DMA, 0, 0),
		bar0 < 0 ? (handle_t)bar0 : (handle_t)pg_dev_create(bi->resource, DEV_MMIO, (uint64_t)bar0 & ~0xFull, E1000_REGS),
	};
	bool made = true;
	for (int i = 0; i < 6; i++)
		if (g[i] < 0) {
			pg_printf("    # device object %d: %s\n", i + 1, pg_strerror(g[i]));
			made = false;
			failures++;
		}
	if (made) {
		give_next = g, ngive_next = 6;
		run_group(c, 0);
	}
	for (int i = 0; i < 6; i++)
		if (g[i] >= 0)
			pg_handle_close(g[i]);
	return 0;
}

#define ONE(n) { "user_" #n, { { #n, 0, 0, 0 } }, 0, 0, NULL }
static const struct ucase cases[] = {
	ONE(ulib), ONE(umode), ONE(handles), ONE(badinput), ONE(coherence), ONE(targeting), ONE(lazy),
	ONE(tables), ONE(mapv), ONE(leases),
	{ "user_devices", { { "devices", 0, 0, 0 } }, 0, 0, devices },
	ONE(spaces), ONE(upcalls), ONE(rtthreads), ONE(gcdemo), ONE(watch), ONE(va), ONE(xstate), ONE(fpcalc),
	// Two spaces on one CPU each keep their own x87/SSE/AVX registers, and see none
	// of the other's.
	{ "user_xstate_two_spaces", { { "xstate", 0, 0, 1 }, { "xstate", 0, 0, 1 } }, 0, 0, NULL },
	// The system-call fuzzer: `fuzzcalls=N fuzzseed=S` before "--" choose its length and
	// seed (make fuzz); by default 20k calls, seed 1.
	{ "user_fuzz", { { "fuzz", 0, 0, 0 } }, 0, 0, fuzz },
	{ "user_rt_million_threads", { { "rt1m", 0, 0, 0 } }, 0, 0, million },
	// The hog's budget is one IPI a tick: two lowerings within one 10 ms tick exceed
	// it, however slow IPIs are. The victim, in another space, must not notice.
	{ "user_budget", { { "budget_hog", 0, 1, 0 }, { "budget_victim", -2, 0, 0 } }, 0, 0, NULL },
	{ "user_spaces_free_frames_exact", { { "spaces", 0, 0, 0 } }, 0, 0, free_frames_exact },
	// A space deleting itself stops all its vcpus, blocked ones included.
	ONE(selfdelete),
	// A fault no upcall handles stops the vcpu and is reported; the space still goes.
	{ "user_unhandled_fault_stops_vcpu", { { "faulty", 0, 0, 0 } }, -1, 1, NULL },
	// Malformed ELF images get lib/elf.c's error and reason, and leave nothing behind.
	{ "user_spawn_malformed_images_fail", { { NULL, 0, 0, 0 } }, 0, 0, spawn_bad },
};
#define NCASES (sizeof cases / sizeof cases[0])

// filter: the cases whose name starts with it; "!prefix": those that do not.
static bool selected(const char *name, const char *filter)
{
	bool negate = filter[0] == '!';
	const char *p = filter + negate;
	size_t n = strlen(p);
	return !n || (strncmp(name, p, n) == 0) != negate;
}

// The value of key=value among the kernel command line's words before "--", or dflt.
static uint64_t boot_number(const char *key, uint64_t dflt)
{
	size_t k = strlen(key);
	for (const char *p = bi->cmdline; *p;) {
		while (*p == ' ')
			p++;
		if (p[0] == '-' && p[1] == '-' && (p[2] == ' ' || !p[2]))
			break;
		if (strncmp(p, key, k) == 0 && p[k] == '=') {
			uint64_t v = 0;
			for (p += k + 1; *p >= '0' && *p <= '9'; p++)
				v = v * 10 + (uint64_t)(*p - '0');
			return v;
		}
		while (*p && *p != ' ')
			p++;
	}
	return dflt;
}

// The resource handle itself: it stays in init (no dup, no transfer) and reads only
// the counters that exist.
static void resource_checks(void)
{
	int err;
	if ((err = pg_handle_dup(bi->resource, R_READ)) != E_RIGHTS)
		pg_printf("    # resource handle dup: %d, want E_RIGHTS\n", err), failures++;
	handle_t child = pg_space_create(1UL << 20, 1);
	if (child < 0 || (err = pg_handle_transfer(bi->resource, child)) != E_RIGHTS)
		pg_printf("    # resource handle transfer: %d, want E_RIGHTS\n", err), failures++;
	if (child >= 0)
		pg_space_delete(child), pg_handle_close(child);
	if ((err = (int)pg_kernel_stat(bi->resource, KSTAT_COUNT)) != E_INVAL)
		pg_printf("    # kernel_stat(KSTAT_COUNT): %d, want E_INVAL\n", err), failures++;
	if ((err = (int)pg_kernel_stat(bi->resource, -1)) != E_INVAL)
		pg_printf("    # kernel_stat(-1): %d, want E_INVAL\n", err), failures++;
	for (int i = 0; i < KSTAT_COUNT; i++)
		if (pg_kernel_stat(bi->resource, i) < 0)
			pg_printf("    # kernel_stat(%d) failed\n", i), failures++;
}

// Each case as a KTAP result line; returns the number that failed.
int testrun(const struct pg_bootinfo *info, const void *archive, size_t len, const char *filter)
{
	bi = info, ar = archive, ar_len = len;
	uint64_t calls = boot_number("fuzzcalls", 0), seed = boot_number("fuzzseed", 0);
	fuzz_arg = (seed << 32) | (calls & 0xffffffffu);
	// pg_wait makes its notify once: let it, on a space with no vcpu (the watch fires
	// at once), before anything is measured.
	struct pg_exit x;
	handle_t s = pg_space_create(1UL << 20, 1);
	if (s >= 0 && pg_wait(s, &x) != E_OK)
		pg_printf("# pg_wait of an empty space failed\n");
	if (s >= 0)
		pg_space_delete(s), pg_handle_close(s);
	int n = 1, passed = 0, failed = 0;
	for (size_t i = 0; i < NCASES; i++)
		n += selected(cases[i].name, filter);
	if (!selected("user_resource_handle", filter))
		n--;
	pg_printf("KTAP version 1\n1..%d\n", n);
	if (selected("user_resource_handle", filter)) {
		failures = 0;
		pg_printf("# RUN user_resource_handle\n");
		resource_checks();
		pg_printf("%s %d user_resource_handle\n", failures ? "not ok" : "ok", passed + failed + 1);
		failures ? failed++ : passed++;
	}
	for (size_t i = 0; i < NCASES; i++) {
		const struct ucase *c = &cases[i];
		if (!selected(c->name, filter))
			continue;
		failures = subtests = 0;
		pg_printf("# RUN %s\n", c->name);
		uint64_t t0 = pg_clock_ns();
		struct usage before = usage_now();
		int r = c->special ? c->special(c) : (run_group(c, 0), 0);
		expect_usage(before);
		uint64_t ms = (pg_clock_ns() - t0) / 1000000;
		if (r < 0 && !failures)
			pg_printf("ok %d %s # SKIP needs 5 GiB of RAM, runs in the 6 GiB boot\n", passed + failed + 1, c->name);
		else
			pg_printf("%s %d %s # %lu ms\n", failures ? "not ok" : "ok", passed + failed + 1, c->name, (unsigned long)ms);
		failures ? failed++ : passed++;
	}
	pg_printf("# utests: %d passed, %d failed\n", passed, failed);
	return failed;
}
