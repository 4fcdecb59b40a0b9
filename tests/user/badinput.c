// badinput.c: every malformed map/protect/unmap/mem_create/vcpu_create (and handle
// call) gets its own error code and changes nothing. A table of calls, each with the
// code it must return; after each one the space's mappings, charged frames, threads
// and next handle index are where they were, and the test pages at TEST_VA (a 2-page
// mem and a 1-page one, with a hole between) still hold their pattern and still take
// writes. The table runs in a thread with a fault entry, so a call that wrongly
// removed a right is reported by name instead of killing the program.
#include "tcommon.h"
#include "syscall.h"

#define KERNEL_VA   0xffffffff80000000UL
#define NONCANON_VA 0x0000800000000000UL
#define GIB         (1UL << 30)
#define MIB         (1UL << 20)

// The test region: pages 0-1 (mem HM, RW), page 2 a hole, page 3 (mem HM4 offset 0, RW).
#define PAT_PAGES 4
#define HOLE_PAGE 2
#define FREE_VA   (TEST_VA + 16 * PAGE) // nothing mapped here
#define LAZY_VA   (TEST_VA + 32 * PAGE) // the lazy-unmap case

// Argument placeholders, replaced by the handles made in setup(). Values no other
// argument uses.
#define PH(k) (0x7e57000000000000UL + (k))
enum {
	HM,        // the 2-page mem mapped at TEST_VA, all its rights
	HM4,       // a 4-page mem, page 0 mapped at TEST_VA + 3 pages
	HM_NOMAP,  // dup(HM4) without R_MAP
	HM_NOWR,   // dup(HM4) without R_WRITE
	HS_RO,     // dup(H_SELF, R_READ)
	HS_NOEXEC, // dup(H_SELF) without R_EXEC
	HS_NODEL,  // dup(H_SELF) without R_DELETE
	HM_NORD,   // dup(HM4) without R_READ
	HCLOSED,   // a handle number closed in setup()
	HM_256,    // HM + 256: HM if the kernel truncated it to 8 bits
	HM_2_32,   // HM + 2^32: HM if truncated to 32 bits
	FN,        // a thread entry that must never run
	STK,       // a good stack top
	NCPU,      // the first CPU number not online
	HN,        // a notify, all its rights
	HM4_2_32,  // HM4 + 2^32
	HN_2_32,   // HN + 2^32
	HS_NORD,   // dup(H_SELF) without R_READ
	HN_NOSIG,  // dup(HN) without R_SIGNAL
	NPH
};
static uint64_t ph[NPH];

static volatile uint64_t stray_runs; // FN ran: a vcpu_create that should have failed didn't
extern char stray_entry[];
// Sets stray_runs and exits without touching its stack (which may be bad).
__asm__(".pushsection .text\n"
	".globl stray_entry\n.type stray_entry, @function\n"
	"stray_entry:\n\tlock incq stray_runs(%rip)\n\tmov $1, %eax\n\txor %edi, %edi\n\tsyscall\n\tud2\n"
	".popsection\n");

struct bad {
	const char *what;
	long nr;
	uint64_t a[6];
	long want;
};

#define RW (PROT_READ | PROT_WRITE)
#define P  PAGE
#define V  TEST_VA

static const struct bad map_cases[] = {
	// Overlaps: E_EXISTS.
	{ "map exactly over a mapping", SYS_MAP, { H_SELF, V, PH(HM4), 0, 2 * P, RW }, E_EXISTS },
	{ "map inside a mapping", SYS_MAP, { H_SELF, V + P, PH(HM4), 0, P, PROT_READ }, E_EXISTS },
	{ "map overlapping from below", SYS_MAP, { H_SELF, V - P, PH(HM4), 0, 2 * P, RW }, E_EXISTS },
	{ "map from a mapping into the hole", SYS_MAP, { H_SELF, V + P, PH(HM4), 0, 2 * P, RW }, E_EXISTS },
	{ "map from the hole into a mapping", SYS_MAP, { H_SELF, V + 2 * P, PH(HM4), 0, 2 * P, RW }, E_EXISTS },
	{ "map over both mappings and the hole", SYS_MAP, { H_SELF, V - P, PH(HM4), 0, 4 * P, RW }, E_EXISTS },
	{ "map over the program's text", SYS_MAP, { H_SELF, 0x400000, PH(HM4), 0, 4 * P, PROT_READ }, E_EXISTS },
	// Malformed: E_INVAL.
	{ "map va unaligned", SYS_MAP, { H_SELF, FREE_VA + 8, PH(HM4), 0, P, RW }, E_INVAL },
	{ "map off unaligned", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 8, P, RW }, E_INVAL },
	{ "map len unaligned", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, P + 8, RW }, E_INVAL },
	{ "map len 0", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, 0, RW }, E_INVAL },
	{ "map prot 8", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, P, 8 }, E_INVAL },
	{ "map prot 0xf", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, P, 0xf }, E_INVAL },
	{ "map prot bit 32", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, P, (1UL << 32) | PROT_READ }, E_INVAL },
	// Outside the user half or the mem: E_RANGE.
	{ "map va 0", SYS_MAP, { H_SELF, 0, PH(HM4), 0, P, RW }, E_RANGE },
	{ "map kernel va", SYS_MAP, { H_SELF, KERNEL_VA, PH(HM4), 0, P, RW }, E_RANGE },
	{ "map non-canonical va", SYS_MAP, { H_SELF, NONCANON_VA, PH(HM4), 0, P, RW }, E_RANGE },
	{ "map va just under the top, len past it", SYS_MAP, { H_SELF, USER_TOP - P, PH(HM4), 0, 2 * P, RW }, E_RANGE },
	{ "map va + len wraps", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, -FREE_VA, RW }, E_RANGE },
	{ "map va + len wraps past 0", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, -P, RW }, E_RANGE },
	{ "map huge len", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, 1UL << 46, RW }, E_RANGE },
	{ "map len past the mem", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, 5 * P, RW }, E_RANGE },
	{ "map off + len past the mem", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), P, 4 * P, RW }, E_RANGE },
	{ "map off at the mem's end", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 4 * P, P, RW }, E_RANGE },
	{ "map off + len wraps", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), -P, 2 * P, RW }, E_RANGE },
	{ "map huge off", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 1UL << 62, P, RW }, E_RANGE },
	// Handles: E_BADH, E_TYPE, E_RIGHTS.
	{ "map space handle unused", SYS_MAP, { 200, FREE_VA, PH(HM4), 0, P, RW }, E_BADH },
	{ "map space handle closed", SYS_MAP, { PH(HCLOSED), FREE_VA, PH(HM4), 0, P, RW }, E_BADH },
	{ "map space handle -1", SYS_MAP, { -1UL, FREE_VA, PH(HM4), 0, P, RW }, E_BADH },
	{ "map space handle 1<<32", SYS_MAP, { 1UL << 32, FREE_VA, PH(HM4), 0, P, RW }, E_BADH },
	{ "map mem handle unused", SYS_MAP, { H_SELF, FREE_VA, 200, 0, P, RW }, E_BADH },
	{ "map mem handle closed", SYS_MAP, { H_SELF, FREE_VA, PH(HCLOSED), 0, P, RW }, E_BADH },
	{ "map mem handle 256", SYS_MAP, { H_SELF, FREE_VA, 256, 0, P, RW }, E_BADH },
	{ "map mem handle is a space", SYS_MAP, { H_SELF, FREE_VA, H_SELF, 0, P, RW }, E_TYPE },
	{ "map space handle is a mem", SYS_MAP, { PH(HM4), FREE_VA, PH(HM4), 0, P, RW }, E_TYPE },
	{ "map space without R_WRITE", SYS_MAP, { PH(HS_RO), FREE_VA, PH(HM4), 0, P, PROT_READ }, E_RIGHTS },
	{ "map mem without R_MAP", SYS_MAP, { H_SELF, FREE_VA, PH(HM_NOMAP), 0, P, PROT_READ }, E_RIGHTS },
	{ "map RW, mem without R_WRITE", SYS_MAP, { H_SELF, FREE_VA, PH(HM_NOWR), 0, P, RW }, E_RIGHTS },
	{ "map W, mem without R_WRITE", SYS_MAP, { H_SELF, FREE_VA, PH(HM_NOWR), 0, P, PROT_WRITE }, E_RIGHTS },
};

static const struct bad protect_cases[] = {
	{ "protect over the hole", SYS_PROTECT, { H_SELF, V, 3 * P, PROT_READ }, E_NOENT },
	{ "protect across the hole", SYS_PROTECT, { H_SELF, V, 4 * P, PROT_READ }, E_NOENT },
	{ "protect from below", SYS_PROTECT, { H_SELF, V - P, 2 * P, PROT_READ }, E_NOENT },
	{ "protect past page 3", SYS_PROTECT, { H_SELF, V + 3 * P, 2 * P, PROT_READ }, E_NOENT },
	{ "protect nothing mapped", SYS_PROTECT, { H_SELF, FREE_VA, P, PROT_READ }, E_NOENT },
	{ "protect va unaligned", SYS_PROTECT, { H_SELF, V + 8, P, PROT_READ }, E_INVAL },
	{ "protect len unaligned", SYS_PROTECT, { H_SELF, V, P - 8, PROT_READ }, E_INVAL },
	{ "protect len 0", SYS_PROTECT, { H_SELF, V, 0, PROT_READ }, E_INVAL },
	{ "protect prot 8", SYS_PROTECT, { H_SELF, V, P, 8 }, E_INVAL },
	{ "protect prot bit 32", SYS_PROTECT, { H_SELF, V, P, (1UL << 32) | PROT_READ }, E_INVAL },
	{ "protect va 0", SYS_PROTECT, { H_SELF, 0, P, PROT_READ }, E_RANGE },
	{ "protect kernel va", SYS_PROTECT, { H_SELF, KERNEL_VA, P, PROT_READ }, E_RANGE },
	{ "protect non-canonical va", SYS_PROTECT, { H_SELF, NONCANON_VA, P, PROT_READ }, E_RANGE },
	{ "protect past the top", SYS_PROTECT, { H_SELF, USER_TOP - P, 2 * P, PROT_READ }, E_RANGE },
	{ "protect va + len wraps", SYS_PROTECT, { H_SELF, V, -P, PROT_READ }, E_RANGE },
	{ "protect handle unused", SYS_PROTECT, { 200, V, P, PROT_READ }, E_BADH },
	{ "protect handle closed", SYS_PROTECT, { PH(HCLOSED), V, P, PROT_READ }, E_BADH },
	{ "protect handle is a mem", SYS_PROTECT, { PH(HM), V, P, PROT_READ }, E_TYPE },
	{ "protect without R_WRITE", SYS_PROTECT, { PH(HS_RO), V, P, PROT_READ }, E_RIGHTS },
};

static const struct bad unmap_cases[] = {
	{ "unmap over the hole", SYS_UNMAP, { H_SELF, V, 3 * P, 0 }, E_NOENT },
	{ "unmap across the hole", SYS_UNMAP, { H_SELF, V, 4 * P, 0 }, E_NOENT },
	{ "unmap lazily across the hole", SYS_UNMAP, { H_SELF, V, 4 * P, UNMAP_LAZY }, E_NOENT },
	{ "unmap from below", SYS_UNMAP, { H_SELF, V - P, 2 * P, 0 }, E_NOENT },
	{ "unmap nothing mapped", SYS_UNMAP, { H_SELF, FREE_VA, P, 0 }, E_NOENT },
	{ "unmap flags 2", SYS_UNMAP, { H_SELF, V, P, 2 }, E_INVAL },
	{ "unmap flags 3", SYS_UNMAP, { H_SELF, V, P, 3 }, E_INVAL },
	{ "unmap flags bit 32", SYS_UNMAP, { H_SELF, V, P, 1UL << 32 }, E_INVAL },
	{ "unmap va unaligned", SYS_UNMAP, { H_SELF, V + 8, P, 0 }, E_INVAL },
	{ "unmap len unaligned", SYS_UNMAP, { H_SELF, V, P + 8, 0 }, E_INVAL },
	{ "unmap len 0", SYS_UNMAP, { H_SELF, V, 0, 0 }, E_INVAL },
	{ "unmap va 0", SYS_UNMAP, { H_SELF, 0, P, 0 }, E_RANGE },
	{ "unmap kernel va", SYS_UNMAP, { H_SELF, KERNEL_VA, P, 0 }, E_RANGE },
	{ "unmap non-canonical va", SYS_UNMAP, { H_SELF, NONCANON_VA, P, 0 }, E_RANGE },
	{ "unmap past the top", SYS_UNMAP, { H_SELF, USER_TOP - P, 2 * P, 0 }, E_RANGE },
	{ "unmap va + len wraps", SYS_UNMAP, { H_SELF, V, -P, 0 }, E_RANGE },
	{ "unmap handle unused", SYS_UNMAP, { 200, V, P, 0 }, E_BADH },
	{ "unmap handle closed", SYS_UNMAP, { PH(HCLOSED), V, P, 0 }, E_BADH },
	{ "unmap handle is a mem", SYS_UNMAP, { PH(HM), V, P, 0 }, E_TYPE },
	{ "unmap without R_WRITE", SYS_UNMAP, { PH(HS_RO), V, P, 0 }, E_RIGHTS },
};

static const struct bad mem_cases[] = {
	{ "mem_create 0", SYS_MEM_CREATE, { 0 }, E_INVAL },
	{ "mem_create 1", SYS_MEM_CREATE, { 1 }, E_INVAL },
	{ "mem_create 4095", SYS_MEM_CREATE, { P - 1 }, E_INVAL },
	{ "mem_create 4097", SYS_MEM_CREATE, { P + 1 }, E_INVAL },
	{ "mem_create -1", SYS_MEM_CREATE, { -1UL }, E_INVAL },
	// A test's quota is a share of the machine's memory (at most 6 GiB here); the exact
	// edge, what is left plus a page, is mem_create_too_big_fails below.
	{ "mem_create 16 GiB (over any test's quota)", SYS_MEM_CREATE, { 16 * GIB }, E_NOMEM },
	{ "mem_create 1 TiB + a page", SYS_MEM_CREATE, { 1024 * GIB + P }, E_NOMEM },
	{ "mem_create 1<<46", SYS_MEM_CREATE, { 1UL << 46 }, E_NOMEM },
	{ "mem_create 1<<62", SYS_MEM_CREATE, { 1UL << 62 }, E_NOMEM },
	{ "mem_create -4096", SYS_MEM_CREATE, { -P }, E_NOMEM },
	{ "mem_size unused", SYS_MEM_SIZE, { 200 }, E_BADH },
	{ "mem_size of a space", SYS_MEM_SIZE, { H_SELF }, E_TYPE },
	{ "mem_size without R_READ", SYS_MEM_SIZE, { PH(HM_NORD) }, E_RIGHTS },
	{ "mem_size 256 + mem", SYS_MEM_SIZE, { PH(HM_256) }, E_BADH },
	{ "mem_size 1<<32 + mem", SYS_MEM_SIZE, { PH(HM_2_32) }, E_BADH },
};

static const struct bad vcpu_cases[] = {
	{ "vcpu cpu -2", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, -2UL, PH(FN) }, E_INVAL },
	{ "vcpu cpu 64", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, 64, PH(FN) }, E_INVAL },
	{ "vcpu cpu past the last online", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, PH(NCPU), PH(FN) }, E_INVAL },
	{ "vcpu cpu 63", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, 63, PH(FN) }, E_INVAL },
	{ "vcpu cpu 1<<32", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, 1UL << 32, PH(FN) }, E_INVAL },
	{ "vcpu cpu -1 + 1<<32", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, 0xffffffffUL, PH(FN) }, E_INVAL },
	{ "vcpu entry 0", SYS_VCPU_CREATE, { H_SELF, 0, PH(STK), 0, -1UL, PH(FN) }, E_INVAL },
	{ "vcpu entry in the zero page", SYS_VCPU_CREATE, { H_SELF, 0xff0, PH(STK), 0, -1UL, PH(FN) }, E_INVAL },
	{ "vcpu entry kernel", SYS_VCPU_CREATE, { H_SELF, KERNEL_VA, PH(STK), 0, -1UL, PH(FN) }, E_INVAL },
	{ "vcpu entry non-canonical", SYS_VCPU_CREATE, { H_SELF, NONCANON_VA, PH(STK), 0, -1UL, PH(FN) }, E_INVAL },
	{ "vcpu stack 0", SYS_VCPU_CREATE, { H_SELF, PH(FN), 0, 0, -1UL, PH(FN) }, E_INVAL },
	{ "vcpu stack in the zero page", SYS_VCPU_CREATE, { H_SELF, PH(FN), 0x1000, 0, -1UL, PH(FN) }, E_INVAL },
	{ "vcpu stack kernel", SYS_VCPU_CREATE, { H_SELF, PH(FN), KERNEL_VA, 0, -1UL, PH(FN) }, E_INVAL },
	{ "vcpu upcall stack's bottom below USER_BASE", SYS_VCPU_CREATE, { H_SELF, PH(FN), 0x4000, 0, -1UL, 0 }, E_INVAL },
	{ "vcpu stack above the top", SYS_VCPU_CREATE, { H_SELF, PH(FN), USER_TOP + P, 0, -1UL, PH(FN) }, E_INVAL },
	{ "vcpu space unused", SYS_VCPU_CREATE, { 200, PH(FN), PH(STK), 0, -1UL, PH(FN) }, E_BADH },
	{ "vcpu space closed", SYS_VCPU_CREATE, { PH(HCLOSED), PH(FN), PH(STK), 0, -1UL, PH(FN) }, E_BADH },
	{ "vcpu space 1<<32", SYS_VCPU_CREATE, { 1UL << 32, PH(FN), PH(STK), 0, -1UL, PH(FN) }, E_BADH },
	{ "vcpu space is a mem", SYS_VCPU_CREATE, { PH(HM), PH(FN), PH(STK), 0, -1UL, PH(FN) }, E_TYPE },
	{ "vcpu without R_EXEC", SYS_VCPU_CREATE, { PH(HS_NOEXEC), PH(FN), PH(STK), 0, -1UL, PH(FN) }, E_RIGHTS },
	{ "vcpu with R_READ only", SYS_VCPU_CREATE, { PH(HS_RO), PH(FN), PH(STK), 0, -1UL, PH(FN) }, E_RIGHTS },
};

static const struct bad handle_cases[] = {
	{ "close -1", SYS_HANDLE_CLOSE, { -1UL }, E_BADH },
	{ "close 256", SYS_HANDLE_CLOSE, { 256 }, E_BADH },
	{ "close mem + 1<<32", SYS_HANDLE_CLOSE, { PH(HM_2_32) }, E_BADH },
	{ "close mem + 256", SYS_HANDLE_CLOSE, { PH(HM_256) }, E_BADH },
	{ "close unused", SYS_HANDLE_CLOSE, { 200 }, E_BADH },
	{ "close closed", SYS_HANDLE_CLOSE, { PH(HCLOSED) }, E_BADH },
	{ "close H_SELF", SYS_HANDLE_CLOSE, { H_SELF }, E_INVAL },
	{ "dup rights beyond R_ALL", SYS_HANDLE_DUP, { PH(HM), R_ALL + 1 }, E_INVAL },
	{ "dup without R_DUP", SYS_HANDLE_DUP, { PH(HM_NOWR), R_READ }, E_RIGHTS },
	{ "dup unused", SYS_HANDLE_DUP, { 200, R_READ }, E_BADH },
	{ "transfer H_SELF", SYS_HANDLE_TRANSFER, { H_SELF, H_SELF }, E_INVAL },
	{ "transfer to unused", SYS_HANDLE_TRANSFER, { PH(HM), 200 }, E_BADH },
	{ "transfer to a mem", SYS_HANDLE_TRANSFER, { PH(HM), PH(HM4) }, E_TYPE },
	{ "transfer to a space without R_WRITE", SYS_HANDLE_TRANSFER, { PH(HM), PH(HS_RO) }, E_RIGHTS },
	{ "transfer without R_TRANSFER", SYS_HANDLE_TRANSFER, { PH(HS_RO), H_SELF }, E_RIGHTS },
	{ "transfer unused", SYS_HANDLE_TRANSFER, { 200, H_SELF }, E_BADH },
	{ "space_delete unused", SYS_SPACE_DELETE, { 200 }, E_BADH },
	{ "space_delete a mem", SYS_SPACE_DELETE, { PH(HM) }, E_TYPE },
	{ "space_delete without R_DELETE", SYS_SPACE_DELETE, { PH(HS_NODEL) }, E_RIGHTS },
	{ "space_stats unused", SYS_SPACE_STATS, { 200, PH(STK) - 256 }, E_BADH },
	{ "space_stats a mem", SYS_SPACE_STATS, { PH(HM), PH(STK) - 256 }, E_TYPE },
	{ "set_budget H_SELF", SYS_SET_BUDGET, { H_SELF, 10 }, E_RIGHTS },
	{ "set_budget a mem", SYS_SET_BUDGET, { PH(HM), 10 }, E_TYPE },
	// Only init holds the resource handle: anything else is refused.
	{ "kernel_stat unused", SYS_KERNEL_STAT, { 200, KSTAT_HEAP_BYTES }, E_BADH },
	{ "kernel_stat closed", SYS_KERNEL_STAT, { PH(HCLOSED), KSTAT_HEAP_BYTES }, E_BADH },
	{ "kernel_stat -1", SYS_KERNEL_STAT, { -1UL, KSTAT_HEAP_BYTES }, E_BADH },
	{ "kernel_stat H_SELF (a space)", SYS_KERNEL_STAT, { H_SELF, KSTAT_HEAP_BYTES }, E_TYPE },
	{ "kernel_stat a mem", SYS_KERNEL_STAT, { PH(HM), KSTAT_FREE_FRAMES }, E_TYPE },
	{ "kernel_stat a notify", SYS_KERNEL_STAT, { PH(HN), KSTAT_MEM_FRAMES }, E_TYPE },
	{ "kernel_stat a space, bad counter", SYS_KERNEL_STAT, { H_SELF, 99 }, E_TYPE },
	{ "space_watch space unused", SYS_SPACE_WATCH, { 200, PH(HN), 1 }, E_BADH },
	{ "space_watch space closed", SYS_SPACE_WATCH, { PH(HCLOSED), PH(HN), 1 }, E_BADH },
	{ "space_watch space is a mem", SYS_SPACE_WATCH, { PH(HM), PH(HN), 1 }, E_TYPE },
	{ "space_watch space is a notify", SYS_SPACE_WATCH, { PH(HN), PH(HN), 1 }, E_TYPE },
	{ "space_watch space without R_READ", SYS_SPACE_WATCH, { PH(HS_NORD), PH(HN), 1 }, E_RIGHTS },
	{ "space_watch notify unused", SYS_SPACE_WATCH, { H_SELF, 200, 1 }, E_BADH },
	{ "space_watch notify is a space", SYS_SPACE_WATCH, { H_SELF, H_SELF, 1 }, E_TYPE },
	{ "space_watch notify is a mem", SYS_SPACE_WATCH, { H_SELF, PH(HM), 1 }, E_TYPE },
	{ "space_watch notify without R_SIGNAL", SYS_SPACE_WATCH, { H_SELF, PH(HN_NOSIG), 1 }, E_RIGHTS },
	{ "space_watch bits 0", SYS_SPACE_WATCH, { H_SELF, PH(HN), 0 }, E_INVAL },
	{ "space_watch bit 63", SYS_SPACE_WATCH, { H_SELF, PH(HN), 1UL << 63 }, E_INVAL },
	{ "space_watch all 64 bits", SYS_SPACE_WATCH, { H_SELF, PH(HN), -1UL }, E_INVAL },
};

// High bits above a valid value in every argument the kernel narrows (handles, prot,
// flags, rights, cpu): each is refused with the error the whole value deserves, never
// taken as the valid low bits. Where the truncated value would succeed or fail
// differently, the case says so.
#define HI  (1UL << 32)
#define TOP (1UL << 63)
static const struct bad narrow_cases[] = {
	{ "space_delete H_SELF + 1<<32 (would delete itself)", SYS_SPACE_DELETE, { H_SELF | HI }, E_BADH },
	{ "space_delete H_SELF + 1<<63", SYS_SPACE_DELETE, { H_SELF | TOP }, E_BADH },
	{ "space_stats H_SELF + 1<<32", SYS_SPACE_STATS, { H_SELF | HI, PH(STK) - 256 }, E_BADH },
	{ "mem_size mem + 1<<63", SYS_MEM_SIZE, { PH(HM) | TOP }, E_BADH },
	{ "map mem + 1<<32", SYS_MAP, { H_SELF, FREE_VA, PH(HM4_2_32), 0, P, RW }, E_BADH },
	{ "map space H_SELF + 1<<63", SYS_MAP, { H_SELF | TOP, FREE_VA, PH(HM4), 0, P, RW }, E_BADH },
	{ "map prot RW + 1<<32", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, P, HI | RW }, E_INVAL },
	{ "map prot R + 1<<63", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, P, TOP | PROT_READ }, E_INVAL },
	{ "map prot R + bits 32-63", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, P, 0xffffffff00000001UL }, E_INVAL },
	{ "map prot R + bit 31", SYS_MAP, { H_SELF, FREE_VA, PH(HM4), 0, P, (1UL << 31) | PROT_READ }, E_INVAL },
	// The rights check still sees the low bits: R without R_WRITE is not E_RIGHTS...
	{ "map prot R + 1<<32, mem without R_WRITE", SYS_MAP, { H_SELF, FREE_VA, PH(HM_NOWR), 0, P, HI | PROT_READ }, E_INVAL },
	// ...and W without it still is, as before the narrowing.
	{ "map prot W + 1<<32, mem without R_WRITE", SYS_MAP, { H_SELF, FREE_VA, PH(HM_NOWR), 0, P, HI | PROT_WRITE }, E_RIGHTS },
	{ "unmap flags lazy + 1<<32", SYS_UNMAP, { H_SELF, V, P, HI | UNMAP_LAZY }, E_INVAL },
	{ "unmap flags 0 + 1<<63", SYS_UNMAP, { H_SELF, V, P, TOP }, E_INVAL },
	{ "unmap space H_SELF + 1<<32", SYS_UNMAP, { H_SELF | HI, V, P, 0 }, E_BADH },
	{ "protect prot RW + 1<<32", SYS_PROTECT, { H_SELF, V, P, HI | RW }, E_INVAL },
	{ "protect prot R + 1<<33", SYS_PROTECT, { H_SELF, V, P, (1UL << 33) | PROT_READ }, E_INVAL },
	{ "protect space H_SELF + 1<<32", SYS_PROTECT, { H_SELF | HI, V, P, PROT_READ }, E_BADH },
	{ "dup rights R + 1<<32", SYS_HANDLE_DUP, { PH(HM), HI | R_READ }, E_INVAL },
	{ "dup rights R_ALL + 1<<63", SYS_HANDLE_DUP, { PH(HM), TOP | R_ALL }, E_INVAL },
	{ "dup mem + 1<<32", SYS_HANDLE_DUP, { PH(HM) | HI, R_READ }, E_BADH },
	{ "close mem4 + 1<<32", SYS_HANDLE_CLOSE, { PH(HM4_2_32) }, E_BADH },
	{ "transfer mem + 1<<32", SYS_HANDLE_TRANSFER, { PH(HM) | HI, H_SELF }, E_BADH },
	{ "transfer to H_SELF + 1<<32", SYS_HANDLE_TRANSFER, { PH(HM), H_SELF | HI }, E_BADH },
	{ "vcpu space H_SELF + 1<<63", SYS_VCPU_CREATE, { H_SELF | TOP, PH(FN), PH(STK), 0, -1UL, 0 }, E_BADH },
	{ "vcpu cpu 1 + 1<<32", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, HI | 1, 0 }, E_INVAL },
	{ "vcpu cpu 0 + bits 32-63", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, 0xffffffff00000000UL, 0 }, E_INVAL },
	{ "vcpu cpu 0 + 1<<63", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, TOP, 0 }, E_INVAL },
	{ "vcpu cpu -1 + 1<<32 (not \"any\")", SYS_VCPU_CREATE, { H_SELF, PH(FN), PH(STK), 0, 0x1ffffffffUL, 0 }, E_INVAL },
	{ "cpu_tlb_ipis 0 + 1<<32", SYS_CPU_TLB_IPIS, { HI }, E_INVAL },
	{ "cpu_tlb_ipis -1", SYS_CPU_TLB_IPIS, { -1UL }, E_INVAL },
	{ "cpu_tlb_ipis -1 as 32 bits", SYS_CPU_TLB_IPIS, { 0xffffffffUL }, E_INVAL },
	{ "set_budget H_SELF + 1<<32 (not H_SELF's E_RIGHTS)", SYS_SET_BUDGET, { H_SELF | HI, 10 }, E_BADH },
	{ "kernel_stat H_SELF + 1<<32", SYS_KERNEL_STAT, { H_SELF | HI, KSTAT_HEAP_BYTES }, E_BADH },
	{ "space_watch space H_SELF + 1<<32", SYS_SPACE_WATCH, { H_SELF | HI, PH(HN), 1 }, E_BADH },
	{ "space_watch notify + 1<<32", SYS_SPACE_WATCH, { H_SELF, PH(HN_2_32), 1 }, E_BADH },
	{ "notify_signal notify + 1<<32", SYS_NOTIFY_SIGNAL, { PH(HN_2_32), 1 }, E_BADH },
	{ "notify_wait notify + 1<<32", SYS_NOTIFY_WAIT, { PH(HN_2_32) }, E_BADH },
};

// ---- The checks after each call -------------------------------------------------------

static uint64_t seed = 1;
static struct space_stats base;
static handle_t base_next;

static uint64_t pat(uint64_t s, size_t i) { return s * 0x9e3779b97f4a7c15ULL ^ (i * 0x100000001b3ULL); }

static volatile uint64_t *page_words(int p) { return (volatile uint64_t *)(TEST_VA + (uint64_t)p * PAGE); }

static void pattern_write(uint64_t s)
{
	for (int p = 0; p < PAT_PAGES; p++)
		if (p != HOLE_PAGE)
			for (size_t i = 0; i < PAGE / 8; i++)
				page_words(p)[i] = pat(s, p * PAGE / 8 + i);
}

static bool pattern_ok(uint64_t s)
{
	for (int p = 0; p < PAT_PAGES; p++)
		if (p != HOLE_PAGE)
			for (size_t i = 0; i < PAGE / 8; i++)
				if (page_words(p)[i] != pat(s, p * PAGE / 8 + i))
					return false;
	return true;
}

static handle_t next_handle(void)
{
	handle_t h = pg_handle_dup(H_SELF, R_READ);
	if (h >= 0)
		pg_handle_close(h);
	return h;
}

static void snapshot(void)
{
	base = tc_stats(H_SELF);
	base_next = next_handle();
}

// Nothing changed: the stats, the next handle, the pattern, and the pages take writes.
static void check_unchanged(const char *n, const char *what)
{
	struct space_stats st = tc_stats(H_SELF);
	if (st.mappings != base.mappings || st.frames_charged != base.frames_charged ||
	    st.vcpus != base.vcpus)
		UTEST_FAIL(n, "%s: mappings %lu frames %lu threads %lu, were %lu %lu %lu", what,
			   st.mappings, st.frames_charged, st.vcpus, base.mappings,
			   base.frames_charged, base.vcpus);
	handle_t next = next_handle();
	if (next != base_next)
		UTEST_FAIL(n, "%s: next handle %d, was %d", what, next, base_next);
	if (!pattern_ok(seed))
		UTEST_FAIL(n, "%s: test pages changed", what);
	pattern_write(++seed); // faults (reported by name) if a page lost write access
	if (!pattern_ok(seed))
		UTEST_FAIL(n, "%s: test pages do not keep what was written", what);
	if (stray_runs)
		UTEST_FAIL(n, "%s: a thread that should not exist ran", what);
}

static uint64_t subst(uint64_t v)
{
	uint64_t k = v - PH(0);
	return k < NPH ? ph[k] : v;
}

// ---- Running a table in a thread with a fault entry -------------------------------------

struct run {
	const char *name;
	const struct bad *tbl;
	size_t n;
	const char *current;
	volatile uint64_t done;
};
static struct run R;

static void run_table(uint64_t arg)
{
	(void)arg;
	snapshot(); // here: with this thread and its stack counted
	for (size_t i = 0; i < R.n; i++) {
		const struct bad *b = &R.tbl[i];
		R.current = b->what;
		uint64_t a[6];
		for (int j = 0; j < 6; j++)
			a[j] = subst(b->a[j]);
		long rc = pg_syscall6(b->nr, (long)a[0], (long)a[1], (long)a[2], (long)a[3], (long)a[4],
				      (long)a[5]);
		if (rc != b->want)
			UTEST_FAIL(R.name, "%s: got %ld (%s), want %ld", b->what, rc, pg_strerror((int)rc),
				   b->want);
		check_unchanged(R.name, b->what);
	}
	__atomic_store_n(&R.done, 1, __ATOMIC_RELEASE);
	pg_exit(0);
}

static void run_fault(uint64_t arg, uint64_t addr, uint64_t code)
{
	(void)arg;
	UTEST_FAIL(R.name, "%s: fault vector %lu at %#lx (error %#lx)", R.current ? R.current : "?",
		   code >> 32, addr, code & 0xffffffff);
	__atomic_store_n(&R.done, 1, __ATOMIC_RELEASE);
	pg_exit(0);
}

// Makes the test region and the handles (once), and the baseline.
static bool setup(const char *n)
{
	static bool ready;
	if (ready)
		return true;
	handle_t m = tc_map_new(TEST_VA, 2);
	handle_t m4 = pg_mem_create(4 * PAGE);
	if (!UCHECK(n, m > 0 && m4 > 0))
		return false;
	if (!UCHECK_EQ(n, pg_map(H_SELF, TEST_VA + 3 * PAGE, m4, 0, PAGE, RW), E_OK))
		return false;
	ph[HM] = (uint64_t)m;
	ph[HM4] = (uint64_t)m4;
	ph[HM_NOMAP] = (uint64_t)pg_handle_dup(m4, R_ALL & ~R_MAP);
	ph[HM_NOWR] = (uint64_t)pg_handle_dup(m4, R_READ | R_MAP);
	ph[HS_RO] = (uint64_t)pg_handle_dup(H_SELF, R_READ);
	ph[HS_NOEXEC] = (uint64_t)pg_handle_dup(H_SELF, R_ALL & ~R_EXEC);
	ph[HS_NODEL] = (uint64_t)pg_handle_dup(H_SELF, R_ALL & ~R_DELETE);
	ph[HM_NORD] = (uint64_t)pg_handle_dup(m4, R_ALL & ~R_READ);
	ph[HN] = (uint64_t)pg_notify_create();
	ph[HS_NORD] = (uint64_t)pg_handle_dup(H_SELF, R_ALL & ~R_READ);
	ph[HN_NOSIG] = (uint64_t)pg_handle_dup((handle_t)ph[HN], R_WAIT | R_DUP);
	handle_t c = pg_handle_dup(H_SELF, R_READ);
	UCHECK_EQ(n, pg_handle_close(c), E_OK);
	ph[HCLOSED] = (uint64_t)c; // the lowest free slot: check_unchanged's dup takes it and gives it back
	ph[HM_256] = (uint64_t)m + 256;
	ph[HM_2_32] = (uint64_t)m + (1UL << 32);
	ph[NCPU] = (uint64_t)pg_cpu_count();
	ph[HM4_2_32] = (uint64_t)m4 + (1UL << 32);
	ph[HN_2_32] = ph[HN] + (1UL << 32);
	ph[FN] = (uint64_t)(uintptr_t)stray_entry;
	static uint64_t stack[512] __attribute__((aligned(16)));
	ph[STK] = (uint64_t)(uintptr_t)&stack[512];
	for (int k = 0; k < NPH; k++)
		if (!UCHECK(n, (int64_t)ph[k] > 0))
			return false;
	pattern_write(seed);
	ready = true;
	return true;
}

static void run_cases(const char *n, const struct bad *tbl, size_t count)
{
	if (!setup(n))
		return;
	R = (struct run){ n, tbl, count, NULL, 0 };
	if (!UCHECK_EQ(n, tc_spawn(run_table, 0, 0, run_fault), E_OK))
		return;
	UCHECK(n, TC_WAIT(__atomic_load_n(&R.done, __ATOMIC_ACQUIRE), 30000));
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 10000)); // the runner is gone
}

#define CASES(fn, tbl)                                                                   \
	static void fn(const char *n) { run_cases(n, tbl, sizeof tbl / sizeof tbl[0]); }
CASES(bad_map_fails, map_cases)
CASES(bad_protect_fails, protect_cases)
CASES(bad_unmap_fails, unmap_cases)
CASES(bad_mem_fails, mem_cases)
CASES(bad_vcpu_create_fails, vcpu_cases)
CASES(bad_handle_calls_fails, handle_cases)

// The table, then: the notify_signal on a wide handle left no bits behind.
static void bad_narrow_args_fails(const char *n)
{
	run_cases(n, narrow_cases, sizeof narrow_cases / sizeof narrow_cases[0]);
	handle_t hn = (handle_t)ph[HN];
	UCHECK_EQ(n, pg_notify_signal(hn, 2), E_OK);
	UCHECK_EQ(n, pg_notify_wait(hn), 2);
}

// ---- Cases outside the table ---------------------------------------------------------

// More than the machine has: E_NOMEM at 512 MiB of RAM (the test's setting). With more
// RAM it may succeed; then closing it must give the whole charge back.
static void mem_create_too_big_fails(const char *n)
{
	if (!setup(n))
		return;
	snapshot();
	handle_t h = pg_mem_create(768 * MIB);
	if (h >= 0) {
		pg_printf("badinput: 768 MiB mem_create succeeded (more than 512 MiB of RAM?)\n");
		UCHECK_EQ(n, tc_stats(H_SELF).frames_charged, base.frames_charged + 768 * MIB / PAGE);
		UCHECK_EQ(n, pg_handle_close(h), E_OK);
	} else {
		UCHECK_EQ(n, h, E_NOMEM);
	}
	check_unchanged(n, "mem_create(768 MiB)");
	// The quota counts what is already charged: what is left of it plus a page is
	// refused (E_NOMEM whether the quota or the machine's frames say no first).
	UCHECK_EQ(n, pg_mem_create(((base.quota - base.charged) & ~(PAGE - 1)) + PAGE), E_NOMEM);
	check_unchanged(n, "mem_create(quota left + 1 page)");
}

static volatile uint64_t spin_stop, spin_running, spin_exited;

static void spinner(uint64_t arg)
{
	(void)arg;
	spin_running = 1;
	while (!spin_stop)
		__asm__ volatile("pause");
	spin_exited = 1;
	pg_exit(0);
}

// A lazily unmapped range keeps its VA busy until every CPU that may hold its
// translations has passed a quiescent point: a thread of this space spinning on cpu1
// holds it for up to a tick. Meanwhile map over it is E_BUSY (nothing changes),
// unmap and protect are E_NOENT; then the VA is free again. With one CPU the range
// may be reclaimed at once, so E_BUSY is not required there.
static void map_over_lazy_range_fails(const char *n)
{
	if (!setup(n))
		return;
	int ncpu = pg_cpu_count();
	if (ncpu > 1) {
		spin_stop = spin_running = spin_exited = 0;
		if (!UCHECK_EQ(n, tc_spawn(spinner, 0, 1, 0), E_OK))
			return;
		if (!UCHECK(n, TC_WAIT(spin_running, 10000)))
			return;
	}
	handle_t m = pg_mem_create(2 * PAGE);
	UCHECK(n, m > 0);
	snapshot();
	int busy = 0, rounds = 20;
	for (int r = 0; r < rounds; r++) {
		if (!UCHECK_EQ(n, pg_map(H_SELF, LAZY_VA, m, 0, PAGE, RW), E_OK))
			break;
		*(volatile uint64_t *)LAZY_VA = (uint64_t)r; // a translation to go stale
		if (!UCHECK_EQ(n, pg_unmap(H_SELF, LAZY_VA, PAGE, UNMAP_LAZY), E_OK))
			break;
		int rc = pg_map(H_SELF, LAZY_VA, m, 0, PAGE, RW);
		if (rc == E_BUSY) {
			busy++;
			UCHECK_EQ(n, pg_map(H_SELF, LAZY_VA - PAGE, m, 0, 2 * PAGE, RW), E_BUSY);
			UCHECK_EQ(n, pg_map(H_SELF, LAZY_VA, m, PAGE, PAGE, PROT_READ), E_BUSY);
			UCHECK_EQ(n, pg_unmap(H_SELF, LAZY_VA, PAGE, 0), E_NOENT);
			UCHECK_EQ(n, pg_unmap(H_SELF, LAZY_VA, PAGE, UNMAP_LAZY), E_NOENT);
			UCHECK_EQ(n, pg_protect(H_SELF, LAZY_VA, PAGE, PROT_READ), E_NOENT);
			check_unchanged(n, "map over a lazy range");
			// Reclaimed within a few ticks: the VA can be mapped again.
			UCHECK(n, TC_WAIT((rc = pg_map(H_SELF, LAZY_VA, m, 0, PAGE, RW)) != E_BUSY, 5000));
		}
		if (!UCHECK_EQ(n, rc, E_OK))
			break;
		UCHECK_EQ(n, *(volatile uint64_t *)LAZY_VA, (uint64_t)r); // the same memory again
		UCHECK_EQ(n, pg_unmap(H_SELF, LAZY_VA, PAGE, 0), E_OK);
		check_unchanged(n, "after a lazy round");
	}
	pg_printf("badinput: %d of %d maps right after a lazy unmap were E_BUSY\n", busy, rounds);
	if (ncpu > 1)
		UCHECK(n, busy > 0);
	UCHECK_EQ(n, pg_handle_close(m), E_OK);
	if (ncpu > 1) {
		spin_stop = 1;
		UCHECK(n, TC_WAIT(spin_exited, 10000));
	}
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 10000));
}

static const struct utest_case cases[] = {
	{ "badinput_map_fails", bad_map_fails },
	{ "badinput_protect_fails", bad_protect_fails },
	{ "badinput_unmap_fails", bad_unmap_fails },
	{ "badinput_mem_fails", bad_mem_fails },
	{ "badinput_vcpu_create_fails", bad_vcpu_create_fails },
	{ "badinput_handle_calls_fails", bad_handle_calls_fails },
	{ "badinput_narrow_args_fails", bad_narrow_args_fails },
	{ "badinput_mem_create_too_big_fails", mem_create_too_big_fails },
	{ "badinput_map_over_lazy_range_fails", map_over_lazy_range_fails },
};

int main(uint64_t arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}
