// devices.c: device objects as a driver holds them (docs/devices.md). init's test
// runner makes them from its resource handle and gives them as handles 1-7 (DEV_H_*
// below): a PCI object over every function and one over the e1000 alone (QEMU's
// default NIC, always there in the test boots), the CMOS clock's ports and its
// interrupt line (8, edge), the DMA right, and the e1000's registers (BAR 0) as a
// device mem. Every call also gets the arguments an attacker would try.
#include "tcommon.h"
#include "devtest.h"

#define MMIO_VA TEST_VA
#define BUF_VA  (TEST_VA + 0x1000000)

static uint32_t cfg(handle_t pci, uint32_t bdf, uint32_t off) { return (uint32_t)pg_pci_read(pci, bdf, off, 4); }

static void pci_reads_ids(const char *name)
{
	(void)name;
	// 00:00.0 is the host bridge (i440FX: 8086:1237); the e1000 is 8086:100e.
	EXPECT_EQ(cfg(DEV_H_PCI, PCI_BDF(0, 0, 0), 0) & 0xFFFF, 0x8086);
	EXPECT_EQ(cfg(DEV_H_PCI1, DEV_E1000_BDF, 0), 0x100E8086);
	EXPECT_EQ(pg_pci_read(DEV_H_PCI1, DEV_E1000_BDF, 0, 2), 0x8086);
	EXPECT_EQ(pg_pci_read(DEV_H_PCI1, DEV_E1000_BDF, 2, 2), 0x100E);
	EXPECT_EQ(pg_pci_read(DEV_H_PCI1, DEV_E1000_BDF, 0, 1), 0x86);
	// A function nobody put there reads as all ones, like on hardware.
	EXPECT_EQ(cfg(DEV_H_PCI, PCI_BDF(0, 31, 7), 0), 0xFFFFFFFFu);
}

static void pci_refuses_bad_access(const char *name)
{
	(void)name;
	uint32_t e = DEV_E1000_BDF;
	EXPECT_ERR(pg_pci_read(DEV_H_PCI1, e, 0, 3), E_INVAL);    // width
	EXPECT_ERR(pg_pci_read(DEV_H_PCI1, e, 2, 4), E_INVAL);    // unaligned
	EXPECT_ERR(pg_pci_read(DEV_H_PCI1, e, 256, 4), E_RANGE);  // past the standard space
	EXPECT_ERR(pg_pci_read(DEV_H_PCI1, e, ~0ull, 1), E_RANGE);
	EXPECT_ERR(pg_pci_read(DEV_H_PCI1, PCI_BDF(0, 0, 0), 0, 4), E_RANGE); // not this object's function
	EXPECT_ERR(pg_pci_read(DEV_H_PCI1, 1ull << 40, 0, 4), E_RANGE);
	uint32_t bar0 = cfg(DEV_H_PCI1, e, 0x10);
	EXPECT_ERR(pg_pci_write(DEV_H_PCI1, e, 0x10, 4, 0xFFFFFFFF), E_RANGE); // BARs are the firmware's
	EXPECT_ERR(pg_pci_write(DEV_H_PCI1, e, 0x24, 4, 0), E_RANGE);
	EXPECT_ERR(pg_pci_write(DEV_H_PCI1, e, 0x12, 2, 0), E_RANGE);
	EXPECT_ERR(pg_pci_write(DEV_H_PCI1, e, 0x30, 4, 0), E_RANGE); // the ROM address
	EXPECT_ERR(pg_pci_write(DEV_H_PCI1, e, 0x04, 2, 0x10000), E_INVAL); // value wider than width
	EXPECT_EQ(cfg(DEV_H_PCI1, e, 0x10), bar0); // nothing moved
	// The command register is the driver's: a write that changes nothing is allowed.
	uint32_t cmd = (uint32_t)pg_pci_read(DEV_H_PCI1, e, 4, 2);
	EXPECT_OK(pg_pci_write(DEV_H_PCI1, e, 4, 2, cmd));
	EXPECT_EQ(pg_pci_read(DEV_H_PCI1, e, 4, 2), cmd);
	// Other kinds of handle, and fewer rights.
	EXPECT_ERR(pg_pci_read(DEV_H_PORTS, e, 0, 4), E_TYPE);
	EXPECT_ERR(pg_pci_read(H_SELF, e, 0, 4), E_TYPE);
	EXPECT_ERR(pg_pci_read(4000, e, 0, 4), E_BADH);
	handle_t ro = pg_handle_dup(DEV_H_PCI1, R_READ);
	EXPECT_ERR(pg_pci_write(ro, e, 4, 2, cmd), E_RIGHTS);
	EXPECT_EQ(pg_pci_read(ro, e, 0, 2), 0x8086);
	pg_handle_close(ro);
}

// The e1000's registers through a device mem, uncached: STATUS (0x08) says link up
// (bit 1), as QEMU's model always does. Such a mem cannot be lent or given to DMA.
static void mmio_maps_registers(const char *name)
{
	(void)name;
	long size = pg_mem_size(DEV_H_MMIO);
	ASSERT_GE(size, 4096);
	ASSERT_OK(pg_map(H_SELF, MMIO_VA, DEV_H_MMIO, 0, (size_t)size, PROT_READ | PROT_WRITE));
	volatile uint32_t *regs = (volatile uint32_t *)MMIO_VA;
	uint32_t status = regs[0x08 / 4];
	EXPECT_NE(status, 0xFFFFFFFFu);
	EXPECT_TRUE(status & 2);
	EXPECT_ERR(pg_dma_addr(DEV_H_DMA, DEV_H_MMIO, 0), E_TYPE);
	EXPECT_ERR(pg_lend(H_SELF, MMIO_VA, 4096, BUF_VA, 0), E_TYPE);
	// protect keeps the mapping uncached: the register still reads the same after a
	// round trip through read-only.
	EXPECT_OK(pg_protect(H_SELF, MMIO_VA, (size_t)size, PROT_READ));
	EXPECT_EQ(regs[0x08 / 4] & 2, 2u);
	EXPECT_OK(pg_unmap(H_SELF, MMIO_VA, (size_t)size, 0));
}

static uint8_t cmos(uint8_t reg)
{
	pg_port_out(DEV_H_PORTS, 0x70, 1, reg);
	return (uint8_t)pg_port_in(DEV_H_PORTS, 0x71, 1);
}

static void cmos_set(uint8_t reg, uint8_t v)
{
	pg_port_out(DEV_H_PORTS, 0x70, 1, reg);
	pg_port_out(DEV_H_PORTS, 0x71, 1, v);
}

static void ports_read_the_clock(const char *name)
{
	(void)name;
	uint8_t b = cmos(0x0B);
	uint8_t sec = cmos(0x00);
	if (b & 4) // binary
		EXPECT_LT(sec, 60);
	else
		EXPECT_TRUE((sec & 0x0F) < 10 && (sec >> 4) < 6);
	EXPECT_ERR(pg_port_in(DEV_H_PORTS, 0x72, 1), E_RANGE); // past the range
	EXPECT_ERR(pg_port_in(DEV_H_PORTS, 0x71, 2), E_RANGE); // its second byte is
	EXPECT_ERR(pg_port_in(DEV_H_PORTS, 0x3F8, 1), E_RANGE);
	EXPECT_ERR(pg_port_in(DEV_H_PORTS, 1ull << 33, 1), E_RANGE);
	EXPECT_ERR(pg_port_in(DEV_H_PORTS, 0x70, 8), E_INVAL);
	EXPECT_ERR(pg_port_in(DEV_H_PORTS, 0x70, 0), E_INVAL);
	EXPECT_ERR(pg_port_out(DEV_H_PORTS, 0x70, 1, 0x100), E_INVAL);
	EXPECT_ERR(pg_port_in(DEV_H_PCI, 0x70, 1), E_TYPE);
	handle_t ro = pg_handle_dup(DEV_H_PORTS, R_READ);
	EXPECT_ERR(pg_port_out(ro, 0x70, 1, 0), E_RIGHTS);
	pg_handle_close(ro);
}

// Waits up to 2 s for the notify: its bits, or E_TIMEOUT.
static long wait_irq(handle_t n)
{
	pg_vcpu_timer(2000000000);
	long bits = pg_notify_wait(n);
	pg_vcpu_timer(0);
	return bits;
}

// The clock's periodic interrupt (register B's PIE, 1024 Hz by register A): each one
// masks the line and signals; until irq_ack no other arrives, after it one does.
static void irq_signals_and_masks(const char *name)
{
	(void)name;
	handle_t n = pg_notify_create();
	ASSERT_GE(n, 0);
	EXPECT_ERR(pg_irq_ack(DEV_H_IRQ), E_INVAL); // unbound
	EXPECT_ERR(pg_irq_bind(DEV_H_IRQ, n, 1ull << 63), E_INVAL);
	EXPECT_ERR(pg_irq_bind(DEV_H_IRQ, DEV_H_PORTS, 4), E_TYPE);
	EXPECT_ERR(pg_irq_bind(DEV_H_PORTS, n, 4), E_TYPE);
	handle_t nosig = pg_handle_dup(n, R_WAIT);
	EXPECT_ERR(pg_irq_bind(DEV_H_IRQ, nosig, 4), E_RIGHTS);
	pg_handle_close(nosig);
	ASSERT_OK(pg_irq_bind(DEV_H_IRQ, n, 4));
	cmos(0x0C); // clear what is pending
	cmos_set(0x0A, (uint8_t)((cmos(0x0A) & 0xF0) | 0x06));
	cmos_set(0x0B, (uint8_t)(cmos(0x0B) | 0x40));
	EXPECT_OK(pg_irq_ack(DEV_H_IRQ));
	EXPECT_EQ(wait_irq(n), 4);
	cmos(0x0C); // the clock lets go; the line stays masked until the ack
	uint64_t t0 = pg_clock_ns();
	while (pg_clock_ns() - t0 < 20000000) // 20 ms: ~20 periods of the clock
		;
	cmos(0x0C);
	pg_vcpu_timer(1);
	EXPECT_ERR(pg_notify_wait(n), E_TIMEOUT); // masked: nothing came
	pg_vcpu_timer(0);
	EXPECT_OK(pg_irq_ack(DEV_H_IRQ));
	EXPECT_EQ(wait_irq(n), 4);
	cmos_set(0x0B, (uint8_t)(cmos(0x0B) & ~0x40));
	cmos(0x0C);
	EXPECT_OK(pg_irq_bind(DEV_H_IRQ, n, 0)); // unbinds (the notify handle is ignored)
	EXPECT_ERR(pg_irq_ack(DEV_H_IRQ), E_INVAL);
	pg_handle_close(n);
}

// Bus addresses of a mem's pages: page-aligned plus the offset, one per page, and
// nothing past the end; the DMA right is the DMA object's alone.
static void dma_gives_frame_addresses(const char *name)
{
	(void)name;
	handle_t m = pg_mem_create(2 * PAGE);
	ASSERT_GE(m, 0);
	long a0 = pg_dma_addr(DEV_H_DMA, m, 0), a1 = pg_dma_addr(DEV_H_DMA, m, PAGE + 12);
	EXPECT_GT(a0, 0);
	EXPECT_EQ(a0 & 0xFFF, 0);
	EXPECT_EQ(a1 & 0xFFF, 12);
	EXPECT_NE(a0, a1 - 12);
	EXPECT_ERR(pg_dma_addr(DEV_H_DMA, m, 2 * PAGE), E_RANGE);
	EXPECT_ERR(pg_dma_addr(DEV_H_DMA, m, ~0ull), E_RANGE);
	EXPECT_ERR(pg_dma_addr(DEV_H_PORTS, m, 0), E_RIGHTS); // no R_DMA
	EXPECT_ERR(pg_dma_addr(DEV_H_DMA, DEV_H_PORTS, 0), E_TYPE);
	EXPECT_ERR(pg_dma_addr(DEV_H_DMA, H_SELF, 0), E_TYPE);
	handle_t nodma = pg_handle_dup(DEV_H_DMA, R_READ);
	EXPECT_ERR(pg_dma_addr(nodma, m, 0), E_RIGHTS);
	pg_handle_close(nodma);
	// A lease's pages: the lender's frames.
	ASSERT_OK(pg_map(H_SELF, BUF_VA, m, 0, 2 * PAGE, PROT_READ | PROT_WRITE));
	handle_t l = pg_lend(H_SELF, BUF_VA, 2 * PAGE, BUF_VA + 0x100000, 0);
	ASSERT_GE(l, 0);
	EXPECT_EQ(pg_dma_addr(DEV_H_DMA, l, PAGE + 12), a1);
	EXPECT_ERR(pg_dma_addr(DEV_H_DMA, l, 2 * PAGE), E_RANGE);
	EXPECT_OK(pg_lease_return(l, 0, 0));
	EXPECT_OK(pg_unmap(H_SELF, BUF_VA, 2 * PAGE, 0));
	pg_handle_close(m);
}

// Device objects are the resource holder's to make: anyone else gets E_TYPE.
static void only_the_resource_makes_devices(const char *name)
{
	(void)name;
	EXPECT_ERR(pg_dev_create(H_SELF, DEV_PORTS, 0x70, 2), E_TYPE);
	EXPECT_ERR(pg_dev_create(DEV_H_PCI, DEV_PORTS, 0x70, 2), E_TYPE);
	EXPECT_ERR(pg_dev_create(-1, DEV_PORTS, 0x70, 2), E_BADH);
}

static const struct utest_case cases[] = {
	{ "pci_reads_ids", pci_reads_ids },
	{ "pci_refuses_bad_access", pci_refuses_bad_access },
	{ "mmio_maps_registers", mmio_maps_registers },
	{ "ports_read_the_clock", ports_read_the_clock },
	{ "irq_signals_and_masks", irq_signals_and_masks },
	{ "dma_gives_frame_addresses", dma_gives_frame_addresses },
	{ "only_the_resource_makes_devices", only_the_resource_makes_devices },
};

int main(uint64_t arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}
