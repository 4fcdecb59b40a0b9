// gcdemo.c: a garbage collector's read barrier built on coherent `protect` and fault
// upcalls (SPEC §3). The heap's pages are scattered (a hole after each, as live pages
// are in a real heap), so each cycle the collector "flips" the heap with one batch
// (mapv: a no-access protect per page, one shootdown for all), and only after that
// call returned does it turn every word into an unscanned from-space value (tag bit
// 0) through a mapping of its own. A mutator touching a page faults; the runtime's fault handler
// scans the page (tags every word) and gives it back; a background thread scans the
// rest. Mutator threads on every vcpu read words all the time and count any
// unscanned value they ever see: with a coherent protect there is none; if a CPU
// kept a stale translation across the flip, a mutator would read one.
#include <stdatomic.h>
#include "utest.h"
#include "rt.h"

#define PAGE    4096UL
#define NPAGES  64
#define WORDS   (PAGE / 8)
#define HEAP    0x0c0000000000UL  // the mutators' view (below PG_VA_BASE): page p at
                                  // HEAP + p * STRIDE, an unmapped page after each
#define STRIDE  (2 * PAGE)
#define ALIAS   0x0d0000000000UL  // the collector's own view, always RW
#define CYCLES  30

enum { FLIPPING = 3, UNSCANNED = 0, SCANNING = 1, SCANNED = 2 };

static _Atomic uint32_t state[NPAGES];
static _Atomic uint64_t unscanned_reads, reads, barrier_faults, bg_scans;
static volatile int stop;

static uint64_t *alias(int p) { return (uint64_t *)(ALIAS + (uintptr_t)p * PAGE); }
static uintptr_t heap(int p) { return HEAP + (uintptr_t)p * STRIDE; }

// Tags every word of page p as scanned (bit 0 set), through the collector's view,
// then gives the page back to the mutators.
static void scan(int p)
{
	uint64_t *w = alias(p);
	for (unsigned i = 0; i < WORDS; i++)
		w[i] |= 1;
	if (pg_protect(H_SELF, heap(p), PAGE, PROT_READ) != E_OK)
		__builtin_trap();
	atomic_store(&state[p], SCANNED);
}

// Scans p unless it is scanned or someone else is at it: true when p is scanned.
static bool try_scan(int p)
{
	uint32_t s = atomic_load(&state[p]);
	if (s == UNSCANNED && atomic_compare_exchange_strong(&state[p], &s, SCANNING)) {
		scan(p);
		return true;
	}
	return s == SCANNED;
}

// The read barrier: runs in the fault upcall of the vcpu whose thread touched the page.
// It never waits there: while the heap is flipping or another vcpu scans the page,
// the thread yields and tries again (what it waits for may be queued on this vcpu).
static int barrier(uintptr_t addr, uint64_t code)
{
	(void)code;
	if (addr < HEAP || addr >= HEAP + NPAGES * STRIDE || (addr - HEAP) % STRIDE >= PAGE)
		return RT_FAULT_UNHANDLED; // a hole is no heap page: a real fault
	barrier_faults++;
	return try_scan((int)((addr - HEAP) / STRIDE)) ? RT_FAULT_RETRY : RT_FAULT_YIELD;
}

static void mutator(void *arg)
{
	uint64_t x = (uint64_t)arg * 0x9e3779b97f4a7c15ULL + 1;
	while (!stop) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		uint64_t w = x % (NPAGES * WORDS);
		uint64_t v = *(volatile uint64_t *)(heap((int)(w / WORDS)) + (w % WORDS) * 8);
		if (!(v & 1))
			unscanned_reads++;
		reads++;
	}
}

static struct pg_mapop flip[NPAGES]; // every heap page to no access

static void collector_cycle(int c)
{
	for (int p = 0; p < NPAGES; p++)
		atomic_store(&state[p], FLIPPING);
	if (pg_mapv(H_SELF, flip, NPAGES, NULL) != E_OK) // coherent on return
		__builtin_trap();
	for (int p = 0; p < NPAGES; p++) {
		uint64_t *w = alias(p);
		for (unsigned i = 0; i < WORDS; i++)
			w[i] = ((uint64_t)c << 32 | i) << 1; // unscanned: bit 0 clear
		atomic_store(&state[p], UNSCANNED);
	}
	rt_sleep_ns(2000000); // let the mutators hit the barrier for a while
	for (int p = 0; p < NPAGES; p++)
		if (atomic_load(&state[p]) == UNSCANNED && try_scan(p))
			bg_scans++;
	// A page a fault handler is still scanning must be finished before the next
	// flip: a late scan would hand an unscanned page back to the mutators.
	for (int p = 0; p < NPAGES; p++)
		while (atomic_load(&state[p]) != SCANNED)
			rt_yield();
}

static void gc(const char *n)
{
	handle_t m = pg_mem_create(NPAGES * PAGE);
	if (!UCHECK(n, m > 0) ||
	    !UCHECK_EQ(n, pg_map(H_SELF, ALIAS, m, 0, NPAGES * PAGE, PROT_READ | PROT_WRITE), E_OK))
		return;
	for (int p = 0; p < NPAGES; p++) {
		flip[p] = (struct pg_mapop){ .op = MAPOP_PROTECT, .prot = 0, .va = heap(p), .len = PAGE };
		if (!UCHECK_EQ(n, pg_map(H_SELF, heap(p), m, (uint64_t)p * PAGE, PAGE, PROT_READ), E_OK))
			return;
		for (unsigned i = 0; i < WORDS; i++)
			alias(p)[i] = 1;
		state[p] = SCANNED;
	}
	rt_set_fault_handler(barrier);
	int nm = 2 * pg_cpu_count();
	struct rt_thread *t[128];
	for (int i = 0; i < nm; i++)
		t[i] = rt_spawn(mutator, (void *)(uint64_t)(i + 1));
	for (int c = 1; c <= CYCLES; c++)
		collector_cycle(c);
	stop = 1;
	for (int i = 0; i < nm; i++)
		rt_join(t[i]);
	pg_printf("gcdemo: %d cycles, %d mutators, %lu reads, %lu barrier faults, %lu pages scanned in the "
		  "background, %lu unscanned reads\n", CYCLES, nm, reads, barrier_faults, bg_scans, unscanned_reads);
	UCHECK_EQ(n, unscanned_reads, 0);
	UCHECK(n, reads > 0 && barrier_faults > 0);
	for (int p = 0; p < NPAGES; p++)
		pg_unmap(H_SELF, heap(p), PAGE, 0);
	pg_unmap(H_SELF, ALIAS, NPAGES * PAGE, 0);
	pg_handle_close(m);
}

static const struct utest_case cases[] = { { "gcdemo_no_unscanned_read", gc } };

static int prog(void *arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}

int main(uint64_t arg)
{
	(void)arg;
	return rt_main(pg_cpu_count(), prog, NULL);
}
