// finject.c: failure injection (finject.h). Only allocations made on behalf of a user
// vcpu count (current()->space set): the test's own set-up and teardown, and boot,
// never fail. Counters are atomics: every CPU's allocations count.
#include <stdatomic.h>
#include "kern/finject.h"
#include "kern/sched.h"

_Atomic bool finject_armed;
static _Atomic uint64_t count, at, hits;
bool finject_mute_user;

void finject_arm(uint64_t nth)
{
	atomic_store(&count, 0);
	atomic_store(&hits, 0);
	atomic_store(&at, nth);
	atomic_store(&finject_armed, true);
}

void finject_disarm(void) { atomic_store(&finject_armed, false); }
uint64_t finject_count(void) { return atomic_load(&count); }
uint64_t finject_hits(void) { return atomic_load(&hits); }

bool finject_fail_armed(void)
{
	struct cpu *c = this_cpu();
	if (!c || !c->current || !c->current->space)
		return false;
	if (atomic_fetch_add(&count, 1) + 1 != atomic_load(&at))
		return false;
	atomic_fetch_add(&hits, 1);
	return true;
}
