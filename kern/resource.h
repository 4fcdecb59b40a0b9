// resource.h: the resource object (OBJ_RESOURCE): the right to what the machine has
// beyond memory. Its holder may read kernel-wide counters (kernel_stat) and, once
// device objects exist, create them (I/O-port ranges, MMIO regions, interrupts). There
// is one, static; the kernel gives a handle to it to init only (kern/roottask.c).
#ifndef KERN_RESOURCE_H
#define KERN_RESOURCE_H
#include <stdint.h>
#include "kern/object.h"

struct resource {
	struct object obj;
};

// Its reference count starts at 1, the kernel's, which is never dropped: it is never
// destroyed.
extern struct resource root_resource;

// KSTAT_* counter which (abi.h), or E_INVAL for an unknown one.
int64_t resource_stat(int which);

#endif
