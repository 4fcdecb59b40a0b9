// fuzz.c: a system-call fuzzer in the spirit of syzkaller. Several vcpus of this space
// make random *sequences* of every call at once, with arguments drawn from pools of
// valid and hostile values: live, closed, wrong-type and reduced-rights handles
// (shared, so closes and deletes race with use), addresses at and across every
// boundary, lengths near 0, a page, a table and the quota, unknown flag bits, and
// random RFLAGS around the `syscall`. Each vcpu's sequence is deterministic from the
// seed printed at the start; the interleaving is not.
//
// What it checks itself: it survives (no fault reaches a worker, no call hangs) and
// every result is E_OK, a value, or a known E_* code. What the kernel side checks
// (tests/kern/test_user.c): no panic, and heap, frames and page tables back at their
// baseline once the program and every space it made are gone.
//
// arg: bits 0-31 the number of calls (0: FUZZ_DEFAULT_CALLS, a smoke run in every test
// boot; tools/runtests.py and make fuzz ask for more), bits 32-63 the seed
// (0: 1).
//
// Rules that keep the fuzzer itself alive (everything else is fair game):
// - calls on a space (any handle may be a dup of H_SELF) touch only addresses at or
//   above FZ_VA, far above the program, its stacks and its test regions, or invalid
//   ones (below USER_BASE, above USER_TOP, kernel, unaligned);
// - space_delete never gets H_SELF, and dups of H_SELF lose R_DELETE, so no handle
//   in the pool can delete this space;
// - a new vcpu always starts at stray_entry (it exits at once) with an upcall stack
//   below FZ_VA (never unmapped): in this space it leaves no fault behind; in a child
//   (nothing mapped there) it faults and is stopped, which is the child's business;
// - notify_wait is preceded by a 1 ms vcpu timer, so no wait outlives the run.
#include "tcommon.h"
#include "syscall.h"

#define FUZZ_DEFAULT_CALLS 20000
#define FZ_WORKERS_MAX     4
#define FZ_VA       0x600000000000UL  // the fuzzed window: [FZ_VA, USER_TOP)
#define FZ_STRAY_VA 0x500000000000UL  // upcall stacks of stray vcpus
#define FZ_POOL     48                // handles the workers share
#define HTABLE_LIMIT 256              // the kernel's handle-table size (kern/handle.h)
#define GIB         (1UL << 30)
#define MIB         (1UL << 20)

static volatile uint64_t stray_runs;
extern char stray_entry[];
// Counts itself and stops its vcpu with status 0, without touching its stack.
__asm__(".pushsection .text\n"
	".globl stray_entry\n.type stray_entry, @function\n"
	"stray_entry:\n\tlock incq stray_runs(%rip)\n\tmov $1, %eax\n\txor %edi, %edi\n\tsyscall\n\tud2\n"
	".popsection\n");
_Static_assert(SYS_VCPU_STOP == 1, "stray_entry calls SYS_VCPU_STOP by number");

// ---- Randomness: xorshift64*, one stream per worker ---------------------------

struct rng { uint64_t s; };
static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}
static uint64_t below(struct rng *r, uint64_t n) { return rnd(r) % n; }
static bool one_in(struct rng *r, uint64_t n) { return below(r, n) == 0; }
#define PICK(r, arr) ((arr)[below(r, sizeof(arr) / sizeof((arr)[0]))])

// ---- Shared pools --------------------------------------------------------------

static volatile handle_t pool[FZ_POOL]; // handles seen; slots overwritten at random
static volatile uint64_t calls_made, results_bad, faults_seen, workers_done;
static volatile uint64_t spaces_made, vcpus_made;
static uint64_t calls_per_worker;
static struct space_stats stats_buf;

static handle_t any_handle(struct rng *r)
{
	static const int64_t odd[] = { -1, -2, 0x7fffffff, HTABLE_LIMIT, HTABLE_LIMIT - 1, 1LL << 32,
				       (1LL << 32) | 1, INT64_MIN };
	switch (below(r, 8)) {
	case 0:
		return H_SELF;
	case 1:
		return (handle_t)PICK(r, odd);
	case 2:
		return (handle_t)below(r, HTABLE_LIMIT + 2);
	default:
		return pool[below(r, FZ_POOL)];
	}
}
// Raw register values: a handle, or garbage in the upper bits around one.
static uint64_t handle_arg(struct rng *r)
{
	uint64_t h = (uint64_t)(int64_t)any_handle(r);
	if (one_in(r, 16))
		h = (h & 0xffffffffULL) | (rnd(r) << 32);
	return h;
}
static void remember(struct rng *r, long h)
{
	if (h > 0 && h < HTABLE_LIMIT)
		pool[below(r, FZ_POOL)] = (handle_t)h;
}

// An address whose range can never touch what this program needs (see the rules).
static uint64_t addr_arg(struct rng *r)
{
	static const uint64_t bad[] = { 0, 1, USER_BASE - 1, PAGE, USER_TOP, USER_TOP - 1, USER_TOP + PAGE,
					0x800000000000UL, 0xffff800000000000UL, 0xffffffff80000000UL,
					~0UL, ~0UL - PAGE + 1, 1UL << 63 };
	switch (below(r, 6)) {
	case 0:
		return PICK(r, bad);
	case 1: // the top of the window and of user space
		return USER_TOP - PAGE * (1 + below(r, 4));
	case 2: // a 2 MiB or 1 GiB boundary in the window, or a page either side
		return FZ_VA + (below(r, 4) + 1) * (one_in(r, 2) ? 2 * MIB : GIB) + (below(r, 3) - 1) * PAGE;
	case 3: // unaligned, anywhere (refused before any effect)
		return (rnd(r) & 0x7fffffffffffUL) | (1 + below(r, PAGE - 1));
	default: // a few pages into the window
		return FZ_VA + below(r, 64) * PAGE;
	}
}
static uint64_t len_arg(struct rng *r)
{
	static const uint64_t lens[] = { 0, 1, PAGE - 1, PAGE, PAGE + 1, 2 * PAGE, 16 * PAGE, 2 * MIB,
					 2 * MIB + PAGE, GIB, 1UL << 47, ~0UL, ~0UL - PAGE + 1, 1UL << 63 };
	return one_in(r, 3) ? PICK(r, lens) : (1 + below(r, 8)) * PAGE;
}
static uint64_t rights_arg(struct rng *r)
{
	uint64_t v = one_in(r, 4) ? rnd(r) : rnd(r) & R_ALL;
	return one_in(r, 8) ? v | (1ULL << (32 + below(r, 32))) : v;
}
static uint64_t prot_arg(struct rng *r)
{
	static const uint64_t p[] = { 0, PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC, PROT_ALL, 8,
				      0xf, 1ULL << 32 | PROT_READ, ~0UL };
	return PICK(r, p);
}
static uint64_t cpu_arg(struct rng *r)
{
	static const uint64_t c[] = { (uint64_t)-1, 0, 1, 2, 3, 7, 63, 64, 65, (uint64_t)-2, 1ULL << 32, ~0UL >> 1 };
	return PICK(r, c);
}
// A user pointer for the kernel to write space_stats through.
static uint64_t out_arg(struct rng *r)
{
	static const uint64_t bad[] = { 0, USER_TOP - 8, 0xffffffff80000000UL, 0x800000000000UL, FZ_VA };
	return one_in(r, 2) ? (uint64_t)(uintptr_t)&stats_buf : PICK(r, bad);
}
static uint64_t mem_size_arg(struct rng *r)
{
	static const uint64_t s[] = { 0, 1, PAGE, 2 * PAGE, 16 * PAGE, 2 * MIB, GIB, 1UL << 40, ~0UL, PAGE + 1 };
	return one_in(r, 2) ? PICK(r, s) : (1 + below(r, 16)) * PAGE;
}

// ---- One call ------------------------------------------------------------------

// The system call with RFLAGS set to flags (IF | user bits | NT) around the
// instruction itself; RFLAGS as it was comes back before any C code runs.
static long call_with_flags(long nr, const uint64_t a[6], uint64_t flags)
{
	long ret;
	register uint64_t r10 __asm__("r10") = a[3];
	register uint64_t r8 __asm__("r8") = a[4];
	register uint64_t r9 __asm__("r9") = a[5];
	// Past the red zone first: the pushes must not overwrite what the compiler keeps there.
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\tpushfq\n\tpushq %[fl]\n\tpopfq\n\tsyscall\n\tpopfq\n\t"
			 "lea 128(%%rsp), %%rsp"
			 : "=a"(ret)
			 : "a"(nr), "D"(a[0]), "S"(a[1]), "d"(a[2]), "r"(r10), "r"(r8), "r"(r9), [fl] "r"(flags)
			 : "rcx", "r11", "memory", "cc");
	return ret;
}

static uint64_t flags_arg(struct rng *r)
{
	// CF PF AF ZF SF DF OF NT AC ID: never TF (it would single-step the worker).
	static const uint64_t bits[] = { 1u << 0, 1u << 2, 1u << 4, 1u << 6, 1u << 7, 1u << 10, 1u << 11,
					 1u << 14, 1u << 18, 1u << 21 };
	uint64_t f = (1u << 9) | 2;
	if (one_in(r, 4))
		for (int i = 0; i < 3; i++)
			f |= PICK(r, bits);
	return f;
}

// A mapv vector: entries of every kind with the arguments their own calls get, and
// now and then a stray op, pad or field an op must leave 0.
#define FZ_MAPOPS 16
static void mapops_fill(struct rng *r, struct pg_mapop *ops, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct pg_mapop *o = &ops[i];
		o->op = one_in(r, 16) ? (uint32_t)rnd(r) : 1 + (uint32_t)below(r, 3);
		o->prot = (uint32_t)prot_arg(r), o->va = addr_arg(r), o->len = len_arg(r);
		o->mem = o->op == MAPOP_MAP || one_in(r, 16) ? any_handle(r) : 0;
		o->pad = one_in(r, 32) ? (uint32_t)rnd(r) : 0;
		o->off = o->op == MAPOP_MAP && one_in(r, 4) ? len_arg(r) : 0;
		if (o->op == MAPOP_UNMAP && !one_in(r, 16))
			o->prot = 0;
	}
}

// Fills a[] for call nr. Returns false to skip the call (a rule would be broken).
static bool make_args(struct rng *r, long nr, uint64_t a[6], struct pg_mapop *ops)
{
	for (int i = 0; i < 6; i++)
		a[i] = one_in(r, 32) ? rnd(r) : 0; // stray garbage in unused registers
	switch (nr) {
	case SYS_DEBUG_WRITE: // only lengths and pointers that print nothing
		a[0] = one_in(r, 2) ? addr_arg(r) : (uint64_t)(uintptr_t)"";
		a[1] = one_in(r, 2) ? 0 : len_arg(r) | 2048;
		return true;
	case SYS_VCPU_STOP:
		return false; // the worker itself would stop: tested elsewhere
	case SYS_SPACE_DELETE:
		a[0] = handle_arg(r);
		return a[0] != H_SELF;
	case SYS_SPACE_STATS:
		a[0] = handle_arg(r), a[1] = out_arg(r);
		return true;
	case SYS_MEM_CREATE:
		a[0] = mem_size_arg(r);
		return true;
	case SYS_MEM_SIZE:
	case SYS_HANDLE_CLOSE:
		a[0] = handle_arg(r);
		return true;
	case SYS_MAP:
		a[0] = handle_arg(r), a[1] = addr_arg(r), a[2] = handle_arg(r);
		a[3] = one_in(r, 4) ? len_arg(r) : 0, a[4] = len_arg(r), a[5] = prot_arg(r);
		return true;
	case SYS_UNMAP:
		a[0] = handle_arg(r), a[1] = addr_arg(r), a[2] = len_arg(r);
		a[3] = one_in(r, 8) ? rnd(r) : below(r, 2);
		return true;
	case SYS_PROTECT:
		a[0] = handle_arg(r), a[1] = addr_arg(r), a[2] = len_arg(r), a[3] = prot_arg(r);
		return true;
	case SYS_HANDLE_DUP:
		a[0] = handle_arg(r), a[1] = rights_arg(r);
		if (a[0] == H_SELF)
			a[1] &= ~(uint64_t)R_DELETE; // no handle in the pool may delete this space
		return true;
	case SYS_HANDLE_TRANSFER:
		a[0] = handle_arg(r), a[1] = handle_arg(r);
		return true;
	case SYS_VCPU_CREATE:
		a[0] = handle_arg(r), a[1] = (uint64_t)(uintptr_t)stray_entry;
		a[2] = FZ_STRAY_VA + PAGE * (1 + below(r, 4)) * 4, a[3] = rnd(r), a[4] = cpu_arg(r);
		return true;
	case SYS_SET_BUDGET:
		a[0] = handle_arg(r), a[1] = one_in(r, 2) ? below(r, 4) : rnd(r);
		return true;
	case SYS_CPU_TLB_IPIS:
		a[0] = cpu_arg(r);
		return true;
	case SYS_VCPU_TIMER:
		a[0] = one_in(r, 2) ? below(r, 2000000) : rnd(r);
		return true;
	case SYS_NOTIFY_SIGNAL:
		a[0] = handle_arg(r), a[1] = one_in(r, 8) ? 0 : rnd(r);
		return true;
	case SYS_NOTIFY_WAIT:
		a[0] = handle_arg(r);
		return true;
	case SYS_SPACE_CREATE: // quotas near a space's cost, budgets near 0 and huge
		a[0] = one_in(r, 8) ? rnd(r) : below(r, 1 << 20), a[1] = one_in(r, 4) ? rnd(r) : below(r, 4);
		return true;
	case SYS_SPACE_CHILD:
		a[0] = handle_arg(r), a[1] = one_in(r, 8) ? rnd(r) : below(r, 4);
		return true;
	case SYS_MAPV: {
		unsigned n = 1 + (unsigned)below(r, FZ_MAPOPS);
		mapops_fill(r, ops, n);
		a[0] = handle_arg(r), a[1] = one_in(r, 16) ? addr_arg(r) : (uint64_t)(uintptr_t)ops;
		a[2] = one_in(r, 16) ? PICK(r, ((const uint64_t[]){ 0, MAPV_MAX, MAPV_MAX + 1, ~0UL })) : n;
		a[3] = one_in(r, 2) ? 0 : out_arg(r);
		return a[2] <= n || a[1] != (uint64_t)(uintptr_t)ops; // never past the vector into the stack
	}
	case SYS_REMAP:
		a[0] = handle_arg(r), a[1] = addr_arg(r), a[2] = len_arg(r), a[3] = addr_arg(r);
		return true;
	case SYS_LEND:
		a[0] = handle_arg(r), a[1] = addr_arg(r), a[2] = len_arg(r), a[3] = addr_arg(r);
		a[4] = one_in(r, 8) ? rnd(r) : below(r, 2);
		return true;
	case SYS_LEASE_RETURN:
	case SYS_IRQ_BIND:
	case SYS_DMA_ADDR:
		a[0] = handle_arg(r), a[1] = handle_arg(r), a[2] = one_in(r, 4) ? rnd(r) : below(r, 8);
		return true;
	// The device calls: this space holds no device object (only init can make them),
	// so every one must fail cleanly whatever the handle and arguments.
	case SYS_DEV_CREATE:
	case SYS_PORT_IN:
	case SYS_PORT_OUT:
	case SYS_PCI_READ:
	case SYS_PCI_WRITE:
	case SYS_IRQ_ACK:
		a[0] = handle_arg(r), a[1] = below(r, 8), a[2] = one_in(r, 2) ? rnd(r) : below(r, 0x10000);
		a[3] = below(r, 8), a[4] = rnd(r);
		return true;
	default: // the calls without arguments, and numbers that are no call
		return true;
	}
}

static bool result_ok(long nr, long ret)
{
	if (ret < 0) // E_NOVA is libpagoda's (pg_va_alloc): the kernel never returns it
		return ret >= E_LAST && ret != E_NOVA;
	if (nr >= SYS_COUNT || nr < 0)
		return false; // no such call cannot succeed
	// Without a device object (or the resource handle) no device call can succeed.
	return nr < SYS_DEV_CREATE || nr > SYS_DMA_ADDR;
}

// Makes one random call; false if the draw was one the rules skip.
static bool one_call(struct rng *r)
{
	long nr = one_in(r, 64) ? (long)(rnd(r) % 4096) - 8 : (long)below(r, SYS_COUNT);
	uint64_t a[6];
	struct pg_mapop ops[FZ_MAPOPS];
	if (!make_args(r, nr, a, ops))
		return false;
	if (nr == SYS_NOTIFY_WAIT)
		pg_vcpu_timer(1000000); // bounded: the timer ends the wait with E_TIMEOUT
	long ret = call_with_flags(nr, a, flags_arg(r));
	__atomic_fetch_add(&calls_made, 1, __ATOMIC_RELAXED);
	if (!result_ok(nr, ret) && __atomic_fetch_add(&results_bad, 1, __ATOMIC_RELAXED) < 5)
		utest_fail("fuzz_calls", "call %ld (%#lx, %#lx, %#lx, ...) returned %ld", nr, a[0], a[1], a[2], ret);
	if (ret > 0 && (nr == SYS_SPACE_CREATE || nr == SYS_MEM_CREATE || nr == SYS_NOTIFY_CREATE ||
			nr == SYS_HANDLE_DUP || nr == SYS_SPACE_CHILD))
		remember(r, ret);
	if (ret > 0 && nr == SYS_SPACE_CREATE)
		__atomic_fetch_add(&spaces_made, 1, __ATOMIC_RELAXED);
	if (ret == E_OK && nr == SYS_VCPU_CREATE)
		__atomic_fetch_add(&vcpus_made, 1, __ATOMIC_RELAXED);
	return true;
}

// ---- Workers -------------------------------------------------------------------

static uint64_t seed;

static void worker(uint64_t id)
{
	struct rng r = { seed ^ (0x9E3779B97F4A7C15ULL * (id + 1)) };
	for (uint64_t made = 0; made < calls_per_worker;)
		made += one_call(&r);
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
	pg_exit(0);
}

static void worker_fault(uint64_t id, uint64_t addr, uint64_t code)
{
	__atomic_fetch_add(&faults_seen, 1, __ATOMIC_RELAXED);
	utest_fail("fuzz_calls", "worker %lu faulted: vector %lu at %#lx", id, code >> 32, addr);
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
	pg_exit(0);
}

// Deletes every space and closes every handle this program holds (whatever the
// fuzzing left), so the kernel side can check that nothing leaked.
static void clean_up(void)
{
	for (handle_t h = 1; h < HTABLE_LIMIT; h++)
		pg_space_delete(h);
	for (handle_t h = 1; h < HTABLE_LIMIT; h++)
		pg_handle_close(h);
	pg_vcpu_timer(0);
}

static void fuzz_calls(const char *n, uint64_t calls)
{
	handle_t stray = tc_map_new(FZ_STRAY_VA, 16);
	if (!UCHECK(n, stray >= 0))
		return;
	pg_handle_close(stray); // the mapping keeps it
	int ncpu = pg_cpu_count();
	int workers = ncpu < FZ_WORKERS_MAX ? ncpu : FZ_WORKERS_MAX;
	calls_per_worker = (calls + (uint64_t)workers - 1) / (uint64_t)workers; // at least calls in all
	uint64_t t0 = pg_clock_ns();
	for (int i = 0; i < workers; i++)
		if (!UCHECK_EQ(n, tc_spawn(worker, (uint64_t)i, i % ncpu, worker_fault), E_OK))
			return;
	bool done = TC_WAIT(__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) == (uint64_t)workers, 240000);
	UCHECK(n, done);
	UCHECK_EQ(n, faults_seen, 0);
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 10000)); // strays and workers gone
	clean_up();
	pg_printf("fuzz: calls=%lu spaces=%lu vcpus=%lu seed=%lu workers=%d bad_results=%lu, %lu ms\n",
	       calls_made, spaces_made, vcpus_made + (uint64_t)workers, seed, workers, results_bad,
	       (pg_clock_ns() - t0) / 1000000);
}

static uint64_t calls_arg;
static void fuzz_case(const char *n) { fuzz_calls(n, calls_arg); }

static const struct utest_case cases[] = {
	{ "fuzz_calls", fuzz_case },
};

int main(uint64_t arg)
{
	calls_arg = (uint32_t)arg ? (uint32_t)arg : FUZZ_DEFAULT_CALLS;
	seed = arg >> 32 ? arg >> 32 : 1;
	pg_printf("fuzz: seed=%lu calls=%lu\n", seed, calls_arg);
	return UTEST_RUN(cases);
}
