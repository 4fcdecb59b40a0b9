// strerror.c: names and short meanings of the E_* codes in include/pagoda/errors.h.
// Owns the table; keep it in step with errors.h (the assert below catches a new code).
#include "pagoda.h"

_Static_assert(E_LAST == -13, "errors.h changed: update the table in strerror.c");

static const char *const names[] = {
	[-E_OK] = "E_OK: success",
	[-E_INVAL] = "E_INVAL: malformed argument (alignment, flags, zero length)",
	[-E_NOMEM] = "E_NOMEM: out of frames, heap or quota",
	[-E_RANGE] = "E_RANGE: address or length outside what the object allows",
	[-E_EXISTS] = "E_EXISTS: something is already there",
	[-E_NOENT] = "E_NOENT: nothing is there",
	[-E_BUSY] = "E_BUSY: resource in use",
	[-E_FAULT] = "E_FAULT: bad user pointer",
	[-E_BADH] = "E_BADH: handle index invalid or closed",
	[-E_TYPE] = "E_TYPE: handle names an object of the wrong type",
	[-E_RIGHTS] = "E_RIGHTS: handle lacks a needed right",
	[-E_BUDGET] = "E_BUDGET: the space's shootdown budget is spent",
	[-E_NOSYS] = "E_NOSYS: no such call",
	[-E_TIMEOUT] = "E_TIMEOUT: waited too long",
};

_Static_assert(sizeof names / sizeof names[0] == 1 - E_LAST, "a code is missing");

const char *pg_strerror(int err)
{
	// Compare before negating: -INT_MIN would overflow.
	if (err > 0 || err < E_LAST || !names[-err])
		return "unknown error";
	return names[-err];
}
