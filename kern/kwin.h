// kwin.h: per-CPU temporary mapping windows: how the kernel reaches any physical frame
// without a direct map. A window belongs to the CPU that mapped it and must be
// unmapped on that CPU (the kernel does not migrate between CPUs while running).
#ifndef KERN_KWIN_H
#define KERN_KWIN_H
#include <stdint.h>
#include <stddef.h>

#define KWIN_SLOTS 8 // per CPU; nesting depth available (page walk + copy + interrupts)

void *kwin_map(uint64_t pa);      // maps the frame containing pa; returns the frame's VA
void kwin_unmap(void *va);
// The same for page walks that come back to the same frame: the window stays mapped
// after kwin_unmap_keep, and kwin_map_keep of the same frame reuses it (kwin.c).
void *kwin_map_keep(uint64_t pa);
void kwin_unmap_keep(void *va);
void kwin_read_phys(void *dst, uint64_t pa, size_t len);
void kwin_write_phys(uint64_t pa, const void *src, size_t len);
void kwin_zero_frame(uint64_t pa);

#endif
