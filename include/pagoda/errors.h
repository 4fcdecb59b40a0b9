// errors.h: the error codes every pagoda call returns, shared by kernel and user space,
// made from the list in errors.def (each code's meaning is there). 0 is success; each
// failure has its own negative code so callers can tell them apart.
#ifndef PAGODA_ERRORS_H
#define PAGODA_ERRORS_H

enum {
#define ERROR_CODE(name, value, what) name = (value),
#include "include/pagoda/errors.def"
#undef ERROR_CODE
};

// The number of codes, and the last (most negative) one: codes are 0 .. E_LAST.
enum {
	PG_ERROR_COUNT = 0
#define ERROR_CODE(...) + 1
#include "include/pagoda/errors.def"
#undef ERROR_CODE
	,
	E_LAST = 1 - PG_ERROR_COUNT
};

#endif
