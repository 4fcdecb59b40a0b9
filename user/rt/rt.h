// rt.h: pagoda's user-level thread runtime (SPEC §3): M:N threads on the space's
// vcpus, small stacks that grow on fault, per-vcpu run queues with stealing, and
// mutexes, condition variables and channels that never enter the kernel unless a
// vcpu has to sleep. The same source builds hosted on Linux (rt/hosted/), where the
// vcpus are pthreads and SIGSEGV plays the fault upcall.
#ifndef PAGODA_RT_H
#define PAGODA_RT_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct rt_thread;

// Runs fn(arg) as the first thread on nvcpus vcpus and returns its result once every
// thread it (transitively) spawned has been joined or has finished. Call once.
int rt_main(int nvcpus, int (*fn)(void *), void *arg);

struct rt_thread *rt_spawn(void (*fn)(void *), void *arg); // NULL when out of memory
void rt_join(struct rt_thread *t);   // waits for t to finish, then frees it
void rt_yield(void);
void rt_sleep_ns(uint64_t ns);
int rt_vcpu(void);                   // index of the vcpu running the caller
uint64_t rt_now_ns(void);
// The memory the program holds now, in bytes: on pagoda its space's whole charge
// (frames, page tables, the kernel objects it pays for), hosted its resident set.
uint64_t rt_memory_bytes(void);
// Preemption off for the caller's vcpu (nests): a spawner can, for instance, create
// many threads that none runs yet.
void rt_preempt_disable(void);
void rt_preempt_enable(void);
// The same for callers that may not be runtime threads (main before rt_main, a
// scheduler stack in an upcall): nothing there, as nothing preempts them. libpagoda's
// allocators hold their locks inside these (pg_set_lock_hooks): a thread preempted
// holding one would keep every other thread that wants it spinning a time slice.
void rt_critical_enter(void);
void rt_critical_leave(void);

// A fault no stack growth explains goes to this handler (on the upcall path, not a
// thread). It returns RT_FAULT_RETRY once the access may be retried, RT_FAULT_YIELD
// to run other threads first and retry later (it must not wait in the handler: the
// thread it waits for may be queued on this very vcpu), or RT_FAULT_UNHANDLED.
// The GC read barrier (user/prog/gcdemo.c) uses it.
enum { RT_FAULT_UNHANDLED, RT_FAULT_RETRY, RT_FAULT_YIELD };
void rt_set_fault_handler(int (*fn)(uintptr_t addr, uint64_t code));

struct rt_stats {
	uint64_t threads_live;      // spawned, not yet joined
	uint64_t threads_unstarted; // spawned, never run: they hold no stack yet
	uint64_t stacks;            // stacks in use or cached (made STACK_BATCH at a time)
	uint64_t stacks_in_use;     // held by threads that have run and not finished
	uint64_t stack_pages;       // pages mapped for stacks
	uint64_t stack_growths;     // pages added by stack faults
	uint64_t thread_bytes;      // bytes of thread records in use
	uint64_t preemptions, steals, switches;
	int64_t threads_blocked;    // waiting on a mutex, condition, channel or join (not sleep)
};
void rt_get_stats(struct rt_stats *out);

// Synchronisation. All fields are private; zero-initialised objects are ready.
struct rt_waitq {
	volatile uint32_t lock;
	struct rt_thread *head, *tail;
};
struct rt_mutex {
	volatile uint32_t state; // 0 free, 1 held, 2 held with waiters
	struct rt_waitq q;
};
struct rt_cond {
	struct rt_waitq q;
};
void rt_mutex_lock(struct rt_mutex *m);
bool rt_mutex_trylock(struct rt_mutex *m);
void rt_mutex_unlock(struct rt_mutex *m);
void rt_cond_wait(struct rt_cond *c, struct rt_mutex *m);
void rt_cond_signal(struct rt_cond *c);
void rt_cond_broadcast(struct rt_cond *c);

// A bounded channel of uint64_t values. One of capacity 1 keeps its value inline
// (nothing allocated): a million of them cost their structs only.
struct rt_chan {
	struct rt_mutex m;
	struct rt_cond not_empty, not_full;
	uint64_t *buf;
	size_t cap, head, len;
	bool closed;
	uint64_t slot;
};
int rt_chan_init(struct rt_chan *c, size_t cap);    // 0, or -1 when out of memory
void rt_chan_destroy(struct rt_chan *c);
bool rt_chan_send(struct rt_chan *c, uint64_t v);   // false once closed
bool rt_chan_recv(struct rt_chan *c, uint64_t *v);  // false once closed and empty
void rt_chan_close(struct rt_chan *c);

#endif
