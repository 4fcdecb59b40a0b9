// device.c: device objects. Port and PCI calls check the range and go straight to the
// hardware (arch/arch.h). An interrupt line is routed, masked, when its object is
// made; each interrupt masks it again (arch) and signals the bound notify, and the
// driver's irq_ack unmasks it once it has made its device let go: the kernel masks,
// acks and unmasks, the driver decides when.
#include <stddef.h>
#include "kern/device.h"
#include "kern/notify.h"
#include "kern/space.h"
#include "kern/kheap.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include <arch/arch.h>

#define LINES_MAX 256

// Which device object holds each interrupt line, and each one's binding (struct
// device's notify and bits). A leaf lock: taken with interrupts off, by the handler
// too, before a notify's lock.
static struct spinlock irq_lock = SPINLOCK_INIT("irq");
static struct device *irq_owner[LINES_MAX] GUARDED_BY(irq_lock);

static int args_ok(int kind, uint64_t a, uint64_t b)
{
	switch (kind) {
	case DEV_PORTS:
		if (b == 0 || a >= 0x10000 || b > 0x10000 - a)
			return E_INVAL;
		return arch_ports_kernel(a, b) ? E_RANGE : E_OK;
	case DEV_PCI:
		return b == 0 || a >= PCI_FUNCS || b > PCI_FUNCS - a ? E_INVAL : E_OK;
	case DEV_IRQ:
		if (b & ~(uint64_t)(IRQ_LEVEL | IRQ_LOW))
			return E_INVAL;
		return a >= (uint64_t)arch_irq_lines() ? E_RANGE : E_OK;
	case DEV_DMA:
		return a || b ? E_INVAL : E_OK;
	default:
		return E_INVAL;
	}
}

// Claims line for d (E_BUSY if another object holds it) and routes it, masked.
static int irq_claim(struct device *d)
{
	spin_lock(&irq_lock);
	int err = irq_owner[d->base] ? E_BUSY : E_OK;
	if (err == E_OK) {
		irq_owner[d->base] = d;
		arch_irq_route((unsigned)d->base, d->flags);
	}
	spin_unlock(&irq_lock);
	return err;
}

int device_create(struct space *payer, int kind, uint64_t a, uint64_t b, struct device **out)
{
	int err = args_ok(kind, a, b);
	if (err != E_OK)
		return err;
	if (space_charge(payer, CHARGE_KERNEL, kheap_cost(sizeof(struct device))) != E_OK)
		return E_NOMEM;
	struct device *d = kzalloc(sizeof *d);
	if (!d) {
		space_uncharge(payer, CHARGE_KERNEL, kheap_cost(sizeof *d));
		return E_NOMEM;
	}
	d->obj.type = OBJ_DEVICE;
	d->obj.refs = 1;
	d->kind = kind;
	d->base = a;
	d->count = kind == DEV_IRQ ? 1 : b;
	d->flags = kind == DEV_IRQ ? (unsigned)b : 0;
	d->payer = payer;
	if (kind == DEV_IRQ && (err = irq_claim(d)) != E_OK) {
		kfree(d);
		space_uncharge(payer, CHARGE_KERNEL, kheap_cost(sizeof *d));
		return err;
	}
	obj_ref(&payer->obj);
	*out = d;
	return E_OK;
}

void device_destroy(struct device *d)
{
	struct notify *n = NULL;
	if (d->kind == DEV_IRQ) {
		spin_lock(&irq_lock);
		arch_irq_mask((unsigned)d->base); // nobody handles it any more
		irq_owner[d->base] = NULL;
		n = d->notify;
		spin_unlock(&irq_lock);
	}
	if (n)
		obj_unref(&n->obj);
	struct space *payer = d->payer;
	kfree(d);
	space_uncharge(payer, CHARGE_KERNEL, kheap_cost(sizeof *d));
	obj_unref(&payer->obj);
}

static bool width_ok(int width) { return width == 1 || width == 2 || width == 4; }

// Whether value fits in width (1, 2 or 4) bytes.
static bool fits(uint64_t value, int width) { return !(value >> (8 * width)); }

// E_OK if d is a port range holding every byte of [port, port + width).
static int port_check(const struct device *d, uint64_t port, int width)
{
	if (d->kind != DEV_PORTS)
		return E_TYPE;
	if (!width_ok(width))
		return E_INVAL;
	return port < d->base || port - d->base >= d->count || (uint64_t)width > d->count - (port - d->base) ? E_RANGE
													       : E_OK;
}

int64_t device_port_in(struct device *d, uint64_t port, int width)
{
	int err = port_check(d, port, width);
	return err != E_OK ? err : (int64_t)arch_port_in((uint16_t)port, width);
}

int device_port_out(struct device *d, uint64_t port, int width, uint64_t value)
{
	int err = port_check(d, port, width);
	if (err == E_OK && !fits(value, width))
		err = E_INVAL;
	if (err == E_OK)
		arch_port_out((uint16_t)port, width, (uint32_t)value);
	return err;
}

// The standard header's base address registers (0x10-0x27) and expansion ROM base
// (0x30): where the device decodes, which the firmware chose. A driver that moved a
// BAR over RAM or the APICs would reach what no program may.
static bool pci_firmware_reg(uint64_t off, int width) { return (off < 0x28 && off + (uint64_t)width > 0x10) || (off < 0x34 && off + (uint64_t)width > 0x30); }

static int pci_check(const struct device *d, uint64_t bdf, uint64_t off, int width)
{
	if (d->kind != DEV_PCI)
		return E_TYPE;
	if (!width_ok(width) || off % (uint64_t)width)
		return E_INVAL;
	return bdf < d->base || bdf - d->base >= d->count || off >= 256 ? E_RANGE : E_OK;
}

int64_t device_pci_read(struct device *d, uint64_t bdf, uint64_t off, int width)
{
	int err = pci_check(d, bdf, off, width);
	return err != E_OK ? err : (int64_t)arch_pci_read((uint32_t)bdf, (uint32_t)off, width);
}

int device_pci_write(struct device *d, uint64_t bdf, uint64_t off, int width, uint64_t value)
{
	int err = pci_check(d, bdf, off, width);
	if (err == E_OK && !fits(value, width))
		err = E_INVAL;
	if (err == E_OK && pci_firmware_reg(off, width))
		err = E_RANGE;
	if (err == E_OK)
		arch_pci_write((uint32_t)bdf, (uint32_t)off, width, (uint32_t)value);
	return err;
}

int device_irq_bind(struct device *d, struct notify *n, uint64_t bits)
{
	if (d->kind != DEV_IRQ)
		return E_TYPE;
	if (n)
		obj_ref(&n->obj);
	spin_lock(&irq_lock);
	struct notify *old = d->notify;
	d->notify = n;
	d->bits = bits;
	if (!n)
		arch_irq_mask((unsigned)d->base);
	spin_unlock(&irq_lock);
	if (old)
		obj_unref(&old->obj);
	return E_OK;
}

int device_irq_ack(struct device *d)
{
	if (d->kind != DEV_IRQ)
		return E_TYPE;
	spin_lock(&irq_lock);
	int err = d->notify ? E_OK : E_INVAL; // unbound: nobody would hear the next one
	if (err == E_OK)
		arch_irq_unmask((unsigned)d->base);
	spin_unlock(&irq_lock);
	return err;
}

// The line is masked (arch did it). Signalled under irq_lock: an unbind cannot drop
// the notify's last reference meanwhile, so no object dies in an interrupt.
void kern_irq(unsigned line)
{
	spin_lock(&irq_lock);
	struct device *d = line < LINES_MAX ? irq_owner[line] : NULL;
	if (d && d->notify)
		notify_signal(d->notify, d->bits, NULL);
	spin_unlock(&irq_lock);
}
