// syscall.c: the system-call handlers and the table, both made to the list in
// include/pagoda/syscalls.def: each handler takes its parameters typed, already
// narrowed by kern/sysarg.h, checks them and its handles (type, then rights) before
// acting, and returns an E_* code that says which check failed; a failed call changes
// nothing. Calls run with interrupts on.
#include <stddef.h>
#include "kern/finject.h"
#include "kern/space.h"
#include "kern/resource.h"
#include "kern/mem.h"
#include "kern/lease.h"
#include "kern/device.h"
#include "kern/notify.h"
#include "kern/vcpu.h"
#include "kern/sched.h"
#include "kern/console.h"
#include "kern/kheap.h"
#include "include/pagoda/abi.h"
#include "include/pagoda/errors.h"
#include "kern/sysarg.h"
#include "kern/phase.h"
#include <arch/arch.h>
#include <arch/uaccess.h>
#include <arch/syscall.h>

// The handlers, as syscalls.def types them: a definition below that disagrees with
// its line there does not compile.
#define SYSARG_PARAM(i, p) SYSARG_PARAM_ p
#define SYSARG_PARAM_(t, n) SYSARG_T_##t n
#define SYSCALL(nr, NAME, name, ret, what, ...) \
	static int64_t sys_##name(PG_LIST(SYSARG_PARAM, void, __VA_ARGS__));
#include "include/pagoda/syscalls.def"
#undef SYSCALL

// Every flag set leaves bit 31 free, so a sanitised wide value stays out of range.
_Static_assert(PROT_ALL < SYSARG_FLAGS_BAD && R_ALL < SYSARG_FLAGS_BAD && UNMAP_LAZY < SYSARG_FLAGS_BAD,
	       "flags must stay below bit 31 (kern/sysarg.h)");

static struct space *self(void) { return current()->space; }

// H_SELF needs no table lookup (and no lock): it is the caller's space, with
// SPACE_SELF_RIGHTS (space.h). A right it lacks goes to the table, which refuses it.
static int get_space(handle_t h, uint32_t need, struct space **s)
{
	if (h == H_SELF && !(need & ~SPACE_SELF_RIGHTS)) {
		*s = self();
		obj_ref(&(*s)->obj);
		return E_OK;
	}
	return space_handle_get(self(), h, OBJ_SPACE, need, (struct object **)s);
}

#define DEBUG_WRITE_MAX 1024

static int64_t sys_debug_write(uptr_t s, size_t len)
{
	if (len > DEBUG_WRITE_MAX)
		return E_INVAL;
	char buf[DEBUG_WRITE_MAX + 1];
	int err = copy_from_user(buf, s, len);
	if (err != E_OK)
		return err;
	buf[len] = 0;
	if (!finject_mute_user)
		kprintf("%s", buf);
	return E_OK;
}

static int64_t sys_vcpu_stop(int status)
{
	irq_disable();
	vcpu_exit(status);
}

static int64_t sys_vcpu_yield(void)
{
	sched_yield();
	return E_OK;
}

static int64_t sys_cpu_id(void)
{
	return cpu_id();
}

static int64_t sys_cpu_count(void)
{
	return ncpus_online;
}

// cpu is -1 .. MAX_CPUS-1 or CPU_INVALID (sysarg.h): only 0 and up name a CPU.
static int64_t sys_cpu_tlb_ipis(int cpu)
{
	if (cpu < 0 || !cpus[cpu])
		return E_INVAL;
	return (int64_t)atomic_load(&cpus[cpu]->tlb_ipis);
}

static int64_t sys_clock_ns(void)
{
	return (int64_t)arch_now_ns();
}

static int64_t sys_space_create(size_t quota, uint64_t ipis_per_tick)
{
	struct space *s;
	int err = space_create(&s, self(), quota, ipis_per_tick);
	if (err != E_OK)
		return err;
	int h = space_handle_add(self(), &s->obj, OBJ_SPACE, R_ALL);
	obj_unref(&s->obj); // the handle holds it now (or, on error, nothing does)
	return h;
}

static int64_t sys_space_delete(handle_t space)
{
	struct space *s;
	int err = get_space(space, R_DELETE, &s);
	if (err != E_OK)
		return err;
	err = space_delete(s, self());
	if (err == E_OK && s != self())
		space_wait_torn_down(s, self()); // synchronous: nothing of it is left on return
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_space_stats(handle_t space, uptr_t out)
{
	struct space *s;
	int err = get_space(space, R_READ, &s);
	if (err != E_OK)
		return err;
	struct space_stats st;
	space_get_stats(s, &st);
	obj_unref(&s->obj);
	return copy_to_user(out, &st, sizeof st);
}

static int64_t sys_mem_create(size_t size)
{
	struct mem *m;
	int err = mem_create(self(), size, &m);
	if (err != E_OK)
		return err;
	int h = space_handle_add(self(), &m->obj, OBJ_MEM, R_READ | R_WRITE | R_MAP | R_DUP | R_TRANSFER);
	obj_unref(&m->obj);
	return h;
}

static int64_t sys_mem_size(handle_t mem)
{
	struct mem *m;
	int err = space_handle_get(self(), mem, OBJ_MEM, R_READ, (struct object **)&m);
	if (err != E_OK)
		return err;
	int64_t size = (int64_t)(m->npages * 4096);
	obj_unref(&m->obj);
	return size;
}

// The mem a map (or a mapv entry) names, with a reference, and the most the mapping
// may ever allow: it remembers what the handle allowed, so protect never goes above.
static int mem_for_map(handle_t mem, unsigned prot, struct mem **m, unsigned *maxprot)
{
	uint32_t need = R_MAP | ((prot & PROT_WRITE) ? R_WRITE : 0), rights;
	int err = space_handle_get_rights(self(), mem, OBJ_MEM, need, (struct object **)m, &rights);
	if (err == E_OK)
		*maxprot = PROT_READ | PROT_EXEC | ((rights & R_WRITE) ? PROT_WRITE : 0);
	return err;
}

static int64_t sys_map(handle_t space, uptr_t va, handle_t mem, size_t off, size_t len, unsigned prot)
{
	struct space *s;
	struct mem *m;
	int err = get_space(space, R_WRITE, &s);
	if (err != E_OK)
		return err;
	unsigned maxprot;
	err = mem_for_map(mem, prot, &m, &maxprot);
	if (err == E_OK) {
		err = prot > PROT_ALL ? E_INVAL : space_map(s, va, m, off, len, (unsigned)prot, maxprot);
		obj_unref(&m->obj);
	}
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_unmap(handle_t space, uptr_t va, size_t len, unsigned flags)
{
	struct space *s;
	int err = get_space(space, R_WRITE, &s);
	if (err != E_OK)
		return err;
	err = flags > UNMAP_LAZY ? E_INVAL : space_unmap(s, self(), va, len, flags);
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_protect(handle_t space, uptr_t va, size_t len, unsigned prot)
{
	struct space *s;
	int err = get_space(space, R_WRITE, &s);
	if (err != E_OK)
		return err;
	err = prot > PROT_ALL ? E_INVAL : space_protect(s, self(), va, len, prot);
	obj_unref(&s->obj);
	return err;
}

// ---- mapv: the user's vector, checked field by field, becomes space_ops ------------

// Fields an op does not use must be 0; a MAP entry's handle is resolved (a reference
// the caller drops). Errors in the order space_mapv documents: per entry, in order.
static int mapop_in(const struct pg_mapop *u, struct space_op *o)
{
	*o = (struct space_op){ u->op, u->prot, u->va, u->len, NULL, u->off, 0, 0 };
	bool map = u->op == MAPOP_MAP;
	if (u->pad || (!map && (u->mem || u->off)) || (u->op == MAPOP_UNMAP && u->prot))
		return E_INVAL;
	unsigned maxprot;
	if (map) {
		int err = mem_for_map(u->mem, u->prot, &o->m, &maxprot);
		if (err != E_OK)
			return err;
		o->maxprot = maxprot;
	}
	return space_op_check(o);
}

#define MAPOP_CHUNK 16 // entries copied in at a time

// Copies entries [i, i + k) into u: how many of them could be read (all, or up to the
// first that cannot, found entry by entry when the chunk cannot be read whole).
static uint32_t mapops_copy(struct pg_mapop *u, uptr_t uops, uint32_t i, uint32_t k)
{
	if (copy_from_user(u, uops + (uptr_t)i * sizeof *u, k * sizeof *u) == E_OK)
		return k;
	uint32_t j = 0;
	while (j < k && copy_from_user(&u[j], uops + (uptr_t)(i + j) * sizeof *u, sizeof *u) == E_OK)
		j++;
	return j;
}

// Reads and checks the entries into ops, in order: E_OK with *held = n, or the error
// of entry *held (which holds nothing; the ones before it hold their references).
static int mapops_in(uptr_t uops, uint32_t n, struct space_op *ops, uint32_t *held)
{
	struct pg_mapop u[MAPOP_CHUNK];
	uint32_t base = 0, ready = 0; // u[] holds entries [base, base + ready)
	for (*held = 0; *held < n; ++*held) {
		uint32_t i = *held;
		if (i == base + ready) {
			base = i;
			ready = mapops_copy(u, uops, i, n - i < MAPOP_CHUNK ? n - i : MAPOP_CHUNK);
			if (ready == 0)
				return E_FAULT;
		}
		int err = mapop_in(&u[i - base], &ops[i]);
		if (err != E_OK) {
			if (ops[i].m)
				obj_unref(&ops[i].m->obj);
			return err;
		}
	}
	return E_OK;
}

// The kernel's copy of the vector (the ops, then space_mapv's sort keys), charged to
// the caller while the call lasts.
static int mapv_run(struct space *s, uptr_t uops, uint32_t n, uint64_t *bad)
{
	size_t bytes = (size_t)n * (sizeof(struct space_op) + sizeof(uint64_t));
	uint64_t cost = kheap_cost(bytes);
	if (space_charge(self(), CHARGE_KERNEL, cost) != E_OK)
		return E_NOMEM;
	struct space_op *ops = kmalloc(bytes);
	uint32_t held = 0, at = n;
	int err = ops ? mapops_in(uops, n, ops, &held) : E_NOMEM;
	if (err == E_OK)
		err = space_mapv(s, self(), ops, n, (uint64_t *)(ops + n), &at);
	else if (ops)
		at = held; // the entry mapops_in stopped at
	*bad = at;
	for (uint32_t i = 0; i < held; i++)
		if (ops[i].m)
			obj_unref(&ops[i].m->obj);
	if (ops)
		kfree(ops);
	space_uncharge(self(), CHARGE_KERNEL, cost);
	return err;
}

static int64_t sys_mapv(handle_t space, uptr_t uops, size_t n, uptr_t ubad)
{
	uint64_t bad = n; // no entry at fault
	struct space *s;
	int err = n == 0 || n > MAPV_MAX ? E_INVAL : get_space(space, R_WRITE, &s);
	if (err == E_OK) {
		err = mapv_run(s, uops, (uint32_t)n, &bad);
		obj_unref(&s->obj);
	}
	if (err != E_OK && ubad)
		copy_to_user(ubad, &bad, sizeof bad); // the error stands whether or not this lands
	return err;
}

static int64_t sys_remap(handle_t space, uptr_t va, size_t len, uptr_t to)
{
	struct space *s;
	int err = get_space(space, R_WRITE, &s);
	if (err != E_OK)
		return err;
	err = space_remap(s, self(), va, len, to);
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_handle_dup(handle_t h, unsigned rights)
{
	if (rights > R_ALL)
		return E_INVAL;
	return space_handle_dup(self(), h, rights);
}

static int64_t sys_handle_close(handle_t h)
{
	return space_handle_close(self(), h);
}

static int64_t sys_handle_transfer(handle_t h, handle_t space)
{
	struct space *to;
	int err = get_space(space, R_WRITE, &to);
	if (err != E_OK)
		return err;
	err = space_handle_transfer(self(), h, to);
	obj_unref(&to->obj);
	return err;
}

// vcpu_create refuses a cpu that is not -1 or online, CPU_INVALID included (E_INVAL).
static int64_t sys_vcpu_create(handle_t space, uptr_t entry, uptr_t upcall_stack, uint64_t arg, int cpu)
{
	struct space *s;
	int err = get_space(space, R_EXEC, &s);
	if (err != E_OK)
		return err;
	err = vcpu_create(s, entry, upcall_stack, arg, cpu, self());
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_vcpu_timer(uint64_t ns)
{
	if (ns > (1ULL << 62))
		return E_RANGE;
	vcpu_timer_set(ns);
	return E_OK;
}

static int64_t sys_notify_create(void)
{
	struct notify *n;
	int err = notify_create(self(), &n);
	if (err != E_OK)
		return err;
	int h = space_handle_add(self(), &n->obj, OBJ_NOTIFY, R_SIGNAL | R_WAIT | R_DUP | R_TRANSFER);
	obj_unref(&n->obj);
	return h;
}

static int64_t sys_notify_signal(handle_t notify, uint64_t bits)
{
	struct notify *n;
	int err = space_handle_get(self(), notify, OBJ_NOTIFY, R_SIGNAL, (struct object **)&n);
	if (err != E_OK)
		return err;
	if (bits == 0 || (bits & ~NOTIFY_BITS))
		err = E_INVAL;
	else
		notify_signal(n, bits, self());
	obj_unref(&n->obj);
	return err;
}

// Returns the bits; after a blocking wait the return becomes a NOTIFY upcall, which
// the common return path below delivers (the vcpu records it).
static int64_t sys_notify_wait(handle_t notify)
{
	struct notify *n;
	int err = space_handle_get(self(), notify, OBJ_NOTIFY, R_WAIT, (struct object **)&n);
	if (err != E_OK)
		return err;
	bool blocked;
	int64_t bits = notify_wait(n, &blocked); // our reference keeps n alive meanwhile
	obj_unref(&n->obj);
	if (bits > 0 && blocked)
		vcpu_return_notify((uint64_t)bits);
	return bits;
}

static int64_t sys_set_budget(handle_t space, uint64_t ipis_per_tick)
{
	struct space *s;
	int err = get_space(space, R_BUDGET, &s);
	if (err != E_OK)
		return err;
	err = space_set_budget(s, ipis_per_tick);
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_space_child(handle_t space, size_t index)
{
	struct space *s, *c;
	uint32_t rights;
	int err = space_handle_get_rights(self(), space, OBJ_SPACE, R_READ, (struct object **)&s, &rights);
	if (err != E_OK)
		return err;
	// A space made its children with R_ALL; through another's handle, no more than it.
	if (s == self())
		rights = R_ALL;
	err = space_child(s, index, &c);
	obj_unref(&s->obj);
	if (err != E_OK)
		return err;
	int h = space_handle_add(self(), &c->obj, OBJ_SPACE, rights);
	obj_unref(&c->obj);
	return h;
}

// Handles are checked first, then the bits, as notify_signal does.
static int64_t sys_space_watch(handle_t space, handle_t notify, uint64_t bits)
{
	struct space *s;
	struct notify *n;
	int err = get_space(space, R_READ, &s);
	if (err != E_OK)
		return err;
	err = space_handle_get(self(), notify, OBJ_NOTIFY, R_SIGNAL, (struct object **)&n);
	if (err == E_OK) {
		err = bits == 0 || (bits & ~NOTIFY_BITS) ? E_INVAL : space_watch(s, n, bits);
		obj_unref(&n->obj);
	}
	obj_unref(&s->obj);
	return err;
}

static int64_t sys_kernel_stat(handle_t resource, int which)
{
	struct object *o;
	int err = space_handle_get(self(), resource, OBJ_RESOURCE, R_READ, &o);
	if (err != E_OK)
		return err;
	obj_unref(o); // static: the kernel's reference keeps it
	return resource_stat(which);
}

// ---- Leases (kern/lease.c) ----------------------------------------------------------

// An optional signal a call makes (bits 0: none, notify ignored): E_INVAL for bits
// outside NOTIFY_BITS, else *n the notify (R_SIGNAL, a reference) or NULL for none.
static int signal_target(handle_t notify, uint64_t bits, struct notify **n)
{
	*n = NULL;
	if (bits & ~NOTIFY_BITS)
		return E_INVAL;
	return bits ? space_handle_get(self(), notify, OBJ_NOTIFY, R_SIGNAL, (struct object **)n) : E_OK;
}

static int64_t sys_lend(handle_t space, uptr_t va, size_t len, uptr_t to_va, unsigned flags)
{
	struct space *s;
	int err = get_space(space, R_LEND, &s);
	if (err != E_OK)
		return err;
	int h = lease_lend(self(), s, va, len, to_va, flags);
	obj_unref(&s->obj);
	return h;
}

// The notify first (a wrong one changes nothing), then the lease's end, then the signal.
static int64_t sys_lease_return(handle_t lease, handle_t notify, uint64_t bits)
{
	struct lease *l;
	struct notify *n = NULL;
	int err = space_handle_get(self(), lease, OBJ_LEASE, R_READ, (struct object **)&l);
	if (err != E_OK)
		return err;
	err = signal_target(notify, bits, &n);
	if (err == E_OK && (err = lease_end(self(), l, lease)) == E_OK && n)
		notify_signal(n, bits, self());
	if (n)
		obj_unref(&n->obj);
	obj_unref(&l->obj); // the last reference: the lease is gone on return
	return err;
}

// ---- Devices (kern/device.c, docs/devices.md) -------------------------------------------

#define DEV_RIGHTS (R_READ | R_WRITE | R_DUP | R_TRANSFER)

static int64_t sys_dev_create(handle_t resource, int kind, uint64_t a, uint64_t b)
{
	struct object *o;
	int err = space_handle_get(self(), resource, OBJ_RESOURCE, R_WRITE, &o);
	if (err != E_OK)
		return err;
	obj_unref(o); // static: the kernel's reference keeps it
	if (kind == DEV_MMIO) {
		struct mem *m;
		if ((err = mem_create_device(self(), a, b, &m)) != E_OK)
			return err;
		int h = space_handle_add(self(), &m->obj, OBJ_MEM, DEV_RIGHTS | R_MAP);
		obj_unref(&m->obj);
		return h;
	}
	struct device *d;
	if ((err = device_create(self(), kind, a, b, &d)) != E_OK)
		return err;
	int h = space_handle_add(self(), &d->obj, OBJ_DEVICE, DEV_RIGHTS | (kind == DEV_DMA ? R_DMA : 0));
	obj_unref(&d->obj);
	return h;
}

static int get_device(handle_t h, uint32_t rights, struct device **d)
{
	return space_handle_get(self(), h, OBJ_DEVICE, rights, (struct object **)d);
}

// The value of expr, evaluated with d the device handle h names (it needs rights),
// or the handle's error; d's reference is dropped after.
#define DEVICE_CALL(h, rights, expr)                                   \
	__extension__({                                                \
		struct device *d;                                      \
		int64_t r_ = get_device(h, rights, &d);                \
		if (r_ == E_OK) {                                      \
			r_ = (expr);                                   \
			obj_unref(&d->obj);                            \
		}                                                      \
		r_;                                                    \
	})

static int64_t sys_port_in(handle_t ports, uint64_t port, int width)
{
	return DEVICE_CALL(ports, R_READ, device_port_in(d, port, width));
}

static int64_t sys_port_out(handle_t ports, uint64_t port, int width, uint64_t value)
{
	return DEVICE_CALL(ports, R_WRITE, device_port_out(d, port, width, value));
}

static int64_t sys_pci_read(handle_t pci, uint64_t bdf, uint64_t off, int width)
{
	return DEVICE_CALL(pci, R_READ, device_pci_read(d, bdf, off, width));
}

static int64_t sys_pci_write(handle_t pci, uint64_t bdf, uint64_t off, int width, uint64_t value)
{
	return DEVICE_CALL(pci, R_WRITE, device_pci_write(d, bdf, off, width, value));
}

static int64_t sys_irq_ack(handle_t irq) { return DEVICE_CALL(irq, R_WRITE, device_irq_ack(d)); }

// Both handles first: a wrong one changes nothing.
static int64_t sys_irq_bind(handle_t irq, handle_t notify, uint64_t bits)
{
	struct device *d;
	struct notify *n = NULL;
	int err = get_device(irq, R_WRITE, &d);
	if (err != E_OK)
		return err;
	err = signal_target(notify, bits, &n);
	if (err == E_OK)
		err = device_irq_bind(d, n, bits);
	if (n)
		obj_unref(&n->obj);
	obj_unref(&d->obj);
	return err;
}

// The bus address of byte off of a mem or a lease's range. Without an IOMMU it is the
// physical address; the holder's reference on obj is what keeps the frame.
static int64_t sys_dma_addr(handle_t dma, handle_t obj, uint64_t off)
{
	struct device *d;
	struct object *o;
	int err = get_device(dma, R_DMA, &d);
	if (err != E_OK)
		return err;
	if (d->kind != DEV_DMA)
		err = E_TYPE;
	else
		err = space_handle_get(self(), obj, OBJ_ANY, R_READ, &o);
	obj_unref(&d->obj);
	if (err != E_OK)
		return err;
	int64_t pa = E_TYPE;
	if (o->type == OBJ_LEASE) {
		pa = lease_frame((struct lease *)o, off);
	} else if (o->type == OBJ_MEM && !((struct mem *)o)->device) {
		struct mem *m = (struct mem *)o;
		pa = off / PAGE_SIZE < m->npages ? (int64_t)m->frames[off / PAGE_SIZE] : E_RANGE;
	}
	if (pa >= 0)
		pa += (int64_t)(off % PAGE_SIZE);
	obj_unref(o);
	return pa;
}

// ---- The table: one entry per syscalls.def line ---------------------------------------

// sysent_NAME: reads the call's arguments from the frame, narrows each to its type
// (sysarg.h) and runs the handler, which the compiler inlines here.
#define SYSARG_ARG(i, p) SYSARG_SAN(PG_PTYPE p, arch_syscall_arg(f, i))
#define SYSARG_SAN(t, v) SYSARG_SAN_(t, v)
#define SYSARG_SAN_(t, v) SYSARG_##t(v)
#define SYSCALL(nr, NAME, name, ret, what, ...)                                         \
	_Static_assert(nr < SYS_COUNT, "syscalls.def: numbers are 0 .. SYS_COUNT - 1"); \
	static int64_t sysent_##name(const struct trap_frame *f)                        \
	{                                                                               \
		(void)f;                                                                \
		return sys_##name(PG_LIST(SYSARG_ARG, , __VA_ARGS__));                  \
	}
#include "include/pagoda/syscalls.def"
#undef SYSCALL

// SYS_COUNT entries, each number below SYS_COUNT, none twice (-Woverride-init): every
// slot is filled.
static int64_t (*const table[SYS_COUNT])(const struct trap_frame *f) = {
#define SYSCALL(nr, NAME, name, ...) [SYS_##NAME] = sysent_##name,
#include "include/pagoda/syscalls.def"
#undef SYSCALL
};

// entry.S, interrupts off; returns with interrupts off. A handler that wants its
// return to be an upcall records that on the vcpu (vcpu_return_notify) and it is
// delivered here, whatever the call.
void syscall_dispatch(struct trap_frame *f)
{
	irq_enable();
	uint64_t nr = arch_syscall_nr(f);
#ifdef IRQOFF_STATS
	this_cpu()->cur_sys = (int64_t)nr;
#endif
	PHASE_MARK(PH_ENTRY);
	arch_syscall_set_ret(f, nr < SYS_COUNT ? table[nr](f) : E_NOSYS);
#ifdef IRQOFF_STATS
	this_cpu()->cur_sys = -1;
#endif
	irq_disable();
	if (current()->return_notify)
		vcpu_deliver_return_notify(f);
	sched_user_return(f);
}
