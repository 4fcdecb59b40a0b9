// frame.h: the physical frame allocator. Frames are 4 KiB, named by physical address.
// Failure is a returned E_NOMEM, never a panic.
#ifndef KERN_FRAME_H
#define KERN_FRAME_H
#include <stdint.h>
#include <stddef.h>
#include "kern/memmap.h"

// Before the pool exists frames come from a bump allocator over the usable ranges.
void frame_early_init(const struct mrange *usable, size_t n);
void frame_init(void);                 // builds the bitmap pool (needs kva)
int frame_alloc(uint64_t *pa);         // E_OK or E_NOMEM
int frame_alloc_zeroed(uint64_t *pa);
void frame_free(uint64_t pa);
int frame_claim(uint64_t pa);         // allocate this very frame: E_OK, or E_BUSY if not free          // freeing a frame not allocated is a kernel bug
uint64_t frame_free_count(void);
uint64_t frame_usable_count(void);     // frames the pool manages, free or not
uint64_t frame_highest_usable(void);   // physical address of the highest usable frame

#endif
