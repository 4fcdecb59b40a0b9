// finject.h: failure injection, for tests only. Armed, the kernel counts the frame,
// heap and kernel-VA allocations that user vcpus' calls make, and makes the Nth one
// fail as if memory had run out. tests/kern/test_finject.c sweeps N over every
// allocation a user program makes and checks that each call that hit it fails
// cleanly: no panic, nothing leaked. Disarmed (always, outside those tests) the cost
// is one load per allocation. Nothing user space does can arm it.
#ifndef KERN_FINJECT_H
#define KERN_FINJECT_H
#include <stdint.h>
#include <stdbool.h>
#include <stdatomic.h>

#define FINJECT_COUNT_ONLY UINT64_MAX  // arm to count, never fail

void finject_arm(uint64_t nth);   // from now, fail the nth allocation (1 = the next)
void finject_disarm(void);
uint64_t finject_count(void);     // allocations counted since arming
uint64_t finject_hits(void);      // allocations failed since arming (0 or 1)
// Called first by each allocator: true means fail this allocation. Inline, so a
// disarmed check is one load on the allocators' fast paths.
extern _Atomic bool finject_armed;
bool finject_fail_armed(void);
static inline bool finject_fail(void)
{
	return __builtin_expect(atomic_load_explicit(&finject_armed, memory_order_relaxed), 0) &&
	       finject_fail_armed();
}

// While set, user programs' debug output is dropped (a sweep's runs fail on purpose,
// and their reports are noise, not results).
extern bool finject_mute_user;

#endif
