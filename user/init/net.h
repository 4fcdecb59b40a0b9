// net.h: init's network mode (net.c): `-- -n [-k MS] IPV4 PROG [ARGS] [+ PROG [ARGS]]...`.
#ifndef PAGODA_INIT_NET_H
#define PAGODA_INIT_NET_H
#include <stddef.h>
#include "include/pagoda/bootinfo.h"

// Finds the virtio-net device, starts the driver (user/drv/virtio-net.c) with IPV4 as
// its address and each PROG as an endpoint (UDP port 7001, 7002, ... in order: argv[1]
// of each), waits for every PROG to end, then stops the driver. -k MS: the first PROG's
// space is deleted MS milliseconds after it starts (the tests' killed sender).
// Returns 0 if every program (and the driver) ended with status 0.
int netrun(const struct pg_bootinfo *bi, const void *archive, size_t len, const char *const *words, int n);

#endif
