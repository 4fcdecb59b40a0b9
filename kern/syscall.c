// syscall.c: the system-call table. Each call checks its arguments and handles
// (type, then rights) before acting, and returns an E_* code that says which check
// failed; a failed call changes nothing. Calls run with interrupts on.
#include <stddef.h>
#include "kern/finject.h"
#include "kern/space.h"
#include "kern/mem.h"
#include "kern/notify.h"
#include "kern/vcpu.h"
#include "kern/sched.h"
#include "kern/console.h"
#include "kern/kheap.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include <arch/arch.h>
#include <arch/uaccess.h>
#include <arch/frame.h>

typedef int64_t (*sys_fn)(uint64_t, uint64_t, uint64_t, uint64_t, uint64_t, uint64_t);

static struct space *self(void) { return current()->space; }

// A handle argument: anything outside the table becomes -1, which the table rejects
// with E_BADH (a plain cast could wrap a huge value onto a valid index).
static int harg(uint64_t v) { return v < HTABLE_SLOTS ? (int)v : -1; }

static int get_space(uint64_t h, uint32_t need, struct space **s)
{
	return space_handle_get(self(), harg(h), OBJ_SPACE, need, (struct object **)s);
}

#define DEBUG_WRITE_MAX 1024

static int64_t sys_debug_write(uint64_t p, uint64_t len, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	if (len > DEBUG_WRITE_MAX)
		return E_INVAL;
	char buf[DEBUG_WRITE_MAX + 1];
	int err = copy_from_user(buf, p, len);
	if (err != E_OK)
		return err;
	buf[len] = 0;
	if (!finject_mute_user)
		kprintf("%s", buf);
	return E_OK;
}

static int64_t sys_vcpu_stop(uint64_t status, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	irq_disable();
	vcpu_exit((int)status);
}

static int64_t sys_vcpu_yield(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	sched_yield();
	return E_OK;
}

static int64_t sys_cpu_id(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return cpu_id();
}

static int64_t sys_cpu_count(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return ncpus_online;
}

static int64_t sys_cpu_tlb_ipis(uint64_t cpu, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	if (cpu >= MAX_CPUS || !cpus[cpu])
		return E_INVAL;
	return (int64_t)atomic_load(&cpus[cpu]->tlb_ipis);
}

static int64_t sys_clock_ns(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return (int64_t)arch_now_ns();
}

static int64_t sys_space_create(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct space *s;
	int err = space_create(&s);
	if (err != E_OK)
		return err;
	int h = space_handle_add(self(), &s->obj, OBJ_SPACE, R_ALL);
	obj_unref(&s->obj); // the handle holds it now (or, on error, nothing does)
	return h;
}

static int64_t sys_space_delete(uint64_t h, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct space *s;
	int err = get_space(h, R_DELETE, &s);
	if (err != E_OK)
		return err;
	err = space_delete(s);
	if (err == E_OK && s != self())
		space_wait_torn_down(s, self()); // synchronous: nothing of it is left on return
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_space_stats(uint64_t h, uint64_t out, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	struct space *s;
	int err = get_space(h, R_READ, &s);
	if (err != E_OK)
		return err;
	struct space_stats st;
	space_get_stats(s, &st);
	obj_unref(&s->obj);
	return copy_to_user(out, &st, sizeof st);
}

static int64_t sys_mem_create(uint64_t size, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct mem *m;
	int err = mem_create(self(), size, &m);
	if (err != E_OK)
		return err;
	int h = space_handle_add(self(), &m->obj, OBJ_MEM, R_READ | R_WRITE | R_MAP | R_DUP | R_TRANSFER);
	obj_unref(&m->obj);
	return h;
}

static int64_t sys_mem_size(uint64_t h, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct mem *m;
	int err = space_handle_get(self(), harg(h), OBJ_MEM, R_READ, (struct object **)&m);
	if (err != E_OK)
		return err;
	int64_t size = (int64_t)(m->npages * 4096);
	obj_unref(&m->obj);
	return size;
}

static int64_t sys_map(uint64_t sh, uint64_t va, uint64_t mh, uint64_t off, uint64_t len, uint64_t prot)
{
	struct space *s;
	struct mem *m;
	int err = get_space(sh, R_WRITE, &s);
	if (err != E_OK)
		return err;
	uint32_t need = R_MAP | ((prot & PROT_WRITE) ? R_WRITE : 0), rights;
	err = space_handle_get_rights(self(), harg(mh), OBJ_MEM, need, (struct object **)&m, &rights);
	if (err == E_OK) {
		// The mapping remembers what the handle allowed: protect can never go above it.
		unsigned maxprot = PROT_READ | PROT_EXEC | ((rights & R_WRITE) ? PROT_WRITE : 0);
		err = prot > PROT_ALL ? E_INVAL : space_map(s, va, m, off, len, (unsigned)prot, maxprot);
		obj_unref(&m->obj);
	}
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_unmap(uint64_t sh, uint64_t va, uint64_t len, uint64_t flags, uint64_t a4, uint64_t a5)
{
	(void)a4, (void)a5;
	struct space *s;
	int err = get_space(sh, R_WRITE, &s);
	if (err != E_OK)
		return err;
	err = flags > UNMAP_LAZY ? E_INVAL : space_unmap(s, self(), va, len, (unsigned)flags);
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_protect(uint64_t sh, uint64_t va, uint64_t len, uint64_t prot, uint64_t a4, uint64_t a5)
{
	(void)a4, (void)a5;
	struct space *s;
	int err = get_space(sh, R_WRITE, &s);
	if (err != E_OK)
		return err;
	err = prot > PROT_ALL ? E_INVAL : space_protect(s, self(), va, len, (unsigned)prot);
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_handle_dup(uint64_t h, uint64_t rights, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	if (rights > R_ALL)
		return E_INVAL;
	return space_handle_dup(self(), harg(h), (uint32_t)rights);
}

static int64_t sys_handle_close(uint64_t h, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	return space_handle_close(self(), harg(h));
}

static int64_t sys_handle_transfer(uint64_t h, uint64_t sh, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	struct space *to;
	int err = get_space(sh, R_WRITE, &to);
	if (err != E_OK)
		return err;
	err = space_handle_transfer(self(), harg(h), to);
	obj_unref(&to->obj);
	return err;
}

static int64_t sys_vcpu_create(uint64_t sh, uint64_t entry, uint64_t ustack, uint64_t arg, uint64_t cpu, uint64_t a5)
{
	(void)a5;
	struct space *s;
	int err = get_space(sh, R_EXEC, &s);
	if (err != E_OK)
		return err;
	err = vcpu_create(s, entry, ustack, arg, (int64_t)cpu < -1 || (int64_t)cpu >= MAX_CPUS ? -2 : (int)cpu);
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_vcpu_timer(uint64_t ns, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	if (ns > (1ULL << 62))
		return E_RANGE;
	vcpu_timer_set(ns);
	return E_OK;
}

static int64_t sys_notify_create(uint64_t a0, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a0, (void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct notify *n;
	int err = notify_create(&n);
	if (err != E_OK)
		return err;
	int h = space_handle_add(self(), &n->obj, OBJ_NOTIFY, R_SIGNAL | R_WAIT | R_DUP | R_TRANSFER);
	obj_unref(&n->obj);
	return h;
}

static int64_t sys_notify_signal(uint64_t h, uint64_t bits, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	struct notify *n;
	int err = space_handle_get(self(), harg(h), OBJ_NOTIFY, R_SIGNAL, (struct object **)&n);
	if (err != E_OK)
		return err;
	if (bits == 0 || (bits & ~NOTIFY_BITS))
		err = E_INVAL;
	else
		notify_signal(n, bits);
	obj_unref(&n->obj);
	return err;
}

// Returns the bits; after a blocking wait the vcpu resumes through a NOTIFY upcall.
static int64_t sys_notify_wait(uint64_t h, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a1, (void)a2, (void)a3, (void)a4, (void)a5;
	struct notify *n;
	int err = space_handle_get(self(), harg(h), OBJ_NOTIFY, R_WAIT, (struct object **)&n);
	if (err != E_OK)
		return err;
	bool blocked;
	int64_t bits = notify_wait(n, &blocked); // our reference keeps n alive meanwhile
	obj_unref(&n->obj);
	if (bits > 0 && blocked)
		current()->wake_bits = (uint64_t)bits; // delivered at the return to user mode
	else
		current()->wake_bits = 0;
	return bits;
}

static int64_t sys_set_budget(uint64_t sh, uint64_t n, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a2, (void)a3, (void)a4, (void)a5;
	struct space *s;
	int err = get_space(sh, R_BUDGET, &s);
	if (err != E_OK)
		return err;
	space_set_budget(s, n);
	obj_unref(&s->obj);
	return E_OK;
}

static const sys_fn table[SYS_COUNT] = {
	[SYS_DEBUG_WRITE] = sys_debug_write,
	[SYS_VCPU_STOP] = sys_vcpu_stop,
	[SYS_VCPU_YIELD] = sys_vcpu_yield,
	[SYS_CPU_ID] = sys_cpu_id,
	[SYS_CPU_COUNT] = sys_cpu_count,
	[SYS_CPU_TLB_IPIS] = sys_cpu_tlb_ipis,
	[SYS_CLOCK_NS] = sys_clock_ns,
	[SYS_SPACE_CREATE] = sys_space_create,
	[SYS_SPACE_DELETE] = sys_space_delete,
	[SYS_SPACE_STATS] = sys_space_stats,
	[SYS_MEM_CREATE] = sys_mem_create,
	[SYS_MEM_SIZE] = sys_mem_size,
	[SYS_MAP] = sys_map,
	[SYS_UNMAP] = sys_unmap,
	[SYS_PROTECT] = sys_protect,
	[SYS_HANDLE_DUP] = sys_handle_dup,
	[SYS_HANDLE_CLOSE] = sys_handle_close,
	[SYS_HANDLE_TRANSFER] = sys_handle_transfer,
	[SYS_VCPU_CREATE] = sys_vcpu_create,
	[SYS_VCPU_TIMER] = sys_vcpu_timer,
	[SYS_NOTIFY_CREATE] = sys_notify_create,
	[SYS_NOTIFY_SIGNAL] = sys_notify_signal,
	[SYS_NOTIFY_WAIT] = sys_notify_wait,
	[SYS_SET_BUDGET] = sys_set_budget,
};

// entry.S, interrupts off; returns with interrupts off.
void syscall_dispatch(struct trap_frame *f)
{
	irq_enable();
	uint64_t nr = f->rax;
	f->rax = (uint64_t)(nr < SYS_COUNT && table[nr] ? table[nr](f->rdi, f->rsi, f->rdx, f->r10, f->r8, f->r9)
						     : E_NOSYS);
	irq_disable();
	struct vcpu *v = current();
	if (nr == SYS_NOTIFY_WAIT && v->wake_bits) {
		vcpu_notify_return(f, v->wake_bits);
		v->wake_bits = 0;
	}
	sched_user_return(f);
}
