// acpi.h: just enough ACPI to find the CPUs (MADT).
#ifndef ARCH_ACPI_H
#define ARCH_ACPI_H
#include <stdint.h>

// Fills apic_ids with the enabled local APICs, returns how many (at most max), or a
// negative error if the tables cannot be found or are malformed.
int acpi_find_cpus(uint32_t *apic_ids, int max);
// The physical address of the I/O APIC whose inputs start at GSI 0: E_OK, or E_NOENT.
int acpi_find_ioapic(uint64_t *pa);

#endif
