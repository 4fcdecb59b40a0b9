// resource.c: the one resource object (resource.h) and the kernel-wide counters its
// holder may read.
#include "kern/resource.h"
#include "kern/kheap.h"
#include "kern/mem.h"
#include "kern/frame.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include <arch/mmu.h>

struct resource root_resource = { .obj = { .type = OBJ_RESOURCE, .refs = 1 } };

int64_t resource_stat(int which)
{
	switch (which) {
	case KSTAT_HEAP_BYTES:
		return (int64_t)kheap_in_use();
	case KSTAT_MEM_FRAMES:
		return (int64_t)mem_frames_in_use();
	case KSTAT_PT_TABLES:
		return (int64_t)mmu_tables_in_use();
	case KSTAT_FREE_FRAMES:
		return (int64_t)frame_free_count();
	default:
		return E_INVAL;
	}
}
