// apic.h: the local APIC (x2APIC when the CPU has it, else xAPIC MMIO): IPIs and timer.
#ifndef ARCH_APIC_H
#define ARCH_APIC_H
#include <stdint.h>

void lapic_init_bsp(void);     // detect mode, map MMIO, calibrate timer and TSC
void lapic_init_cpu(void);     // enable this CPU's APIC and start its periodic timer
uint32_t lapic_id(void);
void lapic_eoi(void);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
int lapic_is_x2apic(void);
void udelay(uint64_t us);


#endif
