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

struct spinlock {
	_Atomic uint32_t next;   // ticket dispenser
	_Atomic uint32_t owner;  // ticket being served
	int32_t cpu;             // holder's id, -1 when free (for assertions)
	const char *name;
};
#define SPINLOCK_INIT(n) { .next = 0, .owner = 0, .cpu = -1, .name = (n) }

void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
bool spin_holding(struct spinlock *l);

void irq_save(void);
void irq_restore(void);

#endif
