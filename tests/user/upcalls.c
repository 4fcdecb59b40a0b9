// upcalls.c: scheduler activations (SPEC §2): each upcall reason arrives with the
// right frame, the runtime resumes contexts itself, and an event that comes while the
// upcall stack is busy has its defined outcome (abi.h): preemption and timers wait,
// nothing nests. Also notifications (signal, blocking wait, wait in an upcall) and
// bad arguments to the vcpu and notify calls.
#include "tcommon.h"

#define RAW_VA  0x50000000UL // stacks of the vcpus with their own handlers here

// A vcpu with a handler of this file's own: its upcall stack and a thread stack.
struct raw {
	uintptr_t ustack_top, stack_top;
	volatile uint64_t starts, preempts, faults, timers, notifies, nested, in_upcall;
	volatile uint64_t spins, stop, done;
	struct pg_upcall last;
};
static struct raw raws[8];
static int nraw;

static int raw_spawn(void (*entry)(struct pg_upcall *), int cpu, struct raw **out)
{
	int i = nraw++;
	struct raw *r = &raws[i];
	uintptr_t va = RAW_VA + (uintptr_t)i * 32 * PAGE;
	handle_t m = pg_mem_create(STACK_SZ + PG_UPCALL_STACK_SIZE);
	if (m < 0)
		return m;
	int err = pg_map(H_SELF, va, m, 0, STACK_SZ + PG_UPCALL_STACK_SIZE, PROT_READ | PROT_WRITE);
	pg_handle_close(m);
	if (err < 0)
		return err;
	r->stack_top = va + STACK_SZ;
	r->ustack_top = va + STACK_SZ + PG_UPCALL_STACK_SIZE;
	*out = r;
	return pg_vcpu_create(H_SELF, (uintptr_t)entry, r->ustack_top, (uint64_t)i, cpu);
}

static void spin_ms(uint64_t ms)
{
	uint64_t t = pg_clock_ns();
	while (pg_clock_ns() - t < ms * 1000000)
		;
}

// ---- START: the frame, then a thread that spins until told to stop ---------------

static void spinner_thread(uint64_t i)
{
	struct raw *r = &raws[i];
	while (!r->stop)
		r->spins++;
	r->done = 1;
	pg_exit(0);
}

// START runs spinner_thread on the thread stack; PREEMPTED/TIMER resume it.
__attribute__((noreturn)) static void spin_entry(struct pg_upcall *u)
{
	struct raw *r = &raws[u->arg];
	if (r->in_upcall)
		r->nested++;
	r->in_upcall = 1;
	r->last = *u;
	switch (u->reason) {
	case UPCALL_START:
		r->starts++;
		r->in_upcall = 0;
		tc_enter((uintptr_t)spinner_thread, r->stack_top, u->arg, 0, 0);
	case UPCALL_PREEMPTED:
		r->preempts++;
		break;
	case UPCALL_TIMER:
		r->timers++;
		break;
	default:
		__builtin_trap();
	}
	r->in_upcall = 0;
	pg_context_resume(&u->ctx);
}

static void start_frame(const char *n)
{
	struct raw *r;
	int cpu = pg_cpu_count() - 1;
	if (!UCHECK_EQ(n, raw_spawn(spin_entry, cpu, &r), E_OK))
		return;
	UCHECK(n, TC_WAIT(r->starts == 1, 5000));
	UCHECK_EQ(n, r->last.reason, UPCALL_START);
	UCHECK_EQ(n, r->last.arg, (uint64_t)(r - raws));
	UCHECK_EQ(n, r->last.cpu, cpu);
	UCHECK_EQ(n, r->last.ctx.rip, 0);
	UCHECK_EQ(n, r->last.ctx.rsp, 0);
	r->stop = 1;
	UCHECK(n, TC_WAIT(r->done, 5000));
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 5000));
}

// Two spinners share cpu0 with main: the timer must preempt them, each time with a
// PREEMPTED upcall carrying the spinning context, and both must keep running.
static void preemption(const char *n)
{
	struct raw *a, *b;
	if (!UCHECK_EQ(n, raw_spawn(spin_entry, 0, &a), E_OK) || !UCHECK_EQ(n, raw_spawn(spin_entry, 0, &b), E_OK))
		return;
	UCHECK(n, TC_WAIT(a->preempts >= 3 && b->preempts >= 3, 10000));
	uint64_t sa = a->spins, sb = b->spins;
	UCHECK(n, TC_WAIT(a->spins > sa && b->spins > sb, 5000)); // both still progress
	UCHECK(n, a->last.ctx.rsp <= a->stack_top && a->last.ctx.rsp > a->stack_top - STACK_SZ);
	UCHECK(n, a->last.ctx.rip >= (uintptr_t)spinner_thread && a->last.ctx.rip < (uintptr_t)spinner_thread + 64);
	UCHECK_EQ(n, a->nested + b->nested, 0);
	a->stop = b->stop = 1;
	UCHECK(n, TC_WAIT(a->done && b->done, 5000));
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 5000));
}

// ---- Busy upcall stack: preemption and timers wait, nothing nests -------------------

// START spins 50 ms in the upcall (sharing cpu0 with another vcpu, so the timer
// takes the CPU several times), with a 1 ms timer armed: no upcall may nest; the
// TIMER comes only once the vcpu has left its upcall stack.
__attribute__((noreturn)) static void busy_entry(struct pg_upcall *u)
{
	struct raw *r = &raws[u->arg];
	if (r->in_upcall)
		r->nested++;
	r->in_upcall = 1;
	if (u->reason == UPCALL_START) {
		r->starts++;
		pg_vcpu_timer(1000000);
		spin_ms(50);
		r->in_upcall = 0;
		tc_enter((uintptr_t)spinner_thread, r->stack_top, u->arg, 0, 0);
	}
	if (u->reason == UPCALL_TIMER) {
		r->timers++;
		r->last = *u;
	}
	if (u->reason == UPCALL_PREEMPTED)
		r->preempts++;
	r->in_upcall = 0;
	pg_context_resume(&u->ctx);
}

static void busy_upcall_stack(const char *n)
{
	struct raw *r, *other;
	if (!UCHECK_EQ(n, raw_spawn(busy_entry, 0, &r), E_OK) || !UCHECK_EQ(n, raw_spawn(spin_entry, 0, &other), E_OK))
		return;
	UCHECK(n, TC_WAIT(r->timers == 1, 10000)); // not lost: delivered after the upcall
	UCHECK_EQ(n, r->nested, 0);
	UCHECK(n, r->last.ctx.rsp <= r->stack_top && r->last.ctx.rsp > r->stack_top - STACK_SZ);
	r->stop = other->stop = 1;
	UCHECK(n, TC_WAIT(r->done && other->done, 5000));
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 5000));
}

// ---- FAULT: ping-pong through protect ------------------------------------------------

#define PP_VA (TEST_VA + 64 * PAGE)
#define PP_ROUNDS 200
static volatile uint64_t pp_writes, pp_faults, pp_bad;

static void pingpong_thread(uint64_t arg)
{
	(void)arg;
	for (int i = 0; i < PP_ROUNDS; i++) {
		if (pg_protect(H_SELF, PP_VA, PAGE, PROT_READ) != E_OK)
			pp_bad++;
		*(volatile uint64_t *)PP_VA = (uint64_t)i; // faults; the handler re-enables it
		pp_writes++;
	}
	pg_exit(0);
}

__attribute__((noreturn)) static void pingpong_entry(struct pg_upcall *u)
{
	struct raw *r = &raws[u->arg];
	if (u->reason == UPCALL_START)
		tc_enter((uintptr_t)pingpong_thread, r->stack_top, 0, 0, 0);
	if (u->reason == UPCALL_FAULT) {
		if (u->fault_addr != PP_VA || (u->fault_code >> 32) != 14 || !(u->fault_code & 2))
			pp_bad++;
		pp_faults++;
		if (pg_protect(H_SELF, PP_VA, PAGE, PROT_READ | PROT_WRITE) != E_OK)
			pp_bad++;
	}
	pg_context_resume(&u->ctx); // the write is retried and succeeds
}

static void fault_pingpong(const char *n)
{
	struct raw *r;
	if (!UCHECK(n, tc_map_new(PP_VA, 1) >= 0) || !UCHECK_EQ(n, raw_spawn(pingpong_entry, -1, &r), E_OK))
		return;
	UCHECK(n, TC_WAIT(pp_writes == PP_ROUNDS, 10000));
	UCHECK_EQ(n, pp_faults, PP_ROUNDS);
	UCHECK_EQ(n, pp_bad, 0);
	UCHECK_EQ(n, *(volatile uint64_t *)PP_VA, PP_ROUNDS - 1);
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 5000));
}

// ---- NOTIFY ----------------------------------------------------------------------------

static handle_t nt;
static volatile uint64_t nt_ret, nt_waiting, nt_upcall_bits, nt_upcall_rax, nt_idle_ret;

static void waiter_thread(uint64_t arg)
{
	(void)arg;
	nt_waiting = 1;
	nt_ret = (uint64_t)pg_notify_wait(nt); // blocks: resumed through a NOTIFY upcall
	pg_exit(0);
}

__attribute__((noreturn)) static void notify_entry(struct pg_upcall *u)
{
	struct raw *r = &raws[u->arg];
	if (u->reason == UPCALL_START)
		tc_enter((uintptr_t)waiter_thread, r->stack_top, 0, 0, 0);
	if (u->reason == UPCALL_NOTIFY) {
		nt_upcall_bits = u->notify_bits;
		nt_upcall_rax = u->ctx.rax;
	}
	pg_context_resume(&u->ctx);
}

static void notify_wakes_with_upcall(const char *n)
{
	nt = pg_notify_create();
	struct raw *r;
	if (!UCHECK(n, nt > 0) || !UCHECK_EQ(n, raw_spawn(notify_entry, -1, &r), E_OK))
		return;
	UCHECK(n, TC_WAIT(nt_waiting, 5000));
	spin_ms(20); // let it block
	UCHECK_EQ(n, pg_notify_signal(nt, 0x5), E_OK);
	UCHECK(n, TC_WAIT(nt_ret != 0, 5000));
	UCHECK_EQ(n, nt_ret, 0x5);
	UCHECK_EQ(n, nt_upcall_bits, 0x5);
	UCHECK_EQ(n, nt_upcall_rax, 0x5);
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 5000));
	// Pending bits are taken at once, ORed together.
	UCHECK_EQ(n, pg_notify_signal(nt, 0x10), E_OK);
	UCHECK_EQ(n, pg_notify_signal(nt, 0x1), E_OK);
	UCHECK_EQ(n, pg_notify_wait(nt), 0x11);
}

// An idle-loop style wait inside the upcall: a plain return, no upcall; with the
// vcpu's timer armed and no signal, it ends with E_TIMEOUT.
__attribute__((noreturn)) static void idle_entry(struct pg_upcall *u)
{
	if (u->reason == UPCALL_START) {
		pg_vcpu_timer(20 * 1000000);
		nt_idle_ret = (uint64_t)pg_notify_wait(nt);
		pg_exit(0);
	}
	__builtin_trap(); // nothing else may arrive: the vcpu never left its upcall
}

static void wait_in_upcall_times_out(const char *n)
{
	struct raw *r;
	nt_idle_ret = 0;
	if (!UCHECK_EQ(n, raw_spawn(idle_entry, -1, &r), E_OK))
		return;
	UCHECK(n, TC_WAIT(nt_idle_ret != 0, 5000));
	UCHECK_EQ(n, (long)nt_idle_ret, E_TIMEOUT);
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 5000));
	UCHECK_EQ(n, tc_stats(H_SELF).faults, 0);
}

static void bad_calls_fail(const char *n)
{
	handle_t m = pg_mem_create(PAGE);
	handle_t ro = pg_handle_dup(nt, R_WAIT | R_DUP); // no R_SIGNAL
	handle_t so = pg_handle_dup(nt, R_SIGNAL);        // no R_WAIT
	UCHECK(n, m > 0 && ro > 0 && so > 0);
	UCHECK_EQ(n, pg_notify_signal(nt, 0), E_INVAL);
	UCHECK_EQ(n, pg_notify_signal(nt, 1ULL << 63), E_INVAL); // would come back as a negative result
	UCHECK_EQ(n, pg_notify_signal(nt, ~0ULL), E_INVAL);
	UCHECK_EQ(n, pg_notify_signal(m, 1), E_TYPE);
	UCHECK_EQ(n, pg_notify_signal(H_SELF, 1), E_TYPE);
	UCHECK_EQ(n, pg_notify_signal(ro, 1), E_RIGHTS);
	UCHECK_EQ(n, pg_notify_signal(200, 1), E_BADH);
	UCHECK_EQ(n, pg_notify_wait(m), E_TYPE);
	UCHECK_EQ(n, pg_notify_wait(so), E_RIGHTS);
	UCHECK_EQ(n, pg_notify_wait(-1), E_BADH);
	UCHECK_EQ(n, pg_vcpu_timer(1ULL << 63), E_RANGE);
	UCHECK_EQ(n, pg_vcpu_create(H_SELF, 0x400000, 0x2000, 0, -1), E_INVAL); // upcall stack below USER_BASE
	UCHECK_EQ(n, pg_vcpu_create(H_SELF, 0x400000, STACK_VA, 0, 64), E_INVAL);
	UCHECK_EQ(n, pg_vcpu_create(m, 0x400000, STACK_VA, 0, -1), E_TYPE);
	UCHECK_EQ(n, tc_stats(H_SELF).vcpus, 1); // none was created
	pg_handle_close(m), pg_handle_close(ro), pg_handle_close(so);
}

static const struct utest_case cases[] = {
	{ "upcall_start_frame", start_frame },
	{ "upcall_preempted_resumes_and_others_run", preemption },
	{ "upcall_busy_stack_nothing_nests_timer_kept", busy_upcall_stack },
	{ "upcall_fault_pingpong", fault_pingpong },
	{ "upcall_notify_wakes_blocked_wait", notify_wakes_with_upcall },
	{ "upcall_notify_wait_in_upcall_times_out", wait_in_upcall_times_out },
	{ "upcall_bad_calls_fail", bad_calls_fail },
};

int main(uint64_t arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}
