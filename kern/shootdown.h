// shootdown.h: making a PTE downgrade coherent on every CPU (SPEC §2). The caller
// holds s->lock and has already edited the PTEs; on return no CPU can use the old
// translations. Only CPUs in s->cpus other than the caller are interrupted, all with
// one request; each invalidates the range with arch_tlb_flush_range (page by page up
// to a threshold, else its whole TLB). Every request is charged to payer.
#ifndef KERN_SHOOTDOWN_H
#define KERN_SHOOTDOWN_H
#include <stdint.h>
#include <stddef.h>
#include "kern/percpu.h"
#include "kern/space.h"
#include "kern/gather.h"

// Called only through the gather (gather.h), which releases after it returns. The n
// ranges go in one request per target; past the threshold in all (their pages
// summed) each CPU flushes its whole TLB instead.
void shootdown(struct space *s, struct space *payer, const struct tlb_range *r, uint32_t n) REQUIRES(s->lock);
// Whether payer may send IPIs to the CPUs of s other than the caller: E_OK, or
// E_BUDGET (counted) if its budget for this tick is spent. Takes no space lock.
int shootdown_budget_check(struct space *s, struct space *payer);
// Takes need IPIs from payer's budget for this tick (any IPI a space causes: wake-ups
// and deletion kicks too): E_OK, or E_BUDGET with nothing taken. A NULL payer (the
// kernel) and an unbudgeted space always get E_OK.
int space_budget_take(struct space *payer, int64_t need);

#endif
