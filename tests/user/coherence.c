// coherence.c: the key test of the shootdown protocol (SPEC §2). Workers on every
// other CPU keep reading and writing one shared page; main, on cpu0, lowers rights
// or unmaps it and, right after the call returns, writes a marker through a second
// mapping of the same memory. When the workers have since tried again (a fault, or
// two more write iterations), the markers must all be intact and no worker may have
// read the marker through the page: any write or read that lands after the call
// returned was a stale translation. Raising rights back must need no IPI and let
// every worker write again. The negative-control kernel (remote flush skipped) must
// fail this test: TCG keeps a software TLB per vCPU, so stale entries really are used.
#include "tcommon.h"

#define TARGET TEST_VA               // the page under test
#define ALIAS  (TEST_VA + 16 * PAGE) // the same memory, RW, written by main only
#define CTRL   (TEST_VA + 32 * PAGE) // control block, always mapped RW
#define MOVED  (TEST_VA + 64 * PAGE) // where a remap round moves the page to and from
#define DECOY1 (TEST_VA + 48 * PAGE) // pages a batched round lowers with the target,
#define DECOY2 (TEST_VA + (1UL << 30)) // one in another leaf table
#define MAXW   16
#define GEN_WORD MAXW                // page word main sets after an unmap returned
#define MARK   0xdeadbeefcafef00dULL

struct ctrl {
	volatile uint64_t stop, gen, exited, single;
	volatile uint64_t progress[MAXW];    // write iterations completed
	volatile uint64_t faults[MAXW];      // faults on the target page
	volatile uint64_t stale_reads[MAXW]; // reads of the current gen (must stay 0)
	volatile uint64_t odd_faults;        // faults anywhere else (must stay 0)
};
#define C ((struct ctrl *)CTRL)
#define PAGEW ((volatile uint64_t *)TARGET)
#define ALIASW ((volatile uint64_t *)ALIAS)

static void worker(uint64_t i)
{
	uint64_t seq = C->progress[i] + 1; // small numbers: never MARK, never a gen
	while (!C->stop) {
		uint64_t g = PAGEW[GEN_WORD];
		if (g != 0 && g == C->gen)
			C->stale_reads[i]++;
		PAGEW[i] = seq++;
		C->progress[i]++;
		if (C->single)
			pg_yield();
	}
	__atomic_fetch_add(&C->exited, 1, __ATOMIC_SEQ_CST);
	pg_exit(0);
}

static void on_fault(uint64_t i, uint64_t addr, uint64_t code)
{
	(void)code;
	if (addr >= TARGET && addr < TARGET + PAGE)
		C->faults[i]++;
	else
		C->odd_faults++;
	if (C->single)
		pg_yield(); // let main run: it shares the only CPU
	worker(i); // start over on the fresh stack
}

static int nworkers;
static uint64_t violations, stale_total;

static bool all_progress(const uint64_t *base, uint64_t by)
{
	for (int i = 0; i < nworkers; i++)
		if (C->progress[i] < base[i] + by)
			return false;
	return true;
}

// Every worker has tried the page again since the snapshots: a fault, or two more
// iterations (one may have been under way when the call returned).
static bool all_retried(const uint64_t *f0, const uint64_t *p0)
{
	for (int i = 0; i < nworkers; i++)
		if (C->faults[i] == f0[i] && C->progress[i] < p0[i] + 2)
			return false;
	return true;
}

static void snap(uint64_t *f0, uint64_t *p0)
{
	for (int i = 0; i < nworkers; i++)
		f0[i] = C->faults[i], p0[i] = C->progress[i];
}

// Waits for the workers to retry, then counts markers they overwrote.
static bool check_after(const char *n)
{
	uint64_t f0[MAXW], p0[MAXW];
	snap(f0, p0);
	if (!UCHECK(n, TC_WAIT(all_retried(f0, p0), 10000)))
		return false;
	for (int i = 0; i < nworkers; i++)
		if (ALIASW[i] != MARK)
			violations++;
	return true;
}

static bool wait_writing(const char *n)
{
	uint64_t p0[MAXW];
	for (int i = 0; i < nworkers; i++)
		p0[i] = C->progress[i];
	return UCHECK(n, TC_WAIT(all_progress(p0, 1), 10000));
}

static bool round_protect(const char *n)
{
	if (!wait_writing(n))
		return false;
	if (!UCHECK_EQ(n, pg_protect(H_SELF, TARGET, PAGE, PROT_READ), E_OK))
		return false;
	for (int i = 0; i < nworkers; i++)
		ALIASW[i] = MARK;
	if (!check_after(n))
		return false;
	uint64_t ipis = tc_stats(H_SELF).ipis_sent;
	if (!UCHECK_EQ(n, pg_protect(H_SELF, TARGET, PAGE, PROT_READ | PROT_WRITE), E_OK))
		return false;
	UCHECK_EQ(n, tc_stats(H_SELF).ipis_sent, ipis); // raising rights: no IPI
	return wait_writing(n);                          // and every worker writes again
}

// The same lowering as one entry of a batch with two other pages (mapv): one request
// per worker CPU for the three ranges, and the target coherent on return.
static int protect3(unsigned prot)
{
	struct pg_mapop ops[3] = {
		{ .op = MAPOP_PROTECT, .prot = prot, .va = DECOY1, .len = PAGE },
		{ .op = MAPOP_PROTECT, .prot = prot, .va = TARGET, .len = PAGE },
		{ .op = MAPOP_PROTECT, .prot = prot, .va = DECOY2, .len = PAGE },
	};
	return pg_mapv(H_SELF, ops, 3, NULL);
}

static bool round_mapv(const char *n)
{
	if (!wait_writing(n))
		return false;
	uint64_t ipis = tc_stats(H_SELF).ipis_sent;
	if (!UCHECK_EQ(n, protect3(PROT_READ), E_OK))
		return false;
	for (int i = 0; i < nworkers; i++)
		ALIASW[i] = MARK;
	if (pg_cpu_count() > 1) { // one request per worker CPU for the whole batch, not one per range
		uint64_t sent = tc_stats(H_SELF).ipis_sent - ipis;
		UCHECK(n, sent >= 1 && sent <= (uint64_t)nworkers);
	}
	if (!check_after(n))
		return false;
	ipis = tc_stats(H_SELF).ipis_sent;
	if (!UCHECK_EQ(n, protect3(PROT_READ | PROT_WRITE), E_OK))
		return false;
	UCHECK_EQ(n, tc_stats(H_SELF).ipis_sent, ipis); // raising rights: no IPI
	return wait_writing(n);
}

// An unmap of the page, or a move away (remap): either way no worker may reach it
// through the old address once the call returned.
static bool round_unmap(const char *n, handle_t mem, uint64_t gen, bool move)
{
	if (!wait_writing(n))
		return false;
	uint64_t stale0 = 0;
	for (int i = 0; i < nworkers; i++)
		stale0 += C->stale_reads[i];
	if (!UCHECK_EQ(n, move ? pg_remap(H_SELF, TARGET, PAGE, MOVED) : pg_unmap(H_SELF, TARGET, PAGE, 0), E_OK))
		return false;
	C->gen = gen;
	ALIASW[GEN_WORD] = gen;
	for (int i = 0; i < nworkers; i++)
		ALIASW[i] = MARK;
	if (!check_after(n))
		return false;
	for (int i = 0; i < nworkers; i++)
		stale_total += C->stale_reads[i];
	stale_total -= stale0;
	ALIASW[GEN_WORD] = 0; // before remapping: a read of 0 is legitimate again
	if (move)
		return UCHECK_EQ(n, pg_remap(H_SELF, MOVED, PAGE, TARGET), E_OK);
	return UCHECK_EQ(n, pg_map(H_SELF, TARGET, mem, 0, PAGE, PROT_READ | PROT_WRITE), E_OK);
}

static void stress(const char *n)
{
	int ncpu = pg_cpu_count();
	handle_t mem = tc_map_new(TARGET, 1);
	UCHECK(n, mem >= 0);
	UCHECK_EQ(n, pg_map(H_SELF, ALIAS, mem, 0, PAGE, PROT_READ | PROT_WRITE), E_OK);
	UCHECK(n, tc_map_new(CTRL, 1) >= 0);
	UCHECK(n, tc_map_new(DECOY1, 1) >= 0);
	UCHECK(n, tc_map_new(DECOY2, 1) >= 0);
	C->single = ncpu == 1;
	nworkers = ncpu == 1 ? 1 : ncpu - 1;
	if (nworkers > MAXW)
		nworkers = MAXW;
	for (int i = 0; i < nworkers; i++)
		UCHECK_EQ(n, tc_spawn(worker, (uint64_t)i, ncpu == 1 ? 0 : i + 1, on_fault), E_OK);

	// Fewer rounds where vCPUs far outnumber host cores: each IPI waits for a time slice.
	int rounds = ncpu <= 2 ? 2000 : ncpu <= 4 ? 1000 : 400, done = 0;
	for (int r = 0; r < rounds; r++, done++) {
		// Rounds 3 and 7 of 8 unmap (7 by moving the page away), 1 and 5 lower in a batch.
		uint64_t gen = 0x1000000000ULL + (uint64_t)r;
		bool ok = r % 4 == 3 ? round_unmap(n, mem, gen, r % 8 == 7) : r % 4 == 1 ? round_mapv(n) : round_protect(n);
		if (!ok)
			break;
	}
	C->stop = 1;
	UCHECK(n, TC_WAIT(C->exited == (uint64_t)nworkers, 10000));
	uint64_t faults = 0;
	for (int i = 0; i < nworkers; i++)
		faults += C->faults[i];
	pg_printf("coherence: %d workers, %d rounds, %lu faults, %lu late writes, %lu late reads\n",
		  nworkers, done, faults, violations, stale_total);
	UCHECK_EQ(n, done, rounds);
	UCHECK_EQ(n, violations, 0);
	UCHECK_EQ(n, stale_total, 0);
	UCHECK_EQ(n, C->odd_faults, 0);
	struct space_stats st = tc_stats(H_SELF);
	if (ncpu > 1) // every lowering reached the workers' CPUs, one request each
		UCHECK(n, st.ipis_sent >= (uint64_t)done / 4 * 3 * (uint64_t)nworkers);
}

static const struct utest_case cases[] = {
	{ "coherence_protect_unmap_stress", stress },
};

int main(uint64_t arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}
