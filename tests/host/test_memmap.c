// test_memmap.c: host unit tests for kern/memmap.c, built against libc with Criterion.
// Directed cases pin down each rule (alignment, merging, reserved wins, exclusions,
// clipping, E_RANGE); a randomized test compares against a brute-force cell model.
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "include/pagoda/errors.h"
#include "kern/memmap.h"

#define PG 4096ull
#define MiB (1ull << 20)
#define GiB (1ull << 30)
#define USE 1u
#define RSV 2u
#define MAXR 64

// Every result must be page-aligned, non-empty, sorted, and not touching the next.
static void check_shape(const struct mrange *r, int n)
{
	for (int i = 0; i < n; i++) {
		cr_assert_eq(r[i].base % PG, 0, "range %d base %#lx unaligned", i, r[i].base);
		cr_assert_eq(r[i].len % PG, 0, "range %d len %#lx unaligned", i, r[i].len);
		cr_assert_gt(r[i].len, 0, "range %d empty", i);
		cr_assert_leq(r[i].base, UINT64_MAX - r[i].len, "range %d end overflows", i);
		if (i > 0)
			cr_assert_gt(r[i].base, r[i - 1].base + r[i - 1].len,
			             "range %d not after range %d with a gap", i, i - 1);
	}
}

// Runs memmap_usable with roomy output and checks the shape and the expected ranges.
static void expect_ranges(const struct mmap_entry *in, size_t nin,
                          const struct mrange *excl, size_t nexcl,
                          const struct mrange *want, int nwant)
{
	struct mrange out[MAXR];
	memset(out, 0xcc, sizeof out);
	int n = memmap_usable(in, nin, excl, nexcl, out, MAXR);
	cr_assert_eq(n, nwant, "got %d ranges, want %d", n, nwant);
	check_shape(out, n);
	for (int i = 0; i < n; i++) {
		cr_assert_eq(out[i].base, want[i].base, "range %d base %#lx want %#lx", i, out[i].base, want[i].base);
		cr_assert_eq(out[i].len, want[i].len, "range %d len %#lx want %#lx", i, out[i].len, want[i].len);
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define EXPECT(in, excl, nexcl, ...)                                              \
	do {                                                                      \
		const struct mrange want_[] = { __VA_ARGS__ };                    \
		expect_ranges((in), N(in), (excl), (nexcl), want_, (int)N(want_)); \
	} while (0)
#define EXPECT_NONE(in, excl, nexcl) expect_ranges((in), N(in), (excl), (nexcl), NULL, 0)

// --- usable entries alone ---

Test(memmap, aligned_entry_passes_through)
{
	struct mmap_entry in[] = { { 1 * MiB, 127 * MiB, USE } };
	EXPECT(in, NULL, 0, { 1 * MiB, 127 * MiB });
}

Test(memmap, unaligned_entry_is_rounded_inwards)
{
	struct mmap_entry in[] = { { 0x1001, 0x5000, USE } };  // 0x1001 .. 0x6001
	EXPECT(in, NULL, 0, { 0x2000, 0x4000 });
}

Test(memmap, entry_smaller_than_a_page_is_dropped)
{
	struct mmap_entry in[] = { { 0x1800, 0x1000, USE }, { 0x5000, 0xfff, USE } };
	EXPECT_NONE(in, NULL, 0);
}

Test(memmap, unsorted_entries_come_out_sorted)
{
	struct mmap_entry in[] = {
		{ 8 * GiB, GiB, USE }, { 0x100000, 0x100000, USE }, { 0x10000, 0x1000, USE },
	};
	EXPECT(in, NULL, 0, { 0x10000, 0x1000 }, { 0x100000, 0x100000 }, { 8 * GiB, GiB });
}

Test(memmap, adjacent_overlapping_and_duplicate_entries_merge)
{
	struct mmap_entry in[] = {
		{ 0x3000, 0x2000, USE }, { 0x1000, 0x2000, USE },  // adjacent, out of order
		{ 0x4000, 0x4000, USE }, { 0x4000, 0x4000, USE },  // overlapping, duplicated
		{ 0x6000, 0x1000, USE },                           // inside another
	};
	EXPECT(in, NULL, 0, { 0x1000, 0x7000 });
}

Test(memmap, sub_page_pieces_that_together_cover_a_page_count)
{
	struct mmap_entry in[] = { { 0x2800, 0x800, USE }, { 0x2000, 0x800, USE } };
	EXPECT(in, NULL, 0, { 0x2000, 0x1000 });
}

Test(memmap, zero_length_entries_are_ignored)
{
	struct mmap_entry in[] = {
		{ 0x1000, 0, USE }, { 0x2000, 0x3000, USE }, { 0x3000, 0, RSV },
	};
	struct mrange excl[] = { { 0x2000, 0 } };
	EXPECT(in, excl, 1, { 0x2000, 0x3000 });
}

Test(memmap, no_entries_gives_no_ranges)
{
	cr_assert_eq(memmap_usable(NULL, 0, NULL, 0, NULL, 0), 0);
	struct mmap_entry in[] = { { 0x1000, 0x10000, RSV } };
	cr_assert_eq(memmap_usable(in, 1, NULL, 0, NULL, 0), 0);
}

// --- reserved entries ---

Test(memmap, reserved_wins_over_overlapping_usable)
{
	struct mmap_entry in[] = {
		{ 0, 0x20000, USE },
		{ 0x8000, 0x1000, RSV },  // punches a hole
		{ 0x1f000, 0x8000, RSV }, // chops the tail, and runs past the usable end
	};
	EXPECT(in, NULL, 0, { 0, 0x8000 }, { 0x9000, 0x16000 });
}

Test(memmap, reserved_listed_before_usable_still_wins)
{
	struct mmap_entry in[] = { { 0x5000, 0x1000, RSV }, { 0x1000, 0x9000, USE } };
	EXPECT(in, NULL, 0, { 0x1000, 0x4000 }, { 0x6000, 0x4000 });
}

Test(memmap, reserved_byte_loses_its_whole_page)
{
	struct mmap_entry in[] = {
		{ 0x10000, 0x10000, USE },
		{ 0x13fff, 1, RSV },      // last byte of page 0x13000
		{ 0x17000, 0x1001, RSV }, // pages 0x17000 and 0x18000
	};
	EXPECT(in, NULL, 0, { 0x10000, 0x3000 }, { 0x14000, 0x3000 }, { 0x19000, 0x7000 });
}

Test(memmap, any_type_but_1_is_reserved)
{
	struct mmap_entry in[] = {
		{ 0, 0x10000, USE },
		{ 0x1000, 0x1000, 0 }, { 0x3000, 0x1000, 3 }, { 0x5000, 0x1000, 4 },
		{ 0x7000, 0x1000, 5 }, { 0x9000, 0x1000, 0xffffffffu },
	};
	EXPECT(in, NULL, 0, { 0, 0x1000 }, { 0x2000, 0x1000 }, { 0x4000, 0x1000 },
	       { 0x6000, 0x1000 }, { 0x8000, 0x1000 }, { 0xa000, 0x6000 });
}

Test(memmap, reserved_covering_everything_leaves_nothing)
{
	struct mmap_entry in[] = { { 0x1000, 0x4000, USE }, { 0, UINT64_MAX, RSV } };
	EXPECT_NONE(in, NULL, 0);
}

// --- exclusions ---

Test(memmap, exclusions_split_and_trim_ranges)
{
	struct mmap_entry in[] = { { 0, 640 * 1024, USE }, { MiB, 511 * MiB, USE } };
	struct mrange excl[] = {
		{ 0, MiB },                  // low memory
		{ 2 * MiB, 0x123456 },       // kernel image: ends mid-page
		{ 100 * MiB + 0x10, 0x100 }, // a boot module inside one page
	};
	EXPECT(in, excl, N(excl),
	       { MiB, MiB },
	       { 2 * MiB + 0x124000, 100 * MiB - (2 * MiB + 0x124000) },
	       { 100 * MiB + PG, 412 * MiB - PG });
}

Test(memmap, overlapping_and_unsorted_exclusions)
{
	struct mmap_entry in[] = { { 0, 0x20000, USE } };
	struct mrange excl[] = {
		{ 0x9000, 0x2000 }, { 0x2000, 0x3000 }, { 0x3000, 0x1000 }, { 0x4000, 0x2000 },
		{ 0x9000, 0x2000 }, { 0xb000, 0x1000 },
	};
	EXPECT(in, excl, N(excl), { 0, 0x2000 }, { 0x6000, 0x3000 }, { 0xc000, 0x14000 });
}

Test(memmap, exclusion_covering_a_whole_range_drops_it)
{
	struct mmap_entry in[] = { { 0x1000, 0x1000, USE }, { 0x5000, 0x1000, USE } };
	struct mrange excl[] = { { 0x800, 0x2000 } };
	EXPECT(in, excl, 1, { 0x5000, 0x1000 });
}

// --- the top of the address space and large addresses ---

Test(memmap, ranges_above_4GiB)
{
	struct mmap_entry in[] = {  // roughly what QEMU reports for 8 GiB
		{ 0, 0x9fc00, USE }, { 0x9fc00, 0x400, RSV }, { 0xf0000, 0x10000, RSV },
		{ MiB, 0xbfee0000 - MiB, USE }, { 0xbfee0000, 0x20000, RSV },
		{ 0xfeffc000, 0x4000, RSV }, { 0xfffc0000, 0x40000, RSV },
		{ 4 * GiB, 5 * GiB, USE },
	};
	struct mrange excl[] = { { 0, MiB }, { 5 * GiB + 0x800, 0x1000 } };
	EXPECT(in, excl, N(excl),
	       { MiB, 0xbfee0000 - MiB },
	       { 4 * GiB, GiB },
	       { 5 * GiB + 2 * PG, 4 * GiB - 2 * PG });
}

Test(memmap, entries_past_2_to_64_are_clipped)
{
	uint64_t top = UINT64_MAX - PG + 1;  // the top page, never reported
	struct mmap_entry in[] = { { top - 0x10000, 0x20000, USE } };
	EXPECT(in, NULL, 0, { top - 0x10000, 0x10000 });

	struct mmap_entry in2[] = { { 0, 0x10000, USE }, { 0x8000, UINT64_MAX, RSV } };
	EXPECT(in2, NULL, 0, { 0, 0x8000 });

	struct mrange excl[] = { { 0x3000, UINT64_MAX } };
	EXPECT(in2, excl, 1, { 0, 0x3000 });
}

Test(memmap, entries_in_the_top_page_are_ignored)
{
	struct mmap_entry in[] = {
		{ UINT64_MAX - 0x800, 0x900, USE }, { UINT64_MAX, 1, USE }, { UINT64_MAX, 0, USE },
		{ 0x1000, 0x1000, USE }, { UINT64_MAX - 5, 100, RSV },
	};
	EXPECT(in, NULL, 0, { 0x1000, 0x1000 });
}

Test(memmap, whole_address_space_usable)
{
	struct mmap_entry in[] = { { 0, UINT64_MAX, USE }, { 0, UINT64_MAX, USE } };
	EXPECT(in, NULL, 0, { 0, UINT64_MAX - PG + 1 });
}

// --- running out of room ---

Test(memmap, too_many_ranges_fails)
{
	struct mmap_entry in[] = { { 0, 0x10000, USE }, { 0x2000, 0x1000, RSV }, { 0x5000, 0x1000, RSV } };
	struct mrange out[3];
	cr_assert_eq(memmap_usable(in, N(in), NULL, 0, out, 2), E_RANGE);
	cr_assert_eq(memmap_usable(in, N(in), NULL, 0, out, 0), E_RANGE);
	cr_assert_eq(memmap_usable(in, N(in), NULL, 0, out, 3), 3);
}

Test(memmap, exclusion_split_past_capacity_fails)
{
	struct mmap_entry in[] = { { 0, 0x10000, USE } };
	struct mrange excl[] = { { 0x4000, 0x1000 } };
	struct mrange out[2];
	cr_assert_eq(memmap_usable(in, 1, excl, 1, out, 1), E_RANGE);
	cr_assert_eq(memmap_usable(in, 1, excl, 1, out, 2), 2);
}

Test(memmap, exact_capacity_suffices_even_when_splits_later_vanish)
{
	// Subtracting the hole first would need two slots before the second exclusion
	// swallows the lower piece; only one range is left in the end.
	struct mmap_entry in[] = { { 0, 0xa000, USE }, { 0x4000, 0x1000, RSV } };
	struct mrange excl[] = { { 0, 0x6000 } };
	struct mrange out[1];
	cr_assert_eq(memmap_usable(in, N(in), excl, 1, out, 1), 1);
	cr_assert_eq(out[0].base, 0x6000);
	cr_assert_eq(out[0].len, 0x4000);
}

// --- total ---

Test(memmap, total_sums_lengths)
{
	struct mrange r[] = { { 0x1000, 0x2000 }, { 4 * GiB, 4 * GiB }, { 16 * GiB, PG } };
	cr_assert_eq(memmap_total(r, 3), 0x2000 + 4 * GiB + PG);
	cr_assert_eq(memmap_total(r, 0), 0);
	cr_assert_eq(memmap_total(NULL, 0), 0);
}

// --- randomized against a brute-force model ---

// The model splits a window into 256-byte cells: a page is good when all its cells
// are covered by usable entries and none by reserved entries or exclusions.
#define CELL 256ull
#define CPP (PG / CELL)
#define WPAGES 48

static void random_case(uint64_t origin, unsigned seed)
{
	srand(seed);
	bool use[WPAGES * CPP] = { 0 }, bad[WPAGES * CPP] = { 0 };
	struct mmap_entry in[24];
	struct mrange excl[6];
	size_t nin = (size_t)rand() % 24, nexcl = (size_t)rand() % 6;
	for (size_t i = 0; i < nin + nexcl; i++) {
		uint64_t c0 = (uint64_t)rand() % (WPAGES * CPP);
		uint64_t nc = (uint64_t)rand() % (i < nin ? 10 * CPP : 3 * CPP);
		if (c0 + nc > WPAGES * CPP)
			nc = WPAGES * CPP - c0;
		// Whole pages half the time, as real firmware mostly reports them.
		if (rand() % 2) {
			c0 -= c0 % CPP;
			nc -= nc % CPP;
		}
		bool usable = i < nin && rand() % 3 != 0;
		for (uint64_t c = c0; c < c0 + nc; c++)
			(usable ? use : bad)[c] = true;
		if (i < nin)
			in[i] = (struct mmap_entry){ origin + c0 * CELL, nc * CELL, usable ? USE : RSV + (unsigned)rand() % 3 };
		else
			excl[i - nin] = (struct mrange){ origin + c0 * CELL, nc * CELL };
	}
	struct mrange want[WPAGES];
	int nwant = 0;
	for (int pg = 0; pg < WPAGES; pg++) {
		bool good = true;
		for (uint64_t c = pg * CPP; c < (pg + 1) * CPP; c++)
			good = good && use[c] && !bad[c];
		if (!good)
			continue;
		if (nwant && want[nwant - 1].base + want[nwant - 1].len == origin + pg * PG)
			want[nwant - 1].len += PG;
		else
			want[nwant++] = (struct mrange){ origin + pg * PG, PG };
	}
	expect_ranges(in, nin, excl, nexcl, want, nwant);
	// Exactly nwant slots must suffice, and one fewer must not.
	struct mrange out[WPAGES];
	cr_assert_eq(memmap_usable(in, nin, excl, nexcl, out, (size_t)nwant), nwant);
	if (nwant > 0)
		cr_assert_eq(memmap_usable(in, nin, excl, nexcl, out, (size_t)nwant - 1), E_RANGE);
}

Test(memmap, random_maps_match_cell_model)
{
	for (unsigned seed = 1; seed <= 1500; seed++)
		random_case(0, seed);
}

Test(memmap, random_maps_above_4GiB_match_cell_model)
{
	for (unsigned seed = 1; seed <= 1500; seed++)
		random_case(64 * GiB + 0x7000 * (seed % 3), seed);
}
