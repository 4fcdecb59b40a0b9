// testrun.h: init's test runner (testrun.c).
#ifndef PAGODA_INIT_TESTRUN_H
#define PAGODA_INIT_TESTRUN_H
#include <stddef.h>
#include "include/pagoda/bootinfo.h"

// Runs the user test cases whose name starts with filter ("!prefix": those that do
// not; "": all) from the archive, reporting KTAP; returns how many failed.
int testrun(const struct pg_bootinfo *bi, const void *archive, size_t len, const char *filter);

#endif
