// acpi.h: just enough ACPI to find the CPUs (MADT).
#ifndef ARCH_ACPI_H
#define ARCH_ACPI_H
#include <stdint.h>

// Fills apic_ids with the enabled local APICs, returns how many (at most max), or a
// negative error if the tables cannot be found or are malformed.
int acpi_find_cpus(uint32_t *apic_ids, int max);

#endif
