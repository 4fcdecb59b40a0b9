// test_sysarg.c: host unit tests for kern/sysarg.h, the per-type narrowing of raw
// 64-bit argument registers. The property under test: a value outside a type never
// narrows to a valid one (a handle onto a used index, a flag set inside its range, a
// wide cpu onto -1 "any" or a real CPU, a wide status onto 0), and a value inside it
// passes unchanged. Also pins the SYS_* numbers, which are the ABI.
#include <criterion/criterion.h>
#include <stdint.h>
#include <limits.h>

#include "kern/sysarg.h"
#include "kern/handle.h"

#define NCPUS 64

// Values whose low 32 bits look valid but whose high bits are garbage.
static const uint64_t high[] = {
	1ULL << 32, 1ULL << 33, 1ULL << 63, 0xffffffff00000000ULL, 0x7e57000000000000ULL,
	0x100000001ULL, 0x8000000000000000ULL | 3, ~0ULL,
};
#define NHIGH (sizeof high / sizeof high[0])

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
	rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
	return rng;
}

Test(sysarg, handle_in_table_is_unchanged)
{
	for (uint64_t v = 0; v < HTABLE_SLOTS; v++)
		cr_assert_eq(sysarg_handle(v, HTABLE_SLOTS), (handle_t)v);
}

Test(sysarg, handle_outside_table_fails)
{
	for (uint64_t k = 0; k < HTABLE_SLOTS; k++)
		for (size_t i = 0; i < NHIGH; i++)
			cr_assert_eq(sysarg_handle(high[i] | k, HTABLE_SLOTS), -1, "%#lx", high[i] | k);
	cr_assert_eq(sysarg_handle(HTABLE_SLOTS, HTABLE_SLOTS), -1);
	cr_assert_eq(sysarg_handle(HTABLE_SLOTS + 3, HTABLE_SLOTS), -1); // not 3 mod 256
	cr_assert_eq(sysarg_handle((uint64_t)-1, HTABLE_SLOTS), -1);
	cr_assert_eq(sysarg_handle(0x80000000ULL, HTABLE_SLOTS), -1);  // not INT_MIN
	for (int i = 0; i < 100000; i++) {
		uint64_t v = next_rand();
		handle_t h = sysarg_handle(v, HTABLE_SLOTS);
		cr_assert(v < HTABLE_SLOTS ? h == (handle_t)v : h == -1, "%#lx -> %d", v, h);
	}
}

Test(sysarg, flags_in_32_bits_are_unchanged)
{
	const uint64_t v[] = { 0, 1, PROT_ALL, PROT_ALL + 1, R_ALL, UNMAP_LAZY, 0x7fffffff, 0x80000000,
			       0xffffffff };
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		cr_assert_eq(sysarg_flags(v[i]), (unsigned)v[i]);
}

Test(sysarg, flags_with_high_bits_fail_every_range)
{
	for (size_t i = 0; i < NHIGH; i++)
		for (unsigned low = 0; low <= R_ALL; low++) {
			uint64_t v = high[i] | low;
			unsigned f = sysarg_flags(v);
			cr_assert_gt(f, PROT_ALL, "%#lx -> %#x", v, f);
			cr_assert_gt(f, R_ALL);
			cr_assert_gt(f, UNMAP_LAZY);
			// The low bits are kept (map tests PROT_WRITE before the range).
			cr_assert_eq(f, (unsigned)v | SYSARG_FLAGS_BAD);
			cr_assert_eq(f & PROT_WRITE, v & PROT_WRITE);
		}
	cr_assert_neq(sysarg_flags((1ULL << 32) | PROT_READ), PROT_READ);
	for (int i = 0; i < 100000; i++) {
		uint64_t v = next_rand() | (1ULL << (32 + next_rand() % 32));
		cr_assert_eq(sysarg_flags(v), (unsigned)v | SYSARG_FLAGS_BAD, "%#lx", v);
	}
}

Test(sysarg, cpu_in_range_is_unchanged)
{
	cr_assert_eq(sysarg_cpu((uint64_t)-1, NCPUS), -1);
	for (int c = 0; c < NCPUS; c++)
		cr_assert_eq(sysarg_cpu((uint64_t)c, NCPUS), c);
}

Test(sysarg, cpu_out_of_range_fails)
{
	const uint64_t bad[] = {
		NCPUS, NCPUS + 1, (uint64_t)-2, (uint64_t)(int64_t)INT_MIN, (uint64_t)INT_MAX,
		0xffffffffULL,       // -1 ("any") if truncated to 32 bits
		1ULL << 32,          // CPU 0 if truncated
		(1ULL << 32) | 1,    // CPU 1 if truncated
		0x8000000000000000ULL,
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(sysarg_cpu(bad[i], NCPUS), CPU_INVALID, "%#lx", bad[i]);
	for (size_t i = 0; i < NHIGH; i++)
		for (int c = 0; c < NCPUS; c++) {
			uint64_t v = high[i] | (unsigned)c;
			cr_assert_eq(sysarg_cpu(v, NCPUS), v == ~0ULL ? -1 : CPU_INVALID, "%#lx", v);
		}
	cr_assert_lt(CPU_INVALID, -1); // every CPU check refuses it
}

Test(sysarg, int_sign_extended_is_unchanged)
{
	const int v[] = { 0, 1, -1, 42, -42, INT_MAX, INT_MIN };
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		cr_assert_eq(sysarg_int((uint64_t)(int64_t)v[i]), v[i]);
}

Test(sysarg, int_out_of_range_is_never_zero)
{
	const uint64_t bad[] = { 1ULL << 32, 0xffffffffULL, 0x80000000ULL, 1ULL << 63, (uint64_t)INT_MIN };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		cr_assert_eq(sysarg_int(bad[i]), INT_MIN, "%#lx", bad[i]);
}

Test(sysarg, wide_types_are_unchanged)
{
	for (int i = 0; i < 1000; i++) {
		uint64_t v = next_rand();
		cr_assert_eq(sysarg_uaddr(v), v);
		cr_assert_eq(sysarg_size(v), v);
		cr_assert_eq(sysarg_u64(v), v);
	}
}

// The numbers are the ABI: syscalls.def must keep them.
Test(sysarg, syscall_numbers_are_stable)
{
	cr_assert_eq(SYS_DEBUG_WRITE, 0);
	cr_assert_eq(SYS_VCPU_STOP, 1);
	cr_assert_eq(SYS_VCPU_YIELD, 2);
	cr_assert_eq(SYS_CPU_ID, 3);
	cr_assert_eq(SYS_CLOCK_NS, 4);
	cr_assert_eq(SYS_SPACE_CREATE, 5);
	cr_assert_eq(SYS_SPACE_DELETE, 6);
	cr_assert_eq(SYS_SPACE_STATS, 7);
	cr_assert_eq(SYS_MEM_CREATE, 8);
	cr_assert_eq(SYS_MEM_SIZE, 9);
	cr_assert_eq(SYS_MAP, 10);
	cr_assert_eq(SYS_UNMAP, 11);
	cr_assert_eq(SYS_PROTECT, 12);
	cr_assert_eq(SYS_HANDLE_DUP, 13);
	cr_assert_eq(SYS_HANDLE_CLOSE, 14);
	cr_assert_eq(SYS_HANDLE_TRANSFER, 15);
	cr_assert_eq(SYS_VCPU_CREATE, 16);
	cr_assert_eq(SYS_SET_BUDGET, 17);
	cr_assert_eq(SYS_CPU_COUNT, 18);
	cr_assert_eq(SYS_CPU_TLB_IPIS, 19);
	cr_assert_eq(SYS_VCPU_TIMER, 20);
	cr_assert_eq(SYS_NOTIFY_CREATE, 21);
	cr_assert_eq(SYS_NOTIFY_SIGNAL, 22);
	cr_assert_eq(SYS_NOTIFY_WAIT, 23);
	cr_assert_geq(SYS_COUNT, 24); // new calls take the next numbers
}
