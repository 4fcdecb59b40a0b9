// watch.c: space_watch, the kernel's notice that a space has no vcpu left (what
// pg_wait blocks on), and space_stats' exit_status. The watched child runs a few bytes
// of hand-assembled code from a page mapped into it: spin until a shared flag is set,
// then stop with status 7.
#include "tcommon.h"

#define CODE_VA  0x400000UL
#define FLAG_VA  0x500000UL             // in the child; FLAG_HERE in this space
#define FLAG_HERE (TEST_VA + 64 * PAGE)
#define STACK_TOP 0x600000UL             // PG_UPCALL_STACK_SIZE below it, mapped
#define CHILD_STATUS 7

// movabs $FLAG_VA, %rax; 1: cmpq $0, (%rax); je 1b; mov $SYS_VCPU_STOP, %eax;
// mov $CHILD_STATUS, %edi; syscall; ud2. A preemption upcall re-enters at the top.
static const uint8_t child_code[] = {
	0x48, 0xb8, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x48, 0x83, 0x38, 0x00,
	0x74, 0xfa,
	0xb8, SYS_VCPU_STOP, 0x00, 0x00, 0x00,
	0xbf, CHILD_STATUS, 0x00, 0x00, 0x00,
	0x0f, 0x05,
	0x0f, 0x0b,
};

static volatile uint64_t *flag = (volatile uint64_t *)FLAG_HERE;

// A child running child_code on its own vcpu, which spins until *flag is set.
static handle_t spinning_child(const char *n)
{
	handle_t c = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET), code = pg_mem_create(PAGE), stk = pg_mem_create(PG_UPCALL_STACK_SIZE);
	handle_t f = pg_mem_create(PAGE);
	if (!UCHECK(n, c > 0 && code > 0 && stk > 0 && f > 0))
		return -1;
	bool ok = UCHECK_EQ(n, pg_map(H_SELF, FLAG_HERE, f, 0, PAGE, PROT_READ | PROT_WRITE), E_OK) &&
		  UCHECK_EQ(n, pg_map(c, FLAG_VA, f, 0, PAGE, PROT_READ), E_OK) &&
		  UCHECK_EQ(n, pg_map(H_SELF, TEST_VA, code, 0, PAGE, PROT_READ | PROT_WRITE), E_OK);
	if (ok) {
		*flag = 0; // a fresh mem is zeroed; this says what the child waits for
		memcpy((void *)TEST_VA, child_code, sizeof child_code);
		ok = UCHECK_EQ(n, pg_unmap(H_SELF, TEST_VA, PAGE, 0), E_OK) &&
		     UCHECK_EQ(n, pg_map(c, CODE_VA, code, 0, PAGE, PROT_READ | PROT_EXEC), E_OK) &&
		     UCHECK_EQ(n, pg_map(c, STACK_TOP - PG_UPCALL_STACK_SIZE, stk, 0, PG_UPCALL_STACK_SIZE,
					 PROT_READ | PROT_WRITE), E_OK) &&
		     UCHECK_EQ(n, pg_vcpu_create(c, CODE_VA, STACK_TOP, 0, -1), E_OK);
	}
	pg_handle_close(code), pg_handle_close(stk), pg_handle_close(f);
	return ok ? c : -1;
}

static void end_child(handle_t c)
{
	pg_unmap(H_SELF, FLAG_HERE, PAGE, 0);
	if (c > 0) {
		pg_space_delete(c);
		pg_handle_close(c);
	}
}

static void watch_fires_at_once_without_vcpus(const char *n)
{
	handle_t c = pg_space_create(TC_CHILD_QUOTA, TC_CHILD_BUDGET), nt = pg_notify_create();
	UCHECK_EQ(n, pg_space_watch(c, nt, 4), E_OK);
	UCHECK_EQ(n, pg_notify_wait(nt), 4); // pending already: no block
	pg_handle_close(nt);
	pg_space_delete(c);
	pg_handle_close(c);
}

// Not before the last vcpu stops, then once, with its exit status in space_stats.
static void watch_fires_when_the_last_vcpu_stops(const char *n)
{
	handle_t c = spinning_child(n), nt = pg_notify_create();
	if (c < 0)
		return end_child(c);
	UCHECK_EQ(n, pg_space_watch(c, nt, 2), E_OK);
	pg_vcpu_timer(30 * 1000000);
	UCHECK_EQ(n, pg_notify_wait(nt), E_TIMEOUT); // still spinning: nothing yet
	UCHECK_EQ(n, tc_stats(c).vcpus, 1);
	*flag = 1;
	UCHECK_EQ(n, pg_notify_wait(nt), 2);
	struct space_stats st = tc_stats(c);
	UCHECK_EQ(n, st.vcpus, 0);
	UCHECK_EQ(n, st.exit_status, CHILD_STATUS);
	UCHECK_EQ(n, st.faults, 0);
	pg_vcpu_timer(10 * 1000000);
	UCHECK_EQ(n, pg_notify_wait(nt), E_TIMEOUT); // once: the watch is gone
	pg_handle_close(nt);
	end_child(c);
}

static void a_later_watch_replaces_an_earlier(const char *n)
{
	handle_t c = spinning_child(n), n1 = pg_notify_create(), n2 = pg_notify_create();
	if (c < 0)
		return end_child(c);
	UCHECK_EQ(n, pg_space_watch(c, n1, 1), E_OK);
	UCHECK_EQ(n, pg_space_watch(c, n2, 8), E_OK);
	*flag = 1;
	UCHECK_EQ(n, pg_notify_wait(n2), 8);
	pg_vcpu_timer(10 * 1000000);
	UCHECK_EQ(n, pg_notify_wait(n1), E_TIMEOUT);
	pg_handle_close(n1), pg_handle_close(n2);
	end_child(c);
}

// Deleting a watched space stops its vcpus: the watch fires (status 0: none exited).
static void deleting_a_watched_space_fires_it(const char *n)
{
	handle_t c = spinning_child(n), nt = pg_notify_create();
	if (c < 0)
		return end_child(c);
	UCHECK_EQ(n, pg_space_watch(c, nt, 16), E_OK);
	UCHECK_EQ(n, pg_space_delete(c), E_OK);
	UCHECK_EQ(n, pg_notify_wait(nt), 16);
	UCHECK_EQ(n, pg_space_watch(c, nt, 16), E_NOENT); // deleted: no new watch
	pg_handle_close(nt);
	end_child(c);
}

// Closing the notify's last handle while watched: the watch keeps it, then drops it.
static void a_watch_outlives_the_notify_handle(const char *n)
{
	handle_t c = spinning_child(n), nt = pg_notify_create();
	if (c < 0)
		return end_child(c);
	UCHECK_EQ(n, pg_space_watch(c, nt, 1), E_OK);
	UCHECK_EQ(n, pg_handle_close(nt), E_OK);
	*flag = 1;
	UCHECK(n, TC_WAIT(tc_stats(c).vcpus == 0, 5000));
	end_child(c); // the runner's leak check sees whether the notify went
}

int main(uint64_t arg)
{
	(void)arg;
	static const struct utest_case cases[] = {
		{ "watch_fires_at_once_without_vcpus", watch_fires_at_once_without_vcpus },
		{ "watch_fires_when_the_last_vcpu_stops", watch_fires_when_the_last_vcpu_stops },
		{ "a_later_watch_replaces_an_earlier", a_later_watch_replaces_an_earlier },
		{ "deleting_a_watched_space_fires_it", deleting_a_watched_space_fires_it },
		{ "a_watch_outlives_the_notify_handle", a_watch_outlives_the_notify_handle },
	};
	return UTEST_RUN(cases);
}
