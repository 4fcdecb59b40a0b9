// rt.c: the thread runtime's core: thread records, stacks, per-vcpu run queues with
// stealing, the scheduler loop, blocking and waking, preemption and stack growth.
//
// Each vcpu runs its scheduler on its own scheduler stack (on pagoda: the upcall
// stack, so the kernel never interrupts it with an upcall). A thread never switches
// to another thread directly: it saves itself and enters a fresh scheduler context
// with an action (yield, block, sleep, exit) that the scheduler completes once the
// thread is off its stack. So a waker can never resume a thread still running.
//
// Thread states: NEW -> RUNNING -> (BLOCKING -> BLOCKED | WOKEN) -> RUNNABLE -> ... -> DONE.
// A waker moves BLOCKING to WOKEN (the scheduler then requeues it) or BLOCKED to
// RUNNABLE (the waker queues it), with compare-and-swap, so exactly one side queues.
//
// A thread's `nopreempt` keeps preemption out of the runtime's critical sections
// (queue locks, a thread saving itself): a preemption that lands there resumes at
// once and the thread yields when it leaves the section. It is the thread's, not its
// vcpu's: a thread may be preempted and move to another vcpu anywhere outside such a
// section, so only once its own count is raised may it rely on its vcpu (me->vcpu).
#include "rt.h"
#include "plat.h"
#include "deque.h"
#include <stdatomic.h>
#include "include/pagoda/abi.h"

void pg_context_switch(struct pg_context *save, const struct pg_context *next);
__attribute__((noreturn)) void pg_context_resume(const struct pg_context *c);
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

#define RT_MAX_VCPUS 64
#define PAGE 4096UL
#define STACK_SLOT (64 * 1024UL)     // VA per stack: one unmapped guard page at the bottom
// 2M slots = 128 GiB of VA, reserved once (on pagoda from pg_va_alloc, so never
// anyone else's); a finished thread's slot stays mapped and cached for the next.
#define STACK_MAX_STACKS (1UL << 21)
#define THREAD_CHUNK (1UL << 20)     // thread records come in 1 MiB chunks

enum { TS_NEW, TS_RUNNABLE, TS_RUNNING, TS_BLOCKING, TS_BLOCKED, TS_WOKEN, TS_DONE };
enum { A_NONE, A_YIELD, A_BLOCK, A_SLEEP, A_EXIT };
#define JOIN_DONE ((struct rt_thread *)1)

struct rt_thread {
	struct pg_context ctx;           // saved while not running
	void (*fn)(void *);
	void *arg;
	struct rt_thread *next;          // run queue, wait queue, timer list or free list
	uintptr_t stack;                 // slot base; 0 until the first run
	_Atomic uint32_t state;
	int32_t vcpu;                    // the vcpu that ran it last
	struct rt_thread *_Atomic joiner;
	uint64_t deadline;               // sleeping: when to wake
	volatile int nopreempt;          // its critical sections (the thread's own)
	volatile bool preempt_pending;   // a preemption was refused in one of them
};

// Per vcpu. q is lock-free (deque.h: the owner pushes, anyone takes); the rest is the
// vcpu's own.
struct vcpu_rt {
	struct deque q;
	struct rt_thread *cur;
	int action;
	struct rt_thread *action_thread;
	struct rt_thread *timers;        // sleeping threads, earliest first
	struct rt_thread *free_threads;  // records to reuse
	uintptr_t free_stacks;           // stack slots to reuse (linked through their top page)
	void *free_xstate;               // extended-state buffers to reuse (xbuf_get)
	bool slice_armed;                // a time slice (vcpu timer) is running
	uint64_t preemptions, steals, switches;
	int64_t blocked;                 // threads it blocked less those it woke (the sum counts)
} __attribute__((aligned(64)));

#define SLICE_NS 10000000ULL // a thread runs at most this long while others wait

static struct vcpu_rt V[RT_MAX_VCPUS];
static int nv;
static volatile int shutdown;
static volatile uint32_t idle_count;
static uintptr_t stack_base;
static _Atomic uint64_t stack_next, n_stacks, n_stack_pages, n_growths;
static _Atomic uint64_t n_live, n_unstarted, n_stacks_used;
static int (*fault_handler)(uintptr_t, uint64_t);

// ---- small pieces ---------------------------------------------------------------

static void lock(volatile uint32_t *l)
{
	// No `pause`: under QEMU's TCG it exits to the emulator's main loop, far slower
	// than the wait itself (docs/foundation.md).
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (*l)
			__asm__ volatile("" ::: "memory");
}
static void unlock(volatile uint32_t *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

// The running thread: its record pointer sits in the top word of its stack slot.
static struct rt_thread *self(void)
{
	uintptr_t sp;
	__asm__("mov %%rsp, %0" : "=r"(sp));
	return *(struct rt_thread **)((sp & ~(STACK_SLOT - 1)) + STACK_SLOT - 8);
}

static struct vcpu_rt *my_vcpu(void) { return &V[self()->vcpu]; }

static bool on_thread_stack(void)
{
	uintptr_t sp;
	__asm__("mov %%rsp, %0" : "=r"(sp));
	return stack_base && sp >= stack_base && sp < stack_base + STACK_MAX_STACKS * STACK_SLOT;
}

void rt_preempt_disable(void) { self()->nopreempt++; }

void rt_preempt_enable(void)
{
	struct rt_thread *me = self();
	if (--me->nopreempt == 0 && me->preempt_pending) {
		me->preempt_pending = false;
		rt_yield();
	}
}

void rt_critical_enter(void)
{
	if (on_thread_stack())
		rt_preempt_disable();
}

void rt_critical_leave(void)
{
	if (on_thread_stack())
		rt_preempt_enable();
}

int rt_vcpu(void) { return self()->vcpu; }
uint64_t rt_now_ns(void) { return plat_now_ns(); }
uint64_t rt_memory_bytes(void) { return plat_memory_bytes(); }
void rt_set_fault_handler(int (*fn)(uintptr_t, uint64_t)) { fault_handler = fn; }

// ---- records and stacks -----------------------------------------------------------

// Fixed-size pieces cut from plat_alloc'd chunks, shared by all vcpus (their own free
// lists come first): thread records and extended-state buffers.
struct carver {
	volatile uint32_t lock;
	size_t chunk_bytes;
	char *chunk;
	size_t left;
};

static void *carve(struct carver *c, size_t size)
{
	void *p = NULL;
	lock(&c->lock);
	if (c->left < size) {
		c->chunk = plat_alloc(c->chunk_bytes);
		c->left = c->chunk ? c->chunk_bytes : 0;
	}
	if (c->left >= size) {
		p = c->chunk;
		c->chunk += size;
		c->left -= size;
	}
	unlock(&c->lock);
	return p;
}

static struct carver thread_carver = { .chunk_bytes = THREAD_CHUNK };

static struct rt_thread *thread_alloc(struct vcpu_rt *v)
{
	struct rt_thread *t = v->free_threads;
	if (t)
		v->free_threads = t->next;
	else if (!(t = carve(&thread_carver, sizeof *t)))
		return NULL;
	memset(t, 0, sizeof *t);
	return t;
}

// A stack slot with its top page mapped; its top words: the thread, the lowest
// mapped address, the free-list link. Fresh slots come STACK_BATCH at a time, their
// top pages mapped in one go (plat_map_pages: three system calls on pagoda, not three
// per stack), into the vcpu's free list.
#define STACK_BATCH 64

static uintptr_t stack_refill(struct vcpu_rt *v)
{
	uint64_t i = atomic_fetch_add(&stack_next, STACK_BATCH);
	if (i + STACK_BATCH > STACK_MAX_STACKS)
		return 0;
	uintptr_t tops[STACK_BATCH];
	for (int k = 0; k < STACK_BATCH; k++)
		tops[k] = stack_base + (i + (uint64_t)k) * STACK_SLOT + STACK_SLOT - PAGE;
	if (plat_stacks_grow_on_fault && plat_map_pages(tops, STACK_BATCH) != 0)
		return 0;
	for (int k = STACK_BATCH - 1; k >= 0; k--) {
		uintptr_t s = tops[k] + PAGE - STACK_SLOT;
		*(uintptr_t *)(s + STACK_SLOT - 16) = tops[k];
		*(uintptr_t *)(s + STACK_SLOT - 24) = v->free_stacks;
		v->free_stacks = s;
	}
	n_stacks += STACK_BATCH;
	n_stack_pages += STACK_BATCH;
	return v->free_stacks;
}

static uintptr_t stack_alloc(struct vcpu_rt *v)
{
	uintptr_t s = v->free_stacks;
	if (!s && !(s = stack_refill(v)))
		return 0;
	v->free_stacks = *(uintptr_t *)(s + STACK_SLOT - 24);
	return s;
}

static void stack_free(struct vcpu_rt *v, uintptr_t s)
{
	*(uintptr_t *)(s + STACK_SLOT - 24) = v->free_stacks;
	v->free_stacks = s;
}

int rt_fault(uintptr_t addr, uint64_t code)
{
	if (stack_base && addr >= stack_base && addr < stack_base + STACK_MAX_STACKS * STACK_SLOT) {
		uintptr_t s = addr & ~(STACK_SLOT - 1), *lo = (uintptr_t *)(s + STACK_SLOT - 16);
		uintptr_t page = addr & ~(PAGE - 1);
		if (page < s + PAGE || page >= *lo)
			return RT_FAULT_UNHANDLED; // the guard page: a stack overflow, not growth
		if (plat_map(page, *lo - page) != 0)
			return RT_FAULT_UNHANDLED;
		n_stack_pages += (*lo - page) / PAGE;
		n_growths += (*lo - page) / PAGE;
		*lo = page;
		return RT_FAULT_RETRY;
	}
	return fault_handler ? fault_handler(addr, code) : RT_FAULT_UNHANDLED;
}

// ---- extended state of preempted threads ------------------------------------------
// A preempted thread's vector registers must survive until it runs again, so its
// image (in the upcall frame, which the next upcall overwrites) is copied into a
// buffer of its own, from a per-vcpu free list; a voluntary switch needs none (the
// ABI keeps only MXCSR and the x87 control word across a call, and the context holds
// those). The list is linked through bytes 464..511 of the image's legacy region,
// which XSAVE and XRSTOR leave to software (SDM vol. 1, 10.5.1).
#define XBUF_LINK 496
#define XBUF_CHUNK (64 * 1024UL)

static size_t xbuf_size; // plat_xstate_max(), rounded up to 64
static struct carver xbuf_carver = { .chunk_bytes = XBUF_CHUNK };

static void **xbuf_link(void *b) { return (void **)((char *)b + XBUF_LINK); }

static void *xbuf_get(struct vcpu_rt *v)
{
	void *b = v->free_xstate;
	if (!b)
		return carve(&xbuf_carver, xbuf_size);
	v->free_xstate = *xbuf_link(b);
	return b;
}

static void xbuf_put(struct vcpu_rt *v, void *b)
{
	*xbuf_link(b) = v->free_xstate;
	v->free_xstate = b;
}

// A context that starts fn(arg) on sp with clean control words.
static void ctx_init(struct pg_context *c, uintptr_t fn, uintptr_t sp, uint64_t arg)
{
	memset(c, 0, sizeof *c);
	c->rip = fn;
	c->rsp = sp;
	c->rdi = arg;
	c->rflags = 0x202;
	c->mxcsr = PG_MXCSR_INIT;
	c->fcw = PG_FCW_INIT;
}

// ---- run queues ---------------------------------------------------------------------

// Only a vcpu queues on its own queue (deque.h's single pusher): a woken thread goes
// to its waker's vcpu, a spawned one to its spawner's.
static void push(struct vcpu_rt *v, struct rt_thread *t)
{
	if (dq_push(&v->q, t) != 0)
		plat_panic("rt: no memory for a bigger run queue");
	// The thread running here is the one t now waits for: it gets a time slice if it
	// ran without one (nothing waited then).
	if (v->cur && !v->slice_armed) {
		plat_slice(SLICE_NS);
		v->slice_armed = true;
	}
	if (__atomic_load_n(&idle_count, __ATOMIC_SEQ_CST))
		plat_wake();
}

static struct rt_thread *pop(struct vcpu_rt *v) { return dq_len(&v->q) ? dq_take(&v->q) : NULL; }

static struct rt_thread *steal(int i)
{
	for (int k = 1; k < nv; k++) {
		struct rt_thread *t = pop(&V[(i + k) % nv]);
		if (t) {
			V[i].steals++;
			return t;
		}
	}
	return NULL;
}

// Makes a blocked (or blocking) thread runnable, on the caller's vcpu.
static void wake(struct vcpu_rt *v, struct rt_thread *t)
{
	uint32_t s = TS_BLOCKING;
	if (atomic_compare_exchange_strong(&t->state, &s, TS_WOKEN))
		return; // its scheduler will queue it once it is off its stack
	s = TS_BLOCKED;
	if (atomic_compare_exchange_strong(&t->state, &s, TS_RUNNABLE)) {
		v->blocked--;
		push(v, t);
	}
}

// ---- the scheduler ------------------------------------------------------------------

static void thread_start(struct rt_thread *t);

__attribute__((noreturn)) static void run(int i, struct rt_thread *t)
{
	struct vcpu_rt *v = &V[i];
	if (!t->stack) {
		uintptr_t s = stack_alloc(v);
		if (!s)
			plat_panic("rt: out of stacks");
		t->stack = s;
		n_stacks_used++;
		*(struct rt_thread **)(s + STACK_SLOT - 8) = t;
		// Below the slot's words; as after a call.
		ctx_init(&t->ctx, (uintptr_t)thread_start, s + STACK_SLOT - 40, (uintptr_t)t);
		n_unstarted--;
	}
	// Its image is read before this vcpu runs anything else (pg_context_resume
	// restores it first, here on the scheduler stack), so it can be reused already.
	if (t->ctx.xstate)
		xbuf_put(v, (void *)t->ctx.xstate);
	t->vcpu = i;
	t->state = TS_RUNNING;
	// Others wait (queued here, or asleep with a deadline): bound this thread's turn.
	if (!v->slice_armed && (dq_len(&v->q) || v->timers)) {
		plat_slice(SLICE_NS);
		v->slice_armed = true;
	}
	v->cur = t;
	v->switches++;
	pg_context_resume(&t->ctx);
}

static void expire_timers(struct vcpu_rt *v, uint64_t now)
{
	while (v->timers && v->timers->deadline <= now) {
		struct rt_thread *t = v->timers;
		v->timers = t->next;
		t->state = TS_RUNNABLE;
		push(v, t);
	}
}

#define IDLE_SPINS 2000

static bool spin_for_work(int i)
{
	for (int n = 0; n < IDLE_SPINS; n++)
		for (int k = 0; k < nv; k++)
			if (dq_len(&V[(i + k) % nv].q) || shutdown)
				return true;
	return false;
}

// Completes what the thread that just left did.
static void finish_action(struct vcpu_rt *v)
{
	struct rt_thread *t = v->action_thread;
	uint32_t s = TS_BLOCKING;
	switch (v->action) {
	case A_YIELD:
		t->state = TS_RUNNABLE;
		push(v, t);
		break;
	case A_BLOCK:
		if (atomic_compare_exchange_strong(&t->state, &s, TS_BLOCKED)) {
			v->blocked++;
		} else { // woken meanwhile
			t->state = TS_RUNNABLE;
			push(v, t);
		}
		break;
	case A_SLEEP: {
		t->state = TS_BLOCKED;
		struct rt_thread **p = &v->timers;
		while (*p && (*p)->deadline <= t->deadline)
			p = &(*p)->next;
		t->next = *p;
		*p = t;
		break;
	}
	case A_EXIT: {
		stack_free(v, t->stack);
		n_stacks_used--;
		t->stack = 0;
		t->state = TS_DONE;
		struct rt_thread *j = NULL;
		if (!atomic_compare_exchange_strong(&t->joiner, &j, JOIN_DONE))
			wake(v, j);
		break;
	}
	}
	v->action = A_NONE;
	v->action_thread = NULL;
}

__attribute__((noreturn)) static void sched_loop(int i)
{
	struct vcpu_rt *v = &V[i];
	v->cur = NULL; // no thread: a preemption here resumes at once
	if (v->action != A_NONE)
		finish_action(v);
	for (;;) {
		expire_timers(v, v->timers ? plat_now_ns() : 0);
		struct rt_thread *t = pop(v);
		if (!t)
			t = steal(i);
		if (t)
			run(i, t);
		if (shutdown && !v->timers)
			break;
		// Work often turns up within microseconds (a mutex handed over, a reply):
		// look a while before paying for a sleep and a wake-up in the kernel.
		if (spin_for_work(i))
			continue;
		// Announce, look once more, then sleep: a push after the announcement wakes us.
		__atomic_fetch_add(&idle_count, 1, __ATOMIC_SEQ_CST);
		t = pop(v);
		if (!t)
			t = steal(i);
		if (t) {
			__atomic_fetch_sub(&idle_count, 1, __ATOMIC_SEQ_CST);
			run(i, t);
		}
		if (!shutdown) {
			plat_idle(v->timers ? v->timers->deadline : 0);
			v->slice_armed = false; // plat_idle uses (and cancels) the same timer
		}
		__atomic_fetch_sub(&idle_count, 1, __ATOMIC_SEQ_CST);
	}
	plat_wake(); // pass the shutdown on
	plat_vcpu_exit();
	plat_panic("vcpu exit returned");
}

void rt_vcpu_main(int i) { sched_loop(i); }

// Saves the calling thread and enters a fresh scheduler context that completes
// `action`; returns when the thread is resumed (on any vcpu), preemption back on.
static void to_sched(int action)
{
	struct rt_thread *me = self();
	me->nopreempt++; // from here on me->vcpu stays ours
	struct vcpu_rt *v = &V[me->vcpu];
	v->action = action;
	v->action_thread = me;
	struct pg_context sc;
	ctx_init(&sc, (uintptr_t)sched_loop, plat_sched_stack(me->vcpu) - 8, (uint64_t)me->vcpu);
	pg_context_switch(&me->ctx, &sc);
	me->preempt_pending = false; // it just got a fresh turn
	me->nopreempt = 0;
}

void rt_preempted(int i, const struct pg_context *ctx, bool slice_end)
{
	struct vcpu_rt *v = &V[i];
	if (slice_end)
		v->slice_armed = false;
	struct rt_thread *t = v->cur;
	if (!t || t->nopreempt) {
		if (t)
			t->preempt_pending = true;
		return; // resume it as it was
	}
	void *x = NULL;
	if (ctx->xstate && (ctx->xsize > xbuf_size || !(x = xbuf_get(v))))
		return; // nowhere to keep its vector registers: it goes on
	t->ctx = *ctx;
	if (x) {
		memcpy(x, (const void *)ctx->xstate, ctx->xsize);
		t->ctx.xstate = (uintptr_t)x;
	}
	v->preemptions++;
	v->action = A_YIELD;
	v->action_thread = t;
	sched_loop(i); // we are on the scheduler stack already
}

static void thread_start(struct rt_thread *t)
{
	t->fn(t->arg);
	to_sched(A_EXIT);
	plat_panic("finished thread resumed");
}

// ---- the public calls -----------------------------------------------------------------

struct rt_thread *rt_spawn(void (*fn)(void *), void *arg)
{
	struct rt_thread *me = self();
	me->nopreempt++;
	struct vcpu_rt *v = &V[me->vcpu];
	struct rt_thread *t = thread_alloc(v);
	if (t) {
		t->fn = fn;
		t->arg = arg;
		t->vcpu = me->vcpu;
		t->state = TS_RUNNABLE;
		n_live++;
		n_unstarted++;
		push(v, t);
	}
	rt_preempt_enable();
	return t;
}

void rt_yield(void) { to_sched(A_YIELD); }

// Blocks the caller, already findable by its waker with state TS_BLOCKING and
// preemption off.
static void block(void) { to_sched(A_BLOCK); }

void rt_join(struct rt_thread *t)
{
	struct rt_thread *me = self(), *none = NULL;
	rt_preempt_disable(); // a BLOCKING thread must not be preempted (it would be requeued)
	me->state = TS_BLOCKING;
	if (atomic_compare_exchange_strong(&t->joiner, &none, me)) {
		block(); // woken by t's exit
	} else {
		me->state = TS_RUNNING; // t had finished
		rt_preempt_enable();
	}
	me->nopreempt++;
	struct vcpu_rt *v = my_vcpu();
	t->next = v->free_threads;
	v->free_threads = t;
	n_live--;
	rt_preempt_enable();
}

void rt_sleep_ns(uint64_t ns)
{
	self()->deadline = plat_now_ns() + ns;
	to_sched(A_SLEEP);
}

void rt_get_stats(struct rt_stats *o)
{
	memset(o, 0, sizeof *o);
	o->threads_live = n_live;
	o->threads_unstarted = n_unstarted;
	o->stacks = n_stacks;
	o->stacks_in_use = n_stacks_used;
	o->stack_pages = n_stack_pages;
	o->stack_growths = n_growths;
	o->thread_bytes = n_live * sizeof(struct rt_thread);
	for (int i = 0; i < nv; i++) {
		o->preemptions += V[i].preemptions;
		o->steals += V[i].steals;
		o->switches += V[i].switches;
		o->threads_blocked += V[i].blocked;
	}
}

// ---- wait queues (sync.c builds on these) ---------------------------------------------

void rt_waitq_lock(struct rt_waitq *q) { rt_preempt_disable(), lock(&q->lock); }
void rt_waitq_unlock(struct rt_waitq *q) { unlock(&q->lock), rt_preempt_enable(); }

// With q locked: queues the caller, unlocks q and blocks until woken.
void rt_waitq_sleep_unlock(struct rt_waitq *q)
{
	struct rt_thread *me = self();
	me->state = TS_BLOCKING;
	me->next = NULL;
	if (q->tail)
		q->tail->next = me;
	else
		q->head = me;
	q->tail = me;
	unlock(&q->lock);
	block(); // preemption stays off (TS_BLOCKING): the scheduler turns it back on
}

// With q locked: wakes the longest waiter; false if there was none.
bool rt_waitq_wake_one(struct rt_waitq *q)
{
	struct rt_thread *t = q->head;
	if (!t)
		return false;
	q->head = t->next;
	if (!q->head)
		q->tail = NULL;
	wake(my_vcpu(), t);
	return true;
}

// ---- start and end ---------------------------------------------------------------------

static int (*main_fn)(void *);
static void *main_arg;
static int main_ret;

static void main_thread(void *arg)
{
	(void)arg;
	main_ret = main_fn(main_arg);
	shutdown = 1;
	for (int i = 0; i < nv; i++)
		plat_wake();
}

int rt_main(int nvcpus, int (*fn)(void *), void *arg)
{
	if (nvcpus < 1 || nvcpus > RT_MAX_VCPUS)
		return -1;
	nv = nvcpus;
	xbuf_size = (plat_xstate_max() + 63) & ~(size_t)63;
	stack_base = plat_reserve_stacks(STACK_MAX_STACKS * STACK_SLOT);
	if (!stack_base)
		return -1;
	main_fn = fn;
	main_arg = arg;
	struct rt_thread *t = thread_alloc(&V[0]);
	if (!t)
		return -1;
	t->fn = main_thread;
	t->state = TS_RUNNABLE;
	n_live++;
	n_unstarted++;
	for (int i = 0; i < nv; i++)
		if (dq_init(&V[i].q, 1024) != 0)
			return -1;
	if (dq_push(&V[0].q, t) != 0)
		return -1;
	if (plat_start_vcpus(nvcpus) != 0)
		return -1;
	plat_wait_vcpus();
	return main_ret;
}

// With q locked: exactly one thread waits.
bool rt_waitq_single(const struct rt_waitq *q) { return q->head && !q->head->next; }
