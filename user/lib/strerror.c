// strerror.c: names and short meanings of the E_* codes, from include/pagoda/errors.def.
// The table is the list itself; the asserts below check the codes are 0, -1, ...,
// E_LAST, each once (a code given twice is an -Woverride-init error).
#include "pagoda.h"

static const char *const names[] = {
#define ERROR_CODE(name, value, what) [-(value)] = #name ": " what,
#include "include/pagoda/errors.def"
#undef ERROR_CODE
};

_Static_assert(sizeof names / sizeof names[0] == PG_ERROR_COUNT,
	       "errors.def: values must be 0, -1, -2, ... with none left out");

const char *pg_strerror(int err)
{
	// Compare before negating: -INT_MIN would overflow.
	if (err > 0 || err < E_LAST || !names[-err])
		return "unknown error";
	return names[-err];
}
