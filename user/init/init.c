// init.c: the root task, the one program the kernel starts (kern/roottask.c). It finds
// the boot archive among its boot modules, and runs from it what the command line's
// words after "--" name (`make run PROG=name ARGS=...`), or the user test programs
// for "-t [prefix]" (testrun.c), or else the demo: hello on every CPU, one after
// another, then the GC demo. It reports how each ended, and its own end (status 0
// when all went well) ends the machine. See docs/boot.md.
#include "pagoda.h"
#include "include/pagoda/bootinfo.h"
#include "lib/cpio.h"
#include "testrun.h"
#include "net.h"

#define ARCHIVE_VA 0x100000000000UL // where init maps the boot archive, read-only
#define MAX_ARGS   32

static const void *archive;
static size_t archive_len;

// Maps the first module that is a cpio newc archive (checked whole: a bad archive
// is reported here, not half-way through the demo).
static int find_archive(const struct pg_bootinfo *bi)
{
	for (uint32_t i = 0; i < bi->nmods; i++) {
		const struct pg_boot_module *m = &bi->mods[i];
		size_t len = (m->size + 4095) & ~4095UL;
		int err = pg_map(H_SELF, ARCHIVE_VA, m->mem, 0, len, PROT_READ);
		if (err != E_OK) {
			pg_printf("init: module %u (%s) cannot be mapped: %s\n", i, m->name, pg_strerror(err));
			continue;
		}
		size_t pos = 0;
		struct cpio_entry e;
		const char *why;
		int r;
		while ((r = cpio_next((const void *)ARCHIVE_VA, m->size, &pos, &e, &why)) == 1)
			;
		if (r == 0) {
			archive = (const void *)ARCHIVE_VA, archive_len = m->size;
			return E_OK;
		}
		pg_printf("init: module %u (%s) is not a boot archive: %s\n", i, m->name, why);
		pg_unmap(H_SELF, ARCHIVE_VA, len, 0);
	}
	pg_printf("init: no boot archive among %u modules\n", bi->nmods);
	return E_NOENT;
}

// Runs program argv[0] from the archive on cpu with argv, waits for its end, deletes
// its space: its exit status, or -1 if it could not run or a thread died of a fault.
static int run(const char *const *argv, int cpu)
{
	struct cpio_entry e;
	const char *why = NULL;
	int err = cpio_find(archive, archive_len, argv[0], &e, &why);
	if (err != E_OK) {
		pg_printf("init: %s: %s\n", argv[0], err == E_NOENT ? "no such program in the boot archive" : why);
		return -1;
	}
	struct pg_spawn_opts o = { .argv = argv, .cpu = cpu };
	handle_t child = pg_spawn(e.data, e.size, &o, &why);
	if (child < 0) {
		pg_printf("init: %s: not started: %s (%s)\n", argv[0], why ? why : "?", pg_strerror(child));
		return -1;
	}
	struct pg_exit x = { -1, 0 };
	err = pg_wait(child, &x);
	pg_space_delete(child);
	pg_handle_close(child);
	if (err != E_OK || x.faults)
		pg_printf("init: %s ended: %u threads killed by faults, status %d (%s)\n", argv[0], x.faults,
			  x.status, pg_strerror(err));
	else
		pg_printf("init: %s exited with status %d\n", argv[0], x.status);
	return err != E_OK || x.faults ? -1 : x.status;
}

static int demo(const struct pg_bootinfo *bi)
{
	int bad = 0;
	for (uint32_t cpu = 0; cpu < bi->ncpus; cpu++) {
		const char *argv[] = { "hello", NULL };
		bad |= run(argv, (int)cpu) != 0;
	}
	const char *argv[] = { "gcdemo", NULL };
	bad |= run(argv, -1) != 0;
	if (bad)
		return 1;
	pg_printf("pagoda: demo done\n");
	return 0;
}

// The words after " -- " in the command line, into words (NUL-terminated in buf).
static int init_args(const char *cmdline, char *buf, size_t n, const char **words)
{
	const char *p = cmdline;
	int nw = 0;
	for (;;) { // find a "--" word
		while (*p == ' ')
			p++;
		if (!*p)
			return 0;
		if (p[0] == '-' && p[1] == '-' && (p[2] == ' ' || !p[2]))
			break;
		while (*p && *p != ' ')
			p++;
	}
	strlcpy(buf, p + 2, n);
	for (char *q = buf; *q && nw < MAX_ARGS;) {
		while (*q == ' ')
			*q++ = 0;
		if (!*q)
			break;
		words[nw++] = q;
		while (*q && *q != ' ')
			q++;
	}
	words[nw] = NULL;
	return nw;
}

int main(uint64_t arg)
{
	const struct pg_bootinfo *bi = (const struct pg_bootinfo *)arg;
	if (arg != PG_BOOTINFO_VA || bi->magic != PG_BOOTINFO_MAGIC || bi->version != 1) {
		pg_printf("init: started without the kernel's boot info\n");
		return 1;
	}
	if (find_archive(bi) != E_OK)
		return 1;
	static char buf[sizeof bi->cmdline];
	static const char *words[MAX_ARGS + 1];
	int n = init_args(bi->cmdline, buf, sizeof buf, words);
	if (n > 0 && strcmp(words[0], "-t") == 0) // the test runner (tools/runtests.py)
		return testrun(bi, archive, archive_len, n > 1 ? words[1] : "") ? 1 : 0;
	if (n > 0 && strcmp(words[0], "-n") == 0) // the network (net.c, docs/net.md)
		return netrun(bi, archive, archive_len, words, n);
	if (n > 0)
		return run(words, -1) == 0 ? 0 : 1;
	return demo(bi);
}
