// net.c: init's network mode. The root task holds the machine's devices: it finds the
// virtio-net function on the PCI bus, makes the device objects the driver needs (that
// function's configuration space, the BAR of its virtio structures, its interrupt
// line, the DMA right) and one channel per endpoint program, starts them, and gives
// each what it may hold and nothing more (user/drv/netdrv.h, user/lib/netchan.h).
#include <stdbool.h>
#include "pagoda.h"
#include "lib/cpio.h"
#include "netchan.h"
#include "../drv/netdrv.h"
#include "net.h"

#define PORT_BASE 7001
#define MAX_ARGV  12

static const struct pg_bootinfo *bi;
static const void *ar;
static size_t ar_len;

// Where the driver and its endpoints run: the CPU every device interrupt arrives on
// (the kernel routes I/O APIC lines to the boot CPU). Together there, an interrupt, a
// doorbell or a completion wakes its vcpu without an IPI, and a lend lowers rights
// that no other CPU may cache: a 1472-byte round trip at smp 2 took 0.7 ms so, and
// 1.0-1.7 ms with them placed anywhere (TCG, two host cores).
#define NET_CPU 0

static handle_t spawn(const char *const *argv, const handle_t *give, uint32_t ngive)
{
	struct cpio_entry e;
	const char *why = NULL;
	if (cpio_find(ar, ar_len, argv[0], &e, &why) != E_OK) {
		pg_printf("init: %s: no such program in the boot archive\n", argv[0]);
		return E_NOENT;
	}
	struct pg_spawn_opts o = { .argv = argv, .cpu = NET_CPU, .give = give, .ngive = ngive };
	handle_t h = pg_spawn(e.data, e.size, &o, &why);
	if (h < 0)
		pg_printf("init: %s: not started: %s (%s)\n", argv[0], why ? why : "?", pg_strerror(h));
	return h;
}

// The device: bus 0's first function 1af4:1041 (a modern-only virtio-net, QEMU's
// disable-legacy=on), and the BAR holding its virtio structures.
struct nic {
	uint32_t bdf, line;
	uint64_t bar_pa, bar_len;
};

static int find_nic(handle_t pci, struct nic *n)
{
	for (uint32_t dev = 0; dev < 32; dev++) {
		uint32_t bdf = PCI_BDF(0, dev, 0);
		if (pg_pci_read(pci, bdf, 0, 4) != 0x10411AF4)
			continue;
		n->bdf = bdf;
		n->line = (uint32_t)pg_pci_read(pci, bdf, 0x3C, 1);
		int bar = -1;
		uint64_t end = 0;
		int guard = 0;
		for (long p = pg_pci_read(pci, bdf, 0x34, 1) & 0xFC; p && guard++ < 48;
		     p = pg_pci_read(pci, bdf, (uint64_t)p + 1, 1) & 0xFC) {
			long type = pg_pci_read(pci, bdf, (uint64_t)p + 3, 1);
			if (pg_pci_read(pci, bdf, (uint64_t)p, 1) != 0x09 || type < 1 || type > 4)
				continue; // not virtio's, or its PCI-configuration window (no BAR)
			int b = (int)pg_pci_read(pci, bdf, (uint64_t)p + 4, 1);
			uint64_t off = (uint64_t)pg_pci_read(pci, bdf, (uint64_t)p + 8, 4);
			uint64_t len = (uint64_t)pg_pci_read(pci, bdf, (uint64_t)p + 12, 4);
			if (bar >= 0 && b != bar)
				return E_INVAL; // one BAR is what the driver is given
			bar = b;
			if (off + len > end)
				end = off + len;
		}
		if (bar < 0 || bar > 5)
			return E_INVAL;
		uint64_t lo = (uint64_t)pg_pci_read(pci, bdf, 0x10 + 4 * (uint64_t)bar, 4);
		n->bar_pa = lo & ~0xFull;
		if ((lo & 6) == 4) // 64-bit memory BAR: the next register is the high half
			n->bar_pa |= (uint64_t)pg_pci_read(pci, bdf, 0x14 + 4 * (uint64_t)bar, 4) << 32;
		n->bar_len = (end + 4095) & ~4095ull;
		return (lo & 1) || !n->bar_pa ? E_INVAL : E_OK;
	}
	return E_NOENT;
}

// The kernel's counts a network run must give back: heap, mem frames, page tables.
static void usage_now(long u[3])
{
	static const int which[3] = { KSTAT_HEAP_BYTES, KSTAT_MEM_FRAMES, KSTAT_PT_TABLES };
	for (int k = 0; k < 3; k++)
		u[k] = pg_kernel_stat(bi->resource, which[k]);
}

static bool leak_check(const long before[3])
{
	static const char *const what[3] = { "kernel heap bytes", "mem frames", "page tables" };
	long after[3];
	usage_now(after);
	bool ok = true;
	for (int k = 0; k < 3; k++)
		if (after[k] != before[k]) {
			pg_printf("init: leak check: %s %ld before, %ld after\n", what[k], before[k], after[k]);
			ok = false;
		}
	if (ok)
		pg_printf("init: leak check ok\n");
	return ok;
}

static char ports[NET_EPS][8];
static char bdfs[8];

int netrun(const struct pg_bootinfo *b, const void *archive, size_t len, const char *const *w, int n)
{
	bi = b, ar = archive, ar_len = len;
	int i = 1;
	long kill_ms = -1;
	if (i + 1 < n && strcmp(w[i], "-k") == 0) {
		kill_ms = (long)pg_atou(w[i + 1]);
		i += 2;
	}
	if (i + 1 >= n) {
		pg_printf("init: -n [-k MS] IPV4 PROG [ARGS] [+ PROG [ARGS]]...\n");
		return 1;
	}
	const char *ip = w[i++];
	// The endpoint programs: argv[0] the program, argv[1] its port, then its arguments.
	static const char *cargv[NET_EPS][MAX_ARGV + 2];
	int nc = 0;
	while (i < n && nc < NET_EPS) {
		int k = 0;
		cargv[nc][k++] = w[i++];
		pg_snprintf(ports[nc], sizeof ports[nc], "%d", PORT_BASE + nc);
		cargv[nc][k++] = ports[nc];
		while (i < n && strcmp(w[i], "+") != 0 && k < MAX_ARGV)
			cargv[nc][k++] = w[i++];
		cargv[nc][k] = NULL;
		nc++;
		if (i < n)
			i++; // the "+"
	}
	// pg_wait keeps one notify for good: made here, on an empty space, before counting.
	handle_t empty = pg_space_create(64 << 10, 1);
	struct pg_exit none;
	if (empty >= 0) {
		pg_wait(empty, &none);
		pg_space_delete(empty);
		pg_handle_close(empty);
	}
	long before[3];
	usage_now(before);
	handle_t pci = (handle_t)pg_dev_create(bi->resource, DEV_PCI, 0, PCI_FUNCS);
	struct nic nic;
	int err = pci < 0 ? pci : find_nic(pci, &nic);
	if (err != E_OK) {
		pg_printf("init: no virtio-net device (1af4:1041) to drive: %s\n", pg_strerror(err));
		return 1;
	}
	pg_printf("init: virtio-net at %02x:%02x.%x, BAR %#lx (+%#lx), line %u\n", nic.bdf >> 8, (nic.bdf >> 3) & 31,
		  nic.bdf & 7, nic.bar_pa, nic.bar_len, nic.line);
	handle_t give[5 + 3 * NET_EPS];
	give[0] = (handle_t)pg_dev_create(bi->resource, DEV_PCI, nic.bdf, 1);
	give[1] = (handle_t)pg_dev_create(bi->resource, DEV_MMIO, nic.bar_pa, nic.bar_len);
	give[2] = (handle_t)pg_dev_create(bi->resource, DEV_IRQ, nic.line, IRQ_LEVEL);
	give[3] = (handle_t)pg_dev_create(bi->resource, DEV_DMA, 0, 0);
	handle_t drv_note = pg_notify_create();
	give[4] = drv_note >= 0 ? pg_handle_dup(drv_note, R_WAIT | R_SIGNAL | R_DUP | R_TRANSFER) : drv_note;
	handle_t drv_sig = drv_note >= 0 ? pg_handle_dup(drv_note, R_SIGNAL | R_DUP | R_TRANSFER) : drv_note;
	for (int k = 0; k < 5; k++)
		if (give[k] < 0) {
			pg_printf("init: device object %d: %s\n", k + 1, pg_strerror(give[k]));
			return 1;
		}
	// Each endpoint: its channel, its notify; spawned first, so the driver can be
	// given its space (to lend from: R_LEND, and to watch: R_READ).
	handle_t cl[NET_EPS];
	int bad = 0;
	for (int k = 0; k < nc; k++) {
		handle_t chan = pg_mem_create(NETCHAN_SIZE), note = pg_notify_create();
		handle_t cg[3] = { chan, drv_sig, note };
		cl[k] = chan < 0 || note < 0 ? E_NOMEM : spawn(cargv[k], cg, 3);
		if (cl[k] < 0)
			return 1;
		give[5 + 3 * k] = pg_handle_dup(cl[k], R_LEND | R_DUP | R_TRANSFER);
		give[6 + 3 * k] = chan;
		give[7 + 3 * k] = pg_handle_dup(note, R_SIGNAL | R_DUP | R_TRANSFER);
		pg_handle_close(note);
	}
	pg_snprintf(bdfs, sizeof bdfs, "%u", nic.bdf);
	const char *dargv[3 + NET_EPS + 1] = { "virtio-net", bdfs, ip };
	for (int k = 0; k < nc; k++)
		dargv[3 + k] = ports[k];
	dargv[3 + nc] = NULL;
	handle_t drv = spawn(dargv, give, (uint32_t)(5 + 3 * nc));
	if (drv < 0)
		return 1;
	if (kill_ms >= 0) {
		handle_t t = pg_notify_create();
		pg_vcpu_timer((uint64_t)kill_ms * 1000000);
		pg_notify_wait(t);
		pg_handle_close(t);
		pg_printf("init: deleting %s mid-run\n", cargv[0][0]);
		pg_space_delete(cl[0]);
	}
	for (int k = 0; k < nc; k++) {
		struct pg_exit x = { -1, 0 };
		err = pg_wait(cl[k], &x);
		pg_notify_signal(drv_sig, NET_BIT_DEAD(k)); // the driver stops serving it
		bool killed = k == 0 && kill_ms >= 0;
		if (!killed && (err != E_OK || x.status || x.faults)) {
			pg_printf("init: %s ended: status %d, %u faults (%s)\n", cargv[k][0], x.status, x.faults,
				  pg_strerror(err));
			bad = 1;
		}
	}
	pg_notify_signal(drv_sig, NET_BIT_STOP);
	struct pg_exit x = { -1, 0 };
	err = pg_wait(drv, &x);
	// The device may still hold bus addresses of frames about to be freed: bus
	// mastering off before the driver's space goes (docs/devices.md).
	long cmd = pg_pci_read(give[0], nic.bdf, 4, 2);
	if (cmd >= 0)
		pg_pci_write(give[0], nic.bdf, 4, 2, (uint64_t)cmd & ~4ull);
	if (err != E_OK || x.status || x.faults) {
		pg_printf("init: virtio-net ended: status %d, %u faults\n", x.status, x.faults);
		bad = 1;
	}
	pg_space_delete(drv);
	pg_handle_close(drv);
	for (int k = 0; k < nc; k++) {
		pg_space_delete(cl[k]);
		pg_handle_close(cl[k]);
	}
	for (int k = 0; k < 5 + 3 * nc; k++)
		pg_handle_close(give[k]);
	pg_handle_close(drv_sig);
	pg_handle_close(drv_note);
	pg_handle_close(pci);
	if (!leak_check(before))
		bad = 1;
	pg_printf("init: network run %s\n", bad ? "failed" : "done");
	return bad;
}
