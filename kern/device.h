// device.h: device objects (OBJ_DEVICE): the parts of the machine beyond memory that
// the root task, through the resource handle, hands to drivers (SPEC §2 "Devices";
// docs/devices.md): an I/O-port range, an interrupt line, a range of PCI functions'
// configuration spaces, and the DMA right. (An MMIO region is a mem object whose
// frames are the device's, mem_create_device.) The kernel checks that a program holds
// the object and stays inside it; what the device is told is the driver's business.
#ifndef KERN_DEVICE_H
#define KERN_DEVICE_H
#include <stdint.h>
#include "kern/object.h"
#include "kern/spinlock.h"

struct space;
struct notify;

// kind, base, count and flags are written once by device_create. An interrupt
// line's binding (notify, bits) is guarded by irq_lock (device.c), which the
// interrupt handler takes too.
struct device {
	struct object obj;
	int kind;             // DEV_* (abi.h)
	uint64_t base, count; // ports: [base, base + count); PCI: functions; IRQ: base = line
	unsigned flags;       // IRQ: IRQ_* as routed
	struct notify *notify; // IRQ: a reference while bound
	uint64_t bits;
	struct space *payer;  // charged for it; holds a reference on it
};

// A device of kind over [a, a + b), charged to payer: E_OK and *out (one reference,
// the caller's); E_INVAL (a kind or argument no device takes), E_RANGE (what no
// program may reach), E_BUSY (an interrupt line held by another object), E_NOMEM.
// DEV_MMIO is not made here (mem_create_device).
int device_create(struct space *payer, int kind, uint64_t a, uint64_t b, struct device **out);
void device_destroy(struct device *d); // obj_unref_n() at zero

// The calls on a device the caller holds (kind checked here: E_TYPE if another).
int64_t device_port_in(struct device *d, uint64_t port, int width);
int device_port_out(struct device *d, uint64_t port, int width, uint64_t value);
int64_t device_pci_read(struct device *d, uint64_t bdf, uint64_t off, int width);
int device_pci_write(struct device *d, uint64_t bdf, uint64_t off, int width, uint64_t value);
// n: NULL (and bits 0) unbinds; the line is masked until the next device_irq_ack.
int device_irq_bind(struct device *d, struct notify *n, uint64_t bits);
int device_irq_ack(struct device *d);

#endif
