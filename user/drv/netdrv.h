// netdrv.h: how init starts the virtio-net driver (user/init/net.c, user/drv/virtio-net.c):
// the handles it gives, in this order, and the driver's notify bits.
#ifndef PAGODA_NETDRV_H
#define PAGODA_NETDRV_H

#define NET_H_PCI  1 // DEV_PCI over the device's function alone
#define NET_H_MMIO 2 // the BAR holding its virtio structures, a device mem
#define NET_H_IRQ  3 // its INTx line (level, active high)
#define NET_H_DMA  4 // DEV_DMA
#define NET_H_NOTE 5 // the driver's notify (R_WAIT; R_SIGNAL to bind its interrupt to it)
// Endpoint k: its space (R_LEND), its channel mem, its notify (R_SIGNAL).
#define NET_H_EP(k) (6 + 3 * (k))
#define NET_EPS    4

#define NET_BIT_IRQ     (1ULL << 0)
#define NET_BIT_STOP    (1ULL << 1)                // init: stop and reset the device
#define NET_BIT_EP(k)   (1ULL << (8 + (k)))        // endpoint k's doorbell
#define NET_BIT_DEAD(k) (1ULL << (16 + (k)))       // init: endpoint k's space has no vcpu left

#define NET_BOUNCE   32                  // the driver's own frames: copies and ARP
#define NET_MMIO_MAX (1UL << 24)         // the most of a BAR the driver maps
#define NET_WIN_BASE 0x40000000UL        // where lent frames appear in the driver (below
                                         // PG_VA_BASE: pg_va_alloc never hands it out)
#define NET_WIN_SLOT (4 * 4096UL)        // per slot

#endif
