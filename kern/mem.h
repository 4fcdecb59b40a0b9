// mem.h: memory objects: a fixed set of zeroed frames, charged to the quota of the
// space that created it (the payer) until the object is destroyed. Mappable into
// any number of spaces: each mapped page holds one reference, as does each handle.
#ifndef KERN_MEM_H
#define KERN_MEM_H
#include <stdint.h>
#include <stdbool.h>
#include "kern/object.h"

struct space;

// frames[] never changes after creation, so it is read without a lock.
struct mem {
	struct object obj;
	struct space *payer;  // holds a reference on it
	uint64_t npages;
	bool device;          // frames are a device's (mem_create_device): mapped uncached,
	                      // never freed, never lent or given to DMA
	uint64_t frames[];    // physical addresses
};

// size: bytes, a non-zero multiple of 4 KiB. E_INVAL, or E_NOMEM if the payer's
// quota or the machine's frames do not suffice (nothing is left allocated).
// The new object has one reference, the caller's.
int mem_create(struct space *payer, uint64_t size, struct mem **out);
// A mem over the device memory [pa, pa + size) (DEV_MMIO): E_INVAL (alignment, zero
// size, past the physical address width), E_RANGE if any of it is RAM the firmware
// reported or the kernel's interrupt controllers. Only its struct is charged.
int mem_create_device(struct space *payer, uint64_t pa, uint64_t size, struct mem **out);
void mem_destroy(struct mem *m);  // obj_unref_n() at zero
uint64_t mem_frames_in_use(void); // frames held by all mem objects (leak tests)

#endif
