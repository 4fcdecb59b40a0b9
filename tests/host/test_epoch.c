// test_epoch.c: host unit tests for kern/epoch.c, built against libc with Criterion.
// Besides the contracts, a random interleaving of CPUs that switch spaces, take ticks
// and cache translations checks the property lazy unmap relies on: once a snapshot
// has passed, no CPU can still hold a translation of the range it covers.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kern/epoch.h"

static void check_invariants(const struct epoch_snap *s)
{
	for (unsigned c = 0; c < EPOCH_MAX_CPUS; c++)
		if (!((s->cpus >> c) & 1))
			cr_assert_eq(s->seen[c], 0, "seen[%u] set for a CPU outside the set", c);
}

Test(epoch, empty_set_has_passed_at_once)
{
	uint64_t ctr[EPOCH_MAX_CPUS] = { 0 };
	struct epoch_snap s;
	memset(&s, 0xa5, sizeof s);
	epoch_snapshot(&s, 0, ctr);
	check_invariants(&s);
	cr_assert(epoch_passed(&s, ctr));
	cr_assert_eq(epoch_pending(&s, ctr), 0);
}

Test(epoch, one_cpu_passes_after_its_next_quiescent_point)
{
	uint64_t ctr[EPOCH_MAX_CPUS] = { 0 };
	ctr[3] = 41;
	struct epoch_snap s;
	epoch_snapshot(&s, 1ull << 3, ctr);
	cr_assert_eq(s.seen[3], 41);
	cr_assert(!epoch_passed(&s, ctr));
	cr_assert_eq(epoch_pending(&s, ctr), 1ull << 3);
	ctr[2] = 1000;  // other CPUs do not count
	ctr[4] = 1000;
	cr_assert(!epoch_passed(&s, ctr));
	ctr[3]++;
	cr_assert(epoch_passed(&s, ctr));
	ctr[3] += 5;
	cr_assert(epoch_passed(&s, ctr), "passed stays passed");
}

Test(epoch, every_cpu_in_the_set_must_pass)
{
	uint64_t ctr[EPOCH_MAX_CPUS];
	for (unsigned c = 0; c < EPOCH_MAX_CPUS; c++)
		ctr[c] = 100 + c;
	uint64_t set = (1ull << 0) | (1ull << 5) | (1ull << 63);
	struct epoch_snap s;
	epoch_snapshot(&s, set, ctr);
	check_invariants(&s);
	cr_assert_eq(s.seen[63], 163);
	cr_assert_eq(epoch_pending(&s, ctr), set);
	ctr[63]++;
	cr_assert_eq(epoch_pending(&s, ctr), (1ull << 0) | (1ull << 5));
	ctr[0] += 2;
	cr_assert_eq(epoch_pending(&s, ctr), 1ull << 5);
	cr_assert(!epoch_passed(&s, ctr));
	ctr[5]++;
	cr_assert_eq(epoch_pending(&s, ctr), 0);
	cr_assert(epoch_passed(&s, ctr));
}

Test(epoch, all_64_cpus)
{
	uint64_t ctr[EPOCH_MAX_CPUS] = { 0 };
	struct epoch_snap s;
	epoch_snapshot(&s, ~0ull, ctr);
	for (unsigned c = 0; c < EPOCH_MAX_CPUS; c++) {
		cr_assert(!epoch_passed(&s, ctr));
		ctr[c] = 1;
	}
	cr_assert(epoch_passed(&s, ctr));
}

Test(epoch, snapshot_reads_only_cpus_in_the_set)
{
	// Counters past the set are garbage (as if those CPUs were never started).
	uint64_t ctr[EPOCH_MAX_CPUS];
	memset(ctr, 0xee, sizeof ctr);
	ctr[1] = 7;
	struct epoch_snap a, b;
	memset(&a, 0x11, sizeof a);
	memset(&b, 0x22, sizeof b);
	epoch_snapshot(&a, 1ull << 1, ctr);
	ctr[9] = 12345;  // outside the set: must not matter
	epoch_snapshot(&b, 1ull << 1, ctr);
	check_invariants(&a);
	cr_assert_eq(memcmp(&a, &b, sizeof a), 0, "equal snapshots must compare equal");
}

Test(epoch, counters_near_the_top)
{
	uint64_t ctr[EPOCH_MAX_CPUS] = { 0 };
	ctr[0] = UINT64_MAX - 1;
	struct epoch_snap s;
	epoch_snapshot(&s, 1, ctr);
	cr_assert(!epoch_passed(&s, ctr));
	ctr[0] = UINT64_MAX;
	cr_assert(epoch_passed(&s, ctr));
}

// --- randomized interleavings ---

#define SIM_CPUS   8
#define SIM_RANGES 16

// A space S and NCPU CPUs. A CPU running S may cache a translation of any range
// still mapped; a quiescent point (switch in, switch out, flushing tick) drops all
// of its cached translations and then bumps its counter, as epoch.h requires.
// Lazy unmap clears the range's PTEs, reads the set of CPUs running S, snapshots.
struct sim {
	uint64_t ctr[EPOCH_MAX_CPUS];
	bool running[SIM_CPUS];
	bool tlb[SIM_CPUS][SIM_RANGES];     // CPU may hold a translation of the range
	bool mapped[SIM_RANGES];            // PTEs present
	bool pending[SIM_RANGES];           // lazily unmapped, not reclaimed
	bool passed[SIM_RANGES];            // epoch_passed has said yes once
	bool quiesced[SIM_RANGES][SIM_CPUS];  // model: CPU passed a point since the snapshot
	struct epoch_snap snap[SIM_RANGES];
};

static uint64_t cpuset(const struct sim *s)
{
	uint64_t set = 0;
	for (unsigned c = 0; c < SIM_CPUS; c++)
		if (s->running[c])
			set |= 1ull << c;
	return set;
}

static void quiescent(struct sim *s, unsigned c)
{
	memset(s->tlb[c], 0, sizeof s->tlb[c]);
	s->ctr[c]++;
	for (unsigned k = 0; k < SIM_RANGES; k++)
		s->quiesced[k][c] = true;
}

static void check_sim(struct sim *s)
{
	for (unsigned k = 0; k < SIM_RANGES; k++) {
		if (!s->pending[k])
			continue;
		check_invariants(&s->snap[k]);
		bool want = true;
		uint64_t want_pending = 0;
		for (unsigned c = 0; c < SIM_CPUS; c++)
			if ((s->snap[k].cpus >> c) & 1 && !s->quiesced[k][c]) {
				want = false;
				want_pending |= 1ull << c;
			}
		bool got = epoch_passed(&s->snap[k], s->ctr);
		cr_assert_eq(got, want, "range %u: passed %d, model %d", k, got, want);
		cr_assert_eq(epoch_pending(&s->snap[k], s->ctr), want_pending);
		if (s->passed[k])
			cr_assert(got, "range %u: passed went back to false", k);
		if (got) {
			s->passed[k] = true;
			for (unsigned c = 0; c < SIM_CPUS; c++)
				cr_assert(!s->tlb[c][k], "range %u passed but CPU %u holds it", k, c);
		}
	}
}

Test(epoch, random_interleavings_never_pass_with_a_stale_translation)
{
	srand(777);
	for (int round = 0; round < 50; round++) {
		struct sim *s = calloc(1, sizeof *s);
		cr_assert_not_null(s);
		for (unsigned c = 0; c < SIM_CPUS; c++)
			s->ctr[c] = (uint64_t)rand();  // counters do not start equal or at 0
		for (unsigned k = 0; k < SIM_RANGES; k++)
			s->mapped[k] = true;
		uint64_t passes = 0;
		for (int step = 0; step < 3000; step++) {
			unsigned c = (unsigned)rand() % SIM_CPUS, k = (unsigned)rand() % SIM_RANGES;
			int r = rand() % 100;
			if (r < 35) {                   // a running CPU touches range k
				if (s->running[c] && s->mapped[k])
					s->tlb[c][k] = true;
			} else if (r < 50) {            // switch in or out: CR3 load
				quiescent(s, c);
				s->running[c] = !s->running[c];
			} else if (r < 60) {            // timer tick that flushes
				quiescent(s, c);
			} else if (r < 70) {            // lazy unmap of k
				if (s->mapped[k]) {
					s->mapped[k] = false;
					s->pending[k] = true;
					s->passed[k] = false;
					memset(s->quiesced[k], 0, sizeof s->quiesced[k]);
					epoch_snapshot(&s->snap[k], cpuset(s), s->ctr);
				}
			} else if (r < 80) {            // reclaim k if passed: the VA may be reused
				if (s->pending[k] && epoch_passed(&s->snap[k], s->ctr)) {
					s->pending[k] = false;
					s->mapped[k] = true;
					passes++;
				}
			}
			check_sim(s);
		}
		cr_assert_gt(passes, 0, "the simulation should reclaim something");
		free(s);
	}
}
