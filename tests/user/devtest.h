// devtest.h: the handles init's test runner gives tests/user/devices.c
// (user/init/testrun.c, devices()), in this order.
#ifndef TESTS_USER_DEVTEST_H
#define TESTS_USER_DEVTEST_H
#define DEV_H_PCI   1 // DEV_PCI over every function of bus 0-255
#define DEV_H_PCI1  2 // DEV_PCI over the e1000 alone
#define DEV_H_PORTS 3 // DEV_PORTS 0x70-0x71, the CMOS clock
#define DEV_H_IRQ   4 // DEV_IRQ line 8 (the clock), edge, active high
#define DEV_H_DMA   5 // DEV_DMA
#define DEV_H_MMIO  6 // the e1000's BAR 0, a device mem
#define DEV_NGIVE   6
#define DEV_E1000_BDF PCI_BDF(0, 3, 0) // QEMU's pc machine puts its default NIC there
#endif
