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

#define FINJECT_COUNT_ONLY UINT64_MAX  // arm to count, never fail

void finject_arm(uint64_t nth);   // from now, fail the nth allocation (1 = the next)
void finject_disarm(void);
uint64_t finject_count(void);     // allocations counted since arming
uint64_t finject_hits(void);      // allocations failed since arming (0 or 1)
// Called first by each allocator: true means fail this allocation.
bool finject_fail(void);

// While set, user programs' debug output is dropped (a sweep's runs fail on purpose,
// and their reports are noise, not results).
extern bool finject_mute_user;

#endif
