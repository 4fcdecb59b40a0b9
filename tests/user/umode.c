// umode.c: user-mode basics: the simple calls answer sensibly, an unknown call number
// gets E_NOSYS, every bad user pointer gets E_FAULT (never a kernel fault, never a
// leak of kernel memory), and CPU exceptions in a thread reach its fault entry with
// the right vector, address and error bits, on a fresh stack. Each fault probe runs
// in its own thread, spread over the CPUs; its fault entry records what it got and
// exits, and main checks the record.
#include "tcommon.h"
#include "syscall.h"

#define KERNEL_VA   0xffffffff80100000UL // kernel text: mapped, supervisor-only
#define NONCANON_VA 0x0000800000000000UL // first non-canonical address (USER_TOP)

#define VEC_DE 0
#define VEC_DB 1
#define VEC_UD 6
#define VEC_GP 13
#define VEC_PF 14

#define PF_P  (1u << 0) // the page was present (a protection fault)
#define PF_W  (1u << 1) // a write
#define PF_U  (1u << 2) // from user mode
#define PF_ID (1u << 4) // an instruction fetch

#define NOFAULT (~0ULL) // recorded when a probe ran on past the instruction meant to fault

// What the last fault entry saw. done is written last, with the probe's arg.
static volatile uint64_t f_arg, f_addr, f_code, f_sp, f_entries, f_done;

// Probes whose faulting address must be known exactly are in assembly; each label is
// the instruction meant to fault. A probe that does not fault falls into ud2, so a
// missing fault shows up as the wrong vector instead of a hang.
extern char probe_hlt[], probe_ud2[], probe_div[], probe_div_insn[], probe_noncanon[],
	probe_noncanon_insn[];
__asm__(".pushsection .text\n"
	".globl probe_hlt\n.type probe_hlt, @function\n"
	"probe_hlt:\n\thlt\n\tud2\n"
	".globl probe_ud2\n.type probe_ud2, @function\n"
	"probe_ud2:\n\tud2\n\tud2\n"
	".globl probe_div, probe_div_insn\n.type probe_div, @function\n"
	"probe_div:\n\txor %ecx, %ecx\n\txor %edx, %edx\n\tmov $1, %eax\n"
	"probe_div_insn:\n\tdiv %ecx\n\tud2\n"
	".globl probe_noncanon, probe_noncanon_insn\n.type probe_noncanon, @function\n"
	"probe_noncanon:\n\tmovabs $0x0000800000000000, %rax\n"
	"probe_noncanon_insn:\n\tmov (%rax), %rax\n\tud2\n"
	".popsection\n");

// Entry hardening probes. UMIP: each instruction that would reveal a kernel address
// (the GDT, IDT, LDT and TSS selectors, CR0's low bits) must take #GP. TF: a
// single-step trap after the instruction that follows popfq. A non-canonical rsp
// across a system call: the kernel's iretq must not care; the ud2 after it faults
// in user mode.
extern char probe_sgdt[], probe_sgdt_insn[], probe_sidt[], probe_sidt_insn[], probe_sldt[],
	probe_str[], probe_smsw[], probe_tf[], probe_tf_next[], probe_tf_after[], probe_badrsp[],
	probe_badrsp_after[];
__asm__(".pushsection .text\n"
	".globl probe_sgdt, probe_sgdt_insn\n.type probe_sgdt, @function\n"
	"probe_sgdt:\n\tsub $16, %rsp\nprobe_sgdt_insn:\n\tsgdt (%rsp)\n\tud2\n"
	".globl probe_sidt, probe_sidt_insn\n.type probe_sidt, @function\n"
	"probe_sidt:\n\tsub $16, %rsp\nprobe_sidt_insn:\n\tsidt (%rsp)\n\tud2\n"
	".globl probe_sldt\n.type probe_sldt, @function\n"
	"probe_sldt:\n\tsldt %ax\n\tud2\n"
	".globl probe_str\n.type probe_str, @function\n"
	"probe_str:\n\tstr %ax\n\tud2\n"
	".globl probe_smsw\n.type probe_smsw, @function\n"
	"probe_smsw:\n\tsmsw %ax\n\tud2\n"
	".globl probe_tf, probe_tf_next, probe_tf_after\n.type probe_tf, @function\n"
	"probe_tf:\n\tpushfq\n\torq $0x100, (%rsp)\n\tpopfq\nprobe_tf_next:\n\tnop\nprobe_tf_after:\n\tud2\n"
	".globl probe_badrsp, probe_badrsp_after\n.type probe_badrsp, @function\n"
	"probe_badrsp:\n\tmovabs $0x0000800000000000, %rsp\n\tmov $3, %eax\n\tsyscall\n"
	"probe_badrsp_after:\n\tud2\n"
	".popsection\n");
_Static_assert(SYS_CPU_ID == 3, "probe_badrsp and the top-page probe call SYS_CPU_ID by number");

// Instructions in a writable (so non-executable) data page: ud2, ud2.
static uint8_t data_code[16] __attribute__((aligned(16))) = { 0x0f, 0x0b, 0x0f, 0x0b };
static const uint64_t ro_word = 0x5a5a5a5a5a5a5a5aULL; // in .rodata: read-only

static void no_fault(uint64_t arg)
{
	f_code = NOFAULT;
	__atomic_store_n(&f_done, arg, __ATOMIC_RELEASE);
	pg_exit(0);
}

static void on_fault(uint64_t arg, uint64_t addr, uint64_t code)
{
	volatile uint64_t here = 0;
	f_entries++;
	f_arg = arg, f_addr = addr, f_code = code, f_sp = (uint64_t)&here;
	__atomic_store_n(&f_done, arg, __ATOMIC_RELEASE);
	pg_exit(0);
}

static void probe_read_kernel(uint64_t arg) { (void)*(volatile uint64_t *)KERNEL_VA; no_fault(arg); }
static void probe_read_null(uint64_t arg) { (void)*(volatile uint64_t *)0; no_fault(arg); }
static void probe_write_code(uint64_t arg) { *(volatile uint8_t *)probe_ud2 = 0x90; no_fault(arg); }
static void probe_write_rodata(uint64_t arg) { *(volatile uint64_t *)&ro_word = 1; no_fault(arg); }
static void probe_exec_data(uint64_t arg) { ((void (*)(void))(uintptr_t)data_code)(); no_fault(arg); }
static void probe_exec_kernel(uint64_t arg) { ((void (*)(void))KERNEL_VA)(); no_fault(arg); }

// Uses ~8 KiB of its 16 KiB stack, then faults: the fault entry must get a fresh stack.
static void probe_deep(uint64_t arg)
{
	volatile uint8_t buf[8192];
	for (size_t i = 0; i < sizeof buf; i += 64)
		buf[i] = (uint8_t)i;
	__asm__ volatile("ud2" ::"r"(buf) : "memory");
	no_fault(arg);
}

// A fault entry that faults itself the first time: it must be entered again.
static void on_fault_twice(uint64_t arg, uint64_t addr, uint64_t code)
{
	if (f_entries++ == 0)
		__asm__ volatile("ud2");
	f_arg = arg, f_addr = addr, f_code = code;
	__atomic_store_n(&f_done, arg, __ATOMIC_RELEASE);
	pg_exit(0);
}

static uint64_t next_id = 100;
static int next_cpu;

// Runs fn in a new thread (on the next CPU in turn) and waits for its fault entry.
// Returns false (after recording a failure) if it never reported.
static bool run_probe(const char *n, void (*fn)(uint64_t), void (*fault)(uint64_t, uint64_t, uint64_t),
		      uint64_t *stack_top)
{
	uint64_t id = next_id++;
	int ncpu = pg_cpu_count();
	int cpu = ncpu > 0 ? next_cpu++ % ncpu : 0;
	f_arg = f_addr = f_code = f_sp = f_entries = 0;
	*stack_top = STACK_VA + (uint64_t)tc_stacks * 16 * PAGE + STACK_SZ; // tc_spawn's next
	if (!UCHECK_EQ(n, tc_spawn(fn, id, cpu, fault), E_OK))
		return false;
	if (!UCHECK(n, TC_WAIT(__atomic_load_n(&f_done, __ATOMIC_ACQUIRE) == id, 10000)))
		return false;
	UCHECK_EQ(n, f_arg, id);
	return true;
}

// One probe: it must fault with vector vec at addr, with err's bits in `set` set and
// those in `clear` clear.
static void expect_fault(const char *n, void (*fn)(uint64_t), uint64_t vec, uint64_t addr,
			 uint32_t set, uint32_t clear)
{
	uint64_t top;
	if (!run_probe(n, fn, on_fault, &top))
		return;
	if (f_code == NOFAULT) {
		UTEST_FAIL(n, "no fault: the probe ran on");
		return;
	}
	UCHECK_EQ(n, f_code >> 32, vec);
	UCHECK_EQ(n, f_addr, addr);
	uint32_t err = (uint32_t)f_code;
	UCHECK_EQ(n, err & set, set);
	UCHECK_EQ(n, err & clear, 0);
	UCHECK_EQ(n, f_entries, 1);
	UCHECK(n, f_sp < top && f_sp > top - 1024); // the fault entry runs near the stack top
}

// ---- Simple calls ---------------------------------------------------------------

static void syscalls_basic(const char *n)
{
	UCHECK_EQ(n, pg_cpu_id(), 0); // main starts on cpu0
	int ncpu = pg_cpu_count();
	UCHECK(n, ncpu >= 1 && ncpu <= 64);
	UCHECK_EQ(n, pg_yield(), E_OK);
	UCHECK_EQ(n, pg_cpu_id(), 0); // and stays there
	UCHECK(n, pg_cpu_tlb_ipis(0) >= 0);
	UCHECK_EQ(n, pg_cpu_tlb_ipis(ncpu), E_INVAL); // CPUs are 0..ncpu-1
	UCHECK_EQ(n, pg_cpu_tlb_ipis(-1), E_INVAL);
	const char msg[] = "umode: hello from user mode\n";
	UCHECK_EQ(n, pg_debug_write(msg, sizeof msg - 1), E_OK);
	UCHECK_EQ(n, pg_debug_write(msg, 0), E_OK);

	uint64_t t0 = pg_clock_ns(), t1 = t0;
	for (int i = 0; i < 1000000 && t1 == t0; i++)
		t1 = pg_clock_ns();
	UCHECK(n, t1 > t0);
	UCHECK(n, t1 - t0 < 1000000000ULL); // consecutive reads: well under a second apart
	pg_yield();
	UCHECK(n, pg_clock_ns() >= t1);
	UCHECK(n, t0 > 0);
}

static volatile uint64_t seen_cpu[64], seen_clock[64], seen_done[64];

static void report_cpu(uint64_t cpu)
{
	seen_cpu[cpu] = (uint64_t)pg_cpu_id();
	seen_clock[cpu] = pg_clock_ns();
	__atomic_store_n(&seen_done[cpu], 1, __ATOMIC_RELEASE);
	pg_exit(0);
}

// A thread started on each CPU runs there, and sees a clock between main's readings
// before it started and after it reported.
static void syscalls_per_cpu(const char *n)
{
	int ncpu = pg_cpu_count();
	if (ncpu > 64)
		ncpu = 64;
	for (int c = 0; c < ncpu; c++) {
		uint64_t before = pg_clock_ns();
		if (!UCHECK_EQ(n, tc_spawn(report_cpu, (uint64_t)c, c, 0), E_OK))
			return;
		if (!UCHECK(n, TC_WAIT(__atomic_load_n(&seen_done[c], __ATOMIC_ACQUIRE), 10000)))
			return;
		uint64_t after = pg_clock_ns();
		UCHECK_EQ(n, seen_cpu[c], c);
		UCHECK(n, seen_clock[c] >= before && seen_clock[c] <= after);
	}
	UCHECK_EQ(n, pg_cpu_id(), 0);
}

static void unknown_syscall_fails(const char *n)
{
	UCHECK_EQ(n, pg_syscall0(SYS_COUNT), E_NOSYS);
	UCHECK_EQ(n, pg_syscall0(SYS_COUNT + 1), E_NOSYS);
	UCHECK_EQ(n, pg_syscall0(999), E_NOSYS);
	UCHECK_EQ(n, pg_syscall0(-1), E_NOSYS);
	UCHECK_EQ(n, pg_syscall0(1L << 32), E_NOSYS); // not SYS_DEBUG_WRITE truncated
	UCHECK_EQ(n, pg_syscall6(1000, 1, 2, 3, 4, 5, 6), E_NOSYS);
	UCHECK_EQ(n, pg_cpu_id(), 0); // and the next call still works
}

// ---- Bad user pointers ------------------------------------------------------------

// A mapped page at TEST_VA followed by an unmapped one; a read-only page after that.
#define EDGE_VA TEST_VA
#define RO_VA   (TEST_VA + 2 * PAGE)

static void setup_edges(const char *n)
{
	static bool done;
	if (done)
		return;
	done = true;
	handle_t m = tc_map_new(EDGE_VA, 1);
	UCHECK(n, m >= 0);
	pg_handle_close(m);
	m = pg_mem_create(PAGE);
	UCHECK(n, m >= 0);
	UCHECK_EQ(n, pg_map(H_SELF, RO_VA, m, 0, PAGE, PROT_READ), E_OK);
	pg_handle_close(m);
}

static const struct {
	uint64_t p, len;
} bad_reads[] = {
	{ 0, 1 },                             // NULL
	{ 8, 8 },                             // the zero page
	{ TEST_VA + PAGE, 1 },                // unmapped
	{ TEST_VA + PAGE - 4, 8 },            // runs off a mapped page into an unmapped one
	{ KERNEL_VA, 16 },                    // kernel text, mapped but supervisor-only
	{ 0xffff800000000000UL, 16 },         // start of the kernel half
	{ NONCANON_VA, 1 },                   // non-canonical
	{ 0x00ff000000000000UL, 1 },          // non-canonical
	{ USER_TOP - 8, 16 },                 // crosses the top of the user half
	{ 0xfffffffffffffff0UL, 32 },         // wraps
};

static void debug_write_bad_pointer_fails(const char *n)
{
	setup_edges(n);
	for (size_t i = 0; i < sizeof bad_reads / sizeof bad_reads[0]; i++) {
		int rc = (int)pg_syscall2(SYS_DEBUG_WRITE, (long)bad_reads[i].p, (long)bad_reads[i].len);
		if (rc != E_FAULT)
			UTEST_FAIL(n, "debug_write(%#lx, %lu) = %d, want E_FAULT", bad_reads[i].p,
				   bad_reads[i].len, rc);
	}
	// The good neighbours of those ranges still work.
	UCHECK_EQ(n, pg_debug_write((const char *)(TEST_VA + PAGE - 4), 4), E_OK);
	UCHECK_EQ(n, pg_debug_write((const char *)RO_VA, 16), E_OK); // zeros: prints nothing
}

static void debug_write_too_long_fails(const char *n)
{
	static char zeros[2048]; // all NUL: a successful write prints nothing
	UCHECK_EQ(n, pg_debug_write(zeros, 1024), E_OK);
	UCHECK_EQ(n, pg_debug_write(zeros, 1025), E_INVAL);
	UCHECK_EQ(n, pg_debug_write(zeros, 2048), E_INVAL);
	UCHECK_EQ(n, pg_syscall2(SYS_DEBUG_WRITE, (long)zeros, 1L << 32), E_INVAL); // not 0 truncated
	UCHECK_EQ(n, pg_syscall2(SYS_DEBUG_WRITE, (long)zeros, -1), E_INVAL);
}

static void space_stats_bad_pointer_fails(const char *n)
{
	setup_edges(n);
	struct space_stats st;
	static const struct space_stats ro_stats = { .ipis_sent = 0x1234, .vcpus = 0x5678 };
	const uint64_t bad[] = {
		0,
		TEST_VA + PAGE,                          // unmapped
		TEST_VA + PAGE - 8,                      // runs off the mapped page
		RO_VA,                                   // a read-only mapping
		(uint64_t)(uintptr_t)&ro_stats,          // .rodata
		(uint64_t)(uintptr_t)probe_ud2,          // .text
		KERNEL_VA,
		0xffff800000000000UL,
		NONCANON_VA,
		USER_TOP - 16,                           // crosses the top of the user half
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int rc = (int)pg_syscall2(SYS_SPACE_STATS, H_SELF, (long)bad[i]);
		if (rc != E_FAULT)
			UTEST_FAIL(n, "space_stats(H_SELF, %#lx) = %d, want E_FAULT", bad[i], rc);
	}
	UCHECK_EQ(n, *(volatile uint64_t *)&ro_stats.ipis_sent, 0x1234); // untouched
	UCHECK_EQ(n, *(volatile uint64_t *)&ro_stats.vcpus, 0x5678);
	UCHECK_EQ(n, *(volatile uint64_t *)RO_VA, 0);
	UCHECK_EQ(n, pg_space_stats(H_SELF, &st), E_OK); // and a good pointer works
	UCHECK(n, st.vcpus >= 1 && st.mappings > 0);
	UCHECK_EQ(n, pg_space_stats(H_SELF, (struct space_stats *)(TEST_VA + PAGE - sizeof st)), E_OK);
}

// ---- Faults delivered to the fault entry --------------------------------------------

static void fault_read_kernel(const char *n)
{
	expect_fault(n, probe_read_kernel, VEC_PF, KERNEL_VA, PF_U, PF_W | PF_ID);
}

static void fault_read_null(const char *n)
{
	expect_fault(n, probe_read_null, VEC_PF, 0, PF_U, PF_P | PF_W | PF_ID);
}

static void fault_hlt_gp(const char *n)
{
	expect_fault(n, (void (*)(uint64_t))(uintptr_t)probe_hlt, VEC_GP, (uintptr_t)probe_hlt, 0, ~0u);
}

static void fault_ud2_ud(const char *n)
{
	expect_fault(n, (void (*)(uint64_t))(uintptr_t)probe_ud2, VEC_UD, (uintptr_t)probe_ud2, 0, ~0u);
}

static void fault_divide_de(const char *n)
{
	expect_fault(n, (void (*)(uint64_t))(uintptr_t)probe_div, VEC_DE, (uintptr_t)probe_div_insn, 0, ~0u);
}

static void fault_noncanonical_gp(const char *n)
{
	expect_fault(n, (void (*)(uint64_t))(uintptr_t)probe_noncanon, VEC_GP,
		     (uintptr_t)probe_noncanon_insn, 0, ~0u);
}

static void fault_write_code(const char *n)
{
	expect_fault(n, probe_write_code, VEC_PF, (uintptr_t)probe_ud2, PF_P | PF_W | PF_U, PF_ID);
}

static void fault_write_rodata(const char *n)
{
	expect_fault(n, probe_write_rodata, VEC_PF, (uintptr_t)&ro_word, PF_P | PF_W | PF_U, PF_ID);
}

static void fault_exec_data_nx(const char *n)
{
	expect_fault(n, probe_exec_data, VEC_PF, (uintptr_t)data_code, PF_P | PF_U | PF_ID, PF_W);
}

static void fault_exec_kernel(const char *n)
{
	expect_fault(n, probe_exec_kernel, VEC_PF, KERNEL_VA, PF_U | PF_ID, PF_W);
}

static void fault_entry_gets_fresh_stack(const char *n)
{
	uint64_t top;
	if (!run_probe(n, probe_deep, on_fault, &top))
		return;
	UCHECK_EQ(n, f_code >> 32, VEC_UD);
	UCHECK(n, f_sp < top && f_sp > top - 1024);
}

static void fault_in_fault_entry_reenters(const char *n)
{
	uint64_t top;
	if (!run_probe(n, (void (*)(uint64_t))(uintptr_t)probe_ud2, on_fault_twice, &top))
		return;
	UCHECK_EQ(n, f_entries, 2);
	UCHECK_EQ(n, f_code >> 32, VEC_UD);
	UCHECK(n, f_addr != (uintptr_t)probe_ud2); // the second fault was in on_fault_twice
}

// ---- Entry and exit: flags, UMIP, the top of user space ------------------------

#define FL_CF   (1ULL << 0)
#define FL_PF   (1ULL << 2)
#define FL_AF   (1ULL << 4)
#define FL_ZF   (1ULL << 6)
#define FL_SF   (1ULL << 7)
#define FL_IF   (1ULL << 9)
#define FL_DF   (1ULL << 10)
#define FL_OF   (1ULL << 11)
#define FL_IOPL (3ULL << 12)
#define FL_NT   (1ULL << 14)
#define FL_RF   (1ULL << 16)
#define FL_AC   (1ULL << 18)
#define FL_ID   (1ULL << 21)

// Sets RFLAGS to IF | bits, makes one system call (cpu_id) and reads RFLAGS right
// after it; RFLAGS as it was comes back before any C code runs.
static uint64_t flags_around_syscall(uint64_t bits, long *ret)
{
	uint64_t after;
	long r;
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\t" // past the red zone: the pushes must not overwrite it
			 "pushfq\n\tpushq %[flags]\n\tpopfq\n\t"
			 "syscall\n\t"
			 "pushfq\n\tpopq %[after]\n\tpopfq\n\tlea 128(%%rsp), %%rsp"
			 : [after] "=r"(after), "=a"(r)
			 : [flags] "r"(bits | FL_IF | 2), "a"((long)SYS_CPU_ID)
			 : "rcx", "r11", "memory", "cc");
	*ret = r;
	return after;
}

// The same around iters turns of a loop that touches no memory: interrupts and
// preemptions land in it.
static uint64_t flags_across_spin(uint64_t bits, uint64_t iters)
{
	uint64_t after;
	__asm__ volatile("lea -128(%%rsp), %%rsp\n\t" // past the red zone
			 "pushfq\n\tpushfq\n\torq %[bits], (%%rsp)\n\tpopfq\n"
			 "1:\tdec %%rcx\n\tjnz 1b\n\t"
			 "pushfq\n\tpopq %[after]\n\tpopfq\n\tlea 128(%%rsp), %%rsp"
			 : [after] "=r"(after), "+c"(iters)
			 : [bits] "r"(bits)
			 : "memory", "cc");
	return after;
}

// Every flag user code can set, alone and all at once, around a system call: the call
// works and returns; the user flags come back as they were; NT is dropped (with NT
// the kernel's own iretq would fault: three instructions used to hang the machine);
// IF is on and IOPL 0 whatever user space tried.
static void rflags_around_syscalls(const char *n)
{
	static const uint64_t bits[] = { FL_CF, FL_PF, FL_AF, FL_ZF, FL_SF, FL_DF, FL_OF, FL_NT, FL_AC, FL_ID,
					 FL_IOPL, FL_RF,
					 FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_DF | FL_OF | FL_NT | FL_AC | FL_ID |
						 FL_IOPL | FL_RF };
	const uint64_t user = FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_DF | FL_OF | FL_AC | FL_ID;
	long cpu = pg_cpu_id();
	for (unsigned i = 0; i < sizeof bits / sizeof bits[0]; i++) {
		for (int round = 0; round < 50; round++) {
			long ret = -1;
			uint64_t after = flags_around_syscall(bits[i], &ret);
			if (!UCHECK_EQ(n, ret, cpu) || !UCHECK_EQ(n, after & FL_IF, FL_IF) ||
			    !UCHECK_EQ(n, after & (FL_IOPL | FL_NT), 0) ||
			    !UCHECK_EQ(n, after & user, bits[i] & user))
				return;
		}
	}
}

// User flags survive timer interrupts and preemption by another vcpu on the same CPU
// (the context comes back through a PREEMPTED upcall and pg_context_resume), and none
// leaks from one vcpu to the other: the spinner runs with clean flags meanwhile.
static void rflags_across_preemption(const char *n)
{
	const uint64_t bits = FL_DF | FL_AC | FL_ID;
	if (!UCHECK(n, tc_spin_start(pg_cpu_id())))
		return;
	uint64_t t0 = pg_clock_ns(), chunks = 0;
	while (pg_clock_ns() - t0 < 100 * 1000000ULL) { // 10 ticks; several slices
		uint64_t after = flags_across_spin(bits, 200000);
		chunks++;
		if (!UCHECK_EQ(n, after & (bits | FL_IF | FL_NT | FL_IOPL), bits | FL_IF))
			break;
	}
	UCHECK(n, tc_spin_stop_all(1));
	UCHECK(n, chunks > 0);
}

static void single_step(const char *n)
{
	uint64_t top;
	if (!run_probe(n, (void (*)(uint64_t))(uintptr_t)probe_tf, on_fault, &top))
		return;
	UCHECK_EQ(n, f_code >> 32, VEC_DB);
	// The trap comes after one instruction once TF is set (after the popfq or the nop).
	UCHECK(n, f_addr == (uintptr_t)probe_tf_next || f_addr == (uintptr_t)probe_tf_after);
}

static void umip_hides_descriptor_tables(const char *n)
{
	struct { const char *insn; void *probe; uintptr_t at; } p[] = {
		{ "sgdt", probe_sgdt, (uintptr_t)probe_sgdt_insn },
		{ "sidt", probe_sidt, (uintptr_t)probe_sidt_insn },
		{ "sldt", probe_sldt, (uintptr_t)probe_sldt },
		{ "str", probe_str, (uintptr_t)probe_str },
		{ "smsw", probe_smsw, (uintptr_t)probe_smsw },
	};
	for (unsigned i = 0; i < sizeof p / sizeof p[0]; i++) {
		uint64_t top;
		if (!run_probe(n, (void (*)(uint64_t))(uintptr_t)p[i].probe, on_fault, &top))
			return;
		if (f_code >> 32 != VEC_GP || f_addr != p[i].at)
			UTEST_FAIL(n, "%s in user mode: vector %lu at %#lx, want #GP at %#lx", p[i].insn,
				   f_code >> 32, f_addr, p[i].at);
	}
}

// Every register across a system call (cpu_id), with RFLAGS = IF | flags: out[i] =
// register i after it (rax, rbx, rcx, rdx, rsi, rdi, rbp, r8 .. r15: 0 .. 14), out[16] = RFLAGS
// just before it; each register but rax held REG_PATTERN(i) going in.
extern void regs_probe(uint64_t *out, uint64_t flags);
extern char regs_probe_ret[];
#define REG_PATTERN(i) (0x0101010101010101ULL * (uint64_t)(i) ^ 0x8000000000000000ULL)
#define REG_LOAD(i, reg) "\tmovabs $" #i " * 0x0101010101010101 ^ 0x8000000000000000, %" reg "\n"
__asm__(".pushsection .text\n"
	".globl regs_probe, regs_probe_ret\n.type regs_probe, @function\n"
	"regs_probe:\n\tpushfq\n\tpush %rbx\n\tpush %rbp\n\tpush %r12\n\tpush %r13\n\tpush %r14\n\tpush %r15\n"
	"\tpush %rdi\n\tpush %rsi\n\tpopfq\n\tpushfq\n\tpopq 128(%rdi)\n"
	REG_LOAD(1, "rbx") REG_LOAD(2, "rcx") REG_LOAD(3, "rdx") REG_LOAD(4, "rsi") REG_LOAD(5, "rdi")
	REG_LOAD(6, "rbp") REG_LOAD(7, "r8") REG_LOAD(8, "r9") REG_LOAD(9, "r10") REG_LOAD(10, "r11")
	REG_LOAD(11, "r12") REG_LOAD(12, "r13") REG_LOAD(13, "r14") REG_LOAD(14, "r15")
	"\tmov $3, %eax\n\tsyscall\nregs_probe_ret:\n"
	"\txchg %rdi, (%rsp)\n\tmov %rax, 0(%rdi)\n\tmov %rbx, 8(%rdi)\n\tmov %rcx, 16(%rdi)\n"
	"\tmov %rdx, 24(%rdi)\n\tmov %rsi, 32(%rdi)\n\tpopq 40(%rdi)\n\tmov %rbp, 48(%rdi)\n"
	"\tmov %r8, 56(%rdi)\n\tmov %r9, 64(%rdi)\n\tmov %r10, 72(%rdi)\n\tmov %r11, 80(%rdi)\n"
	"\tmov %r12, 88(%rdi)\n\tmov %r13, 96(%rdi)\n\tmov %r14, 104(%rdi)\n\tmov %r15, 112(%rdi)\n"
	"\tpop %r15\n\tpop %r14\n\tpop %r13\n\tpop %r12\n\tpop %rbp\n\tpop %rbx\n\tpopfq\n\tret\n"
	".popsection\n");

// A call returns every register as it was but rax, and rcx and r11 hold what the
// `syscall` instruction put there: the return address and RFLAGS before the call
// (docs/abi.md). Both ways out of the kernel: sysretq for the plain return, iretq when
// the kernel dropped a flag (NT: r11 keeps it, RFLAGS after the call does not).
static void registers_across_syscall(const char *n)
{
	static const uint64_t flags[] = { 0, FL_CF | FL_DF | FL_AC, FL_NT, FL_NT | FL_OF };
	long cpu = pg_cpu_id();
	for (unsigned f = 0; f < sizeof flags / sizeof flags[0]; f++) {
		uint64_t out[17];
		regs_probe(out, flags[f] | FL_IF | 2);
		UCHECK_EQ(n, (long)out[0], cpu);
		UCHECK_EQ(n, out[16] & ~(FL_RF | FL_IOPL), flags[f] | FL_IF | 2);
		for (unsigned i = 1; i < 15; i++) {
			uint64_t want = i == 2 ? (uint64_t)(uintptr_t)regs_probe_ret : i == 10 ? out[16] : REG_PATTERN(i);
			if (out[i] != want)
				UTEST_FAIL(n, "flags %#lx: register %u is %#lx after the call, want %#lx", flags[f], i,
					   out[i], want);
		}
	}
}

static void noncanonical_rsp_across_syscall(const char *n)
{
	expect_fault(n, (void (*)(uint64_t))(uintptr_t)probe_badrsp, VEC_UD, (uintptr_t)probe_badrsp_after, 0,
		     ~0u);
}

// The page below USER_TOP is user space, the one above it is not, and a system call
// in the very last bytes returns to USER_TOP: canonical, so the fetch there faults in
// user mode (a return to 0x800000000000 would fault in ring 0 on real CPUs).
#define TOP_PAGE (USER_TOP - PAGE)
static void probe_top(uint64_t arg)
{
	((void (*)(void))(USER_TOP - 7))(); // mov $SYS_CPU_ID, %eax; syscall
	no_fault(arg);
}

static void top_of_user_space(const char *n)
{
	handle_t m = pg_mem_create(PAGE);
	if (!UCHECK(n, m >= 0))
		return;
	UCHECK_EQ(n, pg_map(H_SELF, USER_TOP, m, 0, PAGE, PROT_READ), E_RANGE);
	UCHECK_EQ(n, pg_map(H_SELF, 0x7ffffffff000UL, m, 0, PAGE, PROT_READ), E_RANGE);
	if (!UCHECK_EQ(n, pg_map(H_SELF, TOP_PAGE, m, 0, PAGE, PROT_READ | PROT_WRITE), E_OK))
		goto out;
	static const uint8_t code[7] = { 0xb8, 0x03, 0x00, 0x00, 0x00, 0x0f, 0x05 };
	memcpy((void *)(USER_TOP - sizeof code), code, sizeof code);
	if (UCHECK_EQ(n, pg_protect(H_SELF, TOP_PAGE, PAGE, PROT_READ | PROT_EXEC), E_OK))
		expect_fault(n, probe_top, VEC_PF, USER_TOP, PF_U | PF_ID, PF_P | PF_W);
	UCHECK_EQ(n, pg_unmap(H_SELF, TOP_PAGE, PAGE, 0), E_OK);
out:
	pg_handle_close(m);
}

// A kernel copy into a page whose rights were just raised. The raise sends no IPI, so
// the reader's CPU may still hold the read-only entry its kernel made when it read the
// page (debug_write); on hardware the copy's write may then fault once on it, and the
// copy must retry rather than fail with E_FAULT. (TCG re-walks the tables on a
// permission miss, so here the retry path is only exercised, not forced.)
#define RAISE_VA (TEST_VA + 64 * PAGE)
static volatile uint64_t raise_phase;
static volatile long raise_rc;
static void raise_reader(uint64_t arg)
{
	(void)arg;
	UCHECK_EQ("umode_user_copy_after_raise", pg_debug_write((const char *)RAISE_VA, 1), E_OK);
	raise_phase = 1;
	while (raise_phase != 2)
		(void)*(volatile uint64_t *)RAISE_VA;
	raise_rc = pg_space_stats(H_SELF, (struct space_stats *)RAISE_VA);
	raise_phase = 3;
	pg_exit(0);
}

static void user_copy_after_raise(const char *n)
{
	handle_t m = tc_map_new(RAISE_VA, 1);
	if (!UCHECK(n, m > 0))
		return;
	int ncpu = pg_cpu_count();
	raise_phase = 0;
	if (UCHECK_EQ(n, pg_protect(H_SELF, RAISE_VA, PAGE, PROT_READ), E_OK) &&
	    UCHECK_EQ(n, tc_spawn(raise_reader, 0, ncpu > 1 ? 1 : 0, 0), E_OK) &&
	    UCHECK(n, TC_WAIT(raise_phase == 1, 10000))) {
		UCHECK_EQ(n, pg_protect(H_SELF, RAISE_VA, PAGE, PROT_READ | PROT_WRITE), E_OK);
		raise_phase = 2;
		if (UCHECK(n, TC_WAIT(raise_phase == 3, 10000))) {
			UCHECK_EQ(n, raise_rc, E_OK);
			UCHECK(n, ((volatile struct space_stats *)RAISE_VA)->vcpus >= 2);
		}
	}
	UCHECK_EQ(n, pg_unmap(H_SELF, RAISE_VA, PAGE, 0), E_OK);
	pg_handle_close(m);
}

// Every probe thread has gone, none was killed, and main still runs alone.
static void faults_leave_one_thread(const char *n)
{
	UCHECK(n, TC_WAIT(tc_stats(H_SELF).vcpus == 1, 10000));
	UCHECK_EQ(n, pg_cpu_id(), 0);
}

static const struct utest_case cases[] = {
	{ "umode_syscalls_basic", syscalls_basic },
	{ "umode_syscalls_per_cpu", syscalls_per_cpu },
	{ "umode_unknown_syscall_fails", unknown_syscall_fails },
	{ "umode_debug_write_bad_pointer_fails", debug_write_bad_pointer_fails },
	{ "umode_debug_write_too_long_fails", debug_write_too_long_fails },
	{ "umode_space_stats_bad_pointer_fails", space_stats_bad_pointer_fails },
	{ "umode_fault_read_kernel", fault_read_kernel },
	{ "umode_fault_read_null", fault_read_null },
	{ "umode_fault_hlt_gp", fault_hlt_gp },
	{ "umode_fault_ud2_ud", fault_ud2_ud },
	{ "umode_fault_divide_de", fault_divide_de },
	{ "umode_fault_noncanonical_gp", fault_noncanonical_gp },
	{ "umode_fault_write_code", fault_write_code },
	{ "umode_fault_write_rodata", fault_write_rodata },
	{ "umode_fault_exec_data_nx", fault_exec_data_nx },
	{ "umode_fault_exec_kernel", fault_exec_kernel },
	{ "umode_fault_entry_gets_fresh_stack", fault_entry_gets_fresh_stack },
	{ "umode_fault_in_fault_entry_reenters", fault_in_fault_entry_reenters },
	{ "umode_rflags_around_syscalls", rflags_around_syscalls },
	{ "umode_rflags_across_preemption", rflags_across_preemption },
	{ "umode_single_step_traps_to_fault_entry", single_step },
	{ "umode_umip_hides_descriptor_tables", umip_hides_descriptor_tables },
	{ "umode_registers_across_syscall", registers_across_syscall },
	{ "umode_noncanonical_rsp_across_syscall", noncanonical_rsp_across_syscall },
	{ "umode_top_of_user_space", top_of_user_space },
	{ "umode_user_copy_after_raise", user_copy_after_raise },
	{ "umode_faults_leave_one_thread", faults_leave_one_thread },
};

int main(uint64_t arg)
{
	(void)arg;
	return UTEST_RUN(cases);
}
