// spinlock.h: fair ticket locks that keep interrupts off while held.
// irq_save()/irq_restore() nest (as xv6's push_off/pop_off): interrupts come back on
// only when the outermost holder releases. A CPU spinning for a lock still serves
// cross-calls (xcall_poll), so a lock holder that waits for this CPU's ack cannot
// deadlock with it. Hence: cross-call functions must never take a lock.
#ifndef KERN_SPINLOCK_H
#define KERN_SPINLOCK_H
#include <stdint.h>
#include <stdbool.h>
#include <stdatomic.h>
#include "kern/panic.h"

// Lock rules clang checks (`make lockcheck`: clang -Wthread-safety); nothing under gcc.
// Functions say which lock they take, drop or need; globals say which lock guards
// them. Fields of a struct cannot name their struct's lock in C with the clang we use
// (see the Makefile), so field rules stay comments above the struct, asserted in code.
#if defined(__clang__)
#define LOCK_ATTR(x) __attribute__((x))
#else
#define LOCK_ATTR(x)
#endif
#define LOCK_CAPABILITY(name) LOCK_ATTR(capability(name))
#define GUARDED_BY(l)         LOCK_ATTR(guarded_by(l))
#define REQUIRES(...)         LOCK_ATTR(requires_capability(__VA_ARGS__))
#define ACQUIRES(...)         LOCK_ATTR(acquire_capability(__VA_ARGS__))
#define RELEASES(...)         LOCK_ATTR(release_capability(__VA_ARGS__))
#define TRY_ACQUIRES(...)     LOCK_ATTR(try_acquire_capability(__VA_ARGS__))
#define ASSERTS_HELD(l)       LOCK_ATTR(assert_capability(l))
#define NO_LOCK_ANALYSIS      LOCK_ATTR(no_thread_safety_analysis) // say why at each use

struct LOCK_CAPABILITY("spinlock") spinlock {
	_Atomic uint32_t next;   // ticket dispenser
	_Atomic uint32_t owner;  // ticket being served
	int32_t cpu;             // holder's id, -1 when free (for assertions)
	const char *name;
};
#define SPINLOCK_INIT(n) { .next = 0, .owner = 0, .cpu = -1, .name = (n) }

void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l) ACQUIRES(l);
void spin_unlock(struct spinlock *l) RELEASES(l);
bool spin_holding(struct spinlock *l);

// Stops the kernel unless this CPU holds l; tells clang's analysis it does from here.
// Every function that relies on a lock its caller took (`_locked`, "caller holds")
// begins with it.
static inline void spin_assert_held_at(struct spinlock *l, const char *file, int line) ASSERTS_HELD(l)
{
	if (__builtin_expect(!spin_holding(l), 0))
		panic("lock %s not held at %s:%d", l->name, file, line);
}
#define spin_assert_held(l) spin_assert_held_at((l), __FILE__, __LINE__)

void irq_save(void);
void irq_restore(void);
// For long walks under one lock (a space's: the range walks, teardown, the gather's
// releases): serves cross-calls, and if that lock is the only one held and interrupts
// were on before it, lets pending interrupts in for an instant. Sound because an
// interrupt handler never takes a lock a thread may hold at such a point: it takes
// only leaf locks that come after a space's lock (timers, notify, run queue), and the
// only space locks it can reach are those of spaces whose last reference it dropped,
// which no walk can be inside. Nothing else may be held across the call.
void irq_window(void);

#endif
