// smp.h: bringing up the application processors.
#ifndef ARCH_SMP_H
#define ARCH_SMP_H
#include <stdint.h>
struct cpu;
void smp_init_bsp(void);  // the BSP's struct cpu, GDT, GS base: first thing at boot
void smp_boot_aps(void);  // find CPUs in the MADT, start each with INIT-SIPI-SIPI
#endif
