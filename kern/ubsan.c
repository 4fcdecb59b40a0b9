// ubsan.c: the runtime of the kernel's undefined-behaviour sanitizer build (make test
// boots one: KDEFS=-DKERNEL_UBSAN with -fsanitize=undefined). gcc calls a handler at
// each check that fails; every handler's data starts with the source location, so
// one report serves them all: it names the check, file:line:column, and panics,
// failing the boot. Compiled to nothing in the normal build.
#ifdef KERNEL_UBSAN
#include <stdint.h>
#include "kern/panic.h"

struct ubsan_loc {
	const char *file;
	uint32_t line, column;
};

__attribute__((noreturn)) static void report(const char *what, const void *data)
{
	const struct ubsan_loc *l = data;
	panic("ubsan: %s at %s:%u:%u", what, l->file, l->line, l->column);
}

// One handler per check gcc 12 can emit for C with -fsanitize=undefined, in both
// flavours (_abort with -fno-sanitize-recover). Their arguments after data (the
// operands) are not needed for the report.
#define UBSAN_HANDLER(name, what)                                                        \
	void __ubsan_handle_##name(const void *data);                                      \
	void __ubsan_handle_##name(const void *data) { report(what, data); }               \
	void __ubsan_handle_##name##_abort(const void *data);                              \
	void __ubsan_handle_##name##_abort(const void *data) { report(what, data); }
UBSAN_HANDLER(type_mismatch_v1, "misaligned or null access")
UBSAN_HANDLER(add_overflow, "signed addition overflow")
UBSAN_HANDLER(sub_overflow, "signed subtraction overflow")
UBSAN_HANDLER(mul_overflow, "signed multiplication overflow")
UBSAN_HANDLER(negate_overflow, "signed negation overflow")
UBSAN_HANDLER(divrem_overflow, "division overflow or by zero")
UBSAN_HANDLER(shift_out_of_bounds, "shift out of bounds")
UBSAN_HANDLER(out_of_bounds, "array index out of bounds")
UBSAN_HANDLER(load_invalid_value, "load of an invalid value (bool or enum)")
UBSAN_HANDLER(builtin_unreachable, "__builtin_unreachable reached")
UBSAN_HANDLER(missing_return, "end of a value-returning function")
UBSAN_HANDLER(vla_bound_not_positive, "variable-length array bound not positive")
UBSAN_HANDLER(nonnull_arg, "null passed as a nonnull argument")
UBSAN_HANDLER(nonnull_return_v1, "null returned from a returns_nonnull function")
UBSAN_HANDLER(pointer_overflow, "pointer arithmetic overflow")
UBSAN_HANDLER(invalid_builtin, "invalid argument to a builtin (ctz/clz of 0)")
UBSAN_HANDLER(float_cast_overflow, "float to integer conversion overflow")
#endif
