// irqhog.c: the longest single calls a program can make, for the kernel's
// max_irqoff_us measurement (make bench; kern/bench.c): each edits a range of N pages
// or N records in one call, with the space's lock (so interrupts) held throughout.
#include "pagoda.h"

#define PAGE 4096UL
#define N    16384UL                // pages: a 64 MiB mem
#define VA   0x100000000UL

static void must(const char *what, long r)
{
	if (r < 0) {
		pg_printf("irqhog: %s failed: %s\n", what, pg_strerror((int)r));
		pg_exit(1);
	}
}

int main(uint64_t arg)
{
	(void)arg;
	handle_t m = pg_mem_create(N * PAGE), child = pg_space_create(1UL << 20, 1000);
	must("mem_create", m);
	must("space_create", child);
	must("map all", pg_map(H_SELF, VA, m, 0, N * PAGE, PROT_READ | PROT_WRITE));
	must("protect all", pg_protect(H_SELF, VA, N * PAGE, PROT_READ));
	// N records: holes punched from the top down (each split moves the tail), then
	// filled from other offsets so that no neighbours merge.
	for (uint64_t i = N - 1; i < N; i -= 2) // odd pages, down to 1 (then i wraps)
		must("unmap one", pg_unmap(H_SELF, VA + i * PAGE, PAGE, 0));
	for (uint64_t i = 1; i < N; i += 2)
		must("map one", pg_map(H_SELF, VA + i * PAGE, m, (i - 1) * PAGE, PAGE, PROT_READ));
	must("unmap all", pg_unmap(H_SELF, VA, N * PAGE, 0));
	must("map again", pg_map(H_SELF, VA, m, 0, N * PAGE, PROT_READ | PROT_WRITE));
	for (uint64_t i = 0; i < N; i += 64)
		*(volatile uint64_t *)(VA + i * PAGE) = i; // some of it live in the TLB
	must("unmap lazily", pg_unmap(H_SELF, VA, N * PAGE, UNMAP_LAZY));
	for (uint64_t i = 0; i < N; i += 2) // a child with N/2 records to tear down
		must("map in child", pg_map(child, VA + i * PAGE, m, i * PAGE, PAGE, PROT_READ));
	must("delete child", pg_space_delete(child));
	pg_handle_close(child);
	pg_handle_close(m);
	pg_printf("irqhog: done\n");
	return 0;
}
