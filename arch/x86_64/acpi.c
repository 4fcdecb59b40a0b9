// acpi.c: takes the RSDP the loader copied (multiboot2; UEFI has no BIOS area) or
// finds it in the BIOS areas, walks the RSDT/XSDT to the MADT and lists
// the enabled processors and the first I/O APIC. All reads go through kwin_read_phys: no direct map.
#include <stdbool.h>
#include "acpi.h"
#include "kern/boot.h"
#include "kern/kwin.h"
#include "kern/console.h"
#include "lib/string.h"
#include "include/pagoda/errors.h"

struct sdt_header {
	char sig[4];
	uint32_t len;
	uint8_t rev, checksum;
	char oem[6], oem_table[8];
	uint32_t oem_rev, creator, creator_rev;
} __attribute__((packed));

struct rsdp {
	char sig[8];
	uint8_t checksum;
	char oem[6];
	uint8_t rev;
	uint32_t rsdt;
	uint32_t len;
	uint64_t xsdt;
	uint8_t xchecksum, rsvd[3];
} __attribute__((packed));

static uint8_t sum(const void *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s += ((const uint8_t *)p)[i];
	return s;
}

static int scan_rsdp(uint64_t from, uint64_t len, struct rsdp *out)
{
	for (uint64_t pa = from; pa + 20 <= from + len; pa += 16) {
		kwin_read_phys(out, pa, sizeof *out);
		if (memcmp(out->sig, "RSD PTR ", 8) == 0 && sum(out, 20) == 0)
			return E_OK;
	}
	return E_NOENT;
}

// The loader's copy, if it is one: signature, the 1.0 checksum, and for a 2.0 copy the
// extended checksum over its length. A bad copy is reported and the BIOS areas scanned.
static int boot_rsdp(struct rsdp *r)
{
	if (boot_info.rsdp_len == 0)
		return E_NOENT;
	memset(r, 0, sizeof *r);
	memcpy(r, boot_info.rsdp, boot_info.rsdp_len);
	if (memcmp(r->sig, "RSD PTR ", 8) != 0 || sum(r, 20) != 0) {
		kprintf("acpi: the loader's RSDP copy is invalid, scanning the BIOS areas\n");
		return E_INVAL;
	}
	bool wide = boot_info.rsdp_len == sizeof *r && r->rev >= 2;
	if (wide && (r->len != sizeof *r || sum(r, sizeof *r) != 0)) {
		kprintf("acpi: the loader's RSDP 2.0 copy fails its extended checksum, using the RSDT\n");
		wide = false;
	}
	if (!wide)
		r->rev = 0; // no XSDT field to trust: find_table takes the RSDT
	return E_OK;
}

static int find_rsdp(struct rsdp *r)
{
	if (boot_rsdp(r) == E_OK)
		return E_OK;
	uint16_t ebda_seg;
	kwin_read_phys(&ebda_seg, 0x40E, 2);
	if (ebda_seg && scan_rsdp((uint64_t)ebda_seg << 4, 1024, r) == E_OK)
		return E_OK;
	return scan_rsdp(0xE0000, 0x20000, r);
}

// Finds the table with signature sig among the RSDT (4-byte) or XSDT (8-byte) entries.
static int find_table(const struct rsdp *r, const char *sig, uint64_t *pa_out)
{
	int wide = r->rev >= 2 && r->xsdt;
	uint64_t root = wide ? r->xsdt : r->rsdt;
	struct sdt_header h;
	kwin_read_phys(&h, root, sizeof h);
	if (h.len < sizeof h || h.len > 65536)
		return E_INVAL;
	size_t step = wide ? 8 : 4, n = (h.len - sizeof h) / step;
	for (size_t i = 0; i < n; i++) {
		uint64_t pa = 0;
		kwin_read_phys(&pa, root + sizeof h + i * step, step);
		struct sdt_header t;
		kwin_read_phys(&t, pa, sizeof t);
		if (memcmp(t.sig, sig, 4) == 0) {
			*pa_out = pa;
			return E_OK;
		}
	}
	return E_NOENT;
}

// Calls each(entry, its length, arg) for every MADT entry (at most 16 bytes of it
// copied), or returns E_NOENT / E_INVAL for a missing or malformed table.
static int madt_walk(void (*each)(const uint8_t *e, void *arg), void *arg)
{
	struct rsdp r;
	uint64_t madt;
	if (find_rsdp(&r) != E_OK || find_table(&r, "APIC", &madt) != E_OK)
		return E_NOENT;
	struct sdt_header h;
	kwin_read_phys(&h, madt, sizeof h);
	// Entries start after the header, the local APIC address and the flags.
	for (uint64_t off = sizeof h + 8; off + 2 <= h.len;) {
		uint8_t e[16] = { 0 };
		kwin_read_phys(e, madt + off, 2);
		if (e[1] < 2 || off + e[1] > h.len)
			return E_INVAL;
		kwin_read_phys(e, madt + off, e[1] < sizeof e ? e[1] : sizeof e);
		each(e, arg);
		off += e[1];
	}
	return E_OK;
}

struct cpu_list {
	uint32_t *ids;
	int n, max;
};

static void add_cpu(const uint8_t *e, void *arg)
{
	struct cpu_list *l = arg;
	uint32_t id, flags;
	if (e[0] == 0) { // processor local APIC
		id = e[3], flags = e[4] | (uint32_t)e[5] << 8;
	} else if (e[0] == 9) { // processor local x2APIC
		memcpy(&id, e + 4, 4);
		memcpy(&flags, e + 8, 4);
	} else {
		return;
	}
	if ((flags & 1) && l->n < l->max)
		l->ids[l->n++] = id;
}

int acpi_find_cpus(uint32_t *apic_ids, int max)
{
	struct cpu_list l = { apic_ids, 0, max };
	int err = madt_walk(add_cpu, &l);
	return err != E_OK ? err : l.n;
}

// The I/O APIC that serves GSI 0 (entry type 1: id, reserved, address, GSI base).
static void find_ioapic(const uint8_t *e, void *arg)
{
	uint64_t *pa = arg;
	uint32_t addr, base;
	if (e[0] != 1)
		return;
	memcpy(&addr, e + 4, 4);
	memcpy(&base, e + 8, 4);
	if (base == 0 && !*pa)
		*pa = addr;
}

int acpi_find_ioapic(uint64_t *pa)
{
	*pa = 0;
	int err = madt_walk(find_ioapic, pa);
	return err != E_OK ? err : *pa ? E_OK : E_NOENT;
}
