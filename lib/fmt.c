// fmt.c: printf-style formatting (see fmt.h) for kernel logs and panics.
// Owns format parsing and number rendering; the caller's sink owns the output.
// No allocation, so it is safe to call from any context that can run the sink.
#include "lib/fmt.h"

#include <stdbool.h>
#include <stdint.h>

#include "lib/string.h"

enum {
	F_LEFT = 1 << 0,  // '-'
	F_ZERO = 1 << 1,  // '0'
	F_PLUS = 1 << 2,  // '+'
	F_SPACE = 1 << 3, // ' '
	F_ALT = 1 << 4,   // '#'
};

#define NUM_MAX 100000 // cap on widths and precisions

enum len { L_NONE, L_HH, L_H, L_L, L_LL, L_Z };

struct spec {
	unsigned flags;
	int width;    // 0 when absent
	int prec;     // -1 when absent
	enum len len;
};

struct out {
	fmt_put_fn put;
	void *ctx;
	size_t count;
};

static void emit(struct out *o, char c)
{
	o->put(o->ctx, c);
	o->count++;
}

static void emit_n(struct out *o, const char *s, size_t n)
{
	while (n--)
		emit(o, *s++);
}

static void emit_rep(struct out *o, char c, int n)
{
	while (n-- > 0)
		emit(o, c);
}

// Lays out [spaces][prefix][zeros][body] or, left-aligned, [prefix][zeros][body][spaces]:
// field_open emits what comes before the body (len characters, which the caller then
// emits) and returns the padding, field_close what comes after it.
static int field_open(struct out *o, const struct spec *sp, const char *prefix,
		      int zeros, size_t len)
{
	size_t plen = strlen(prefix);
	size_t used = plen + (size_t)zeros + len;
	int pad = (size_t)sp->width > used ? sp->width - (int)used : 0;

	if (!(sp->flags & F_LEFT))
		emit_rep(o, ' ', pad);
	emit_n(o, prefix, plen);
	emit_rep(o, '0', zeros);
	return pad;
}

static void field_close(struct out *o, const struct spec *sp, int pad)
{
	if (sp->flags & F_LEFT)
		emit_rep(o, ' ', pad);
}

static void emit_field(struct out *o, const struct spec *sp, const char *prefix,
		       int zeros, const char *body, size_t len)
{
	int pad = field_open(o, sp, prefix, zeros, len);

	emit_n(o, body, len);
	field_close(o, sp, pad);
}

// Writes v's digits at the end of buf (22 bytes fit octal UINT64_MAX) and
// returns where they start, so no reversal is needed.
static char *to_digits(char *end, uint64_t v, unsigned base, bool upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	do {
		*--end = digits[v % base];
		v /= base;
	} while (v);
	return end;
}

static void emit_int(struct out *o, const struct spec *sp, char conv,
		     uint64_t mag, bool neg)
{
	char buf[24];
	char *end = buf + sizeof buf;
	unsigned base = conv == 'o' ? 8 : (conv == 'x' || conv == 'X') ? 16 : 10;
	const char *prefix = "";
	char *digits = to_digits(end, mag, base, conv == 'X');
	int len = (int)(end - digits);
	int zeros;

	if (sp->prec == 0 && mag == 0)
		len = 0; // C: explicit zero precision prints no digits for 0
	zeros = sp->prec > len ? sp->prec - len : 0;

	if (neg)
		prefix = "-";
	else if ((conv == 'd' || conv == 'i') && (sp->flags & (F_PLUS | F_SPACE)))
		prefix = (sp->flags & F_PLUS) ? "+" : " "; // '+' wins over ' '
	else if ((sp->flags & F_ALT) && mag != 0 && base == 16)
		prefix = conv == 'X' ? "0X" : "0x";
	else if ((sp->flags & F_ALT) && base == 8 && zeros == 0 && (mag != 0 || len == 0))
		zeros = 1; // '#' makes octal start with 0, unless a 0 is already there

	// '0' pads to the width after the sign/prefix, but a precision overrides it.
	if ((sp->flags & F_ZERO) && !(sp->flags & F_LEFT) && sp->prec < 0) {
		int fill = sp->width - (int)strlen(prefix) - len;
		if (fill > zeros)
			zeros = fill;
	}
	emit_field(o, sp, prefix, zeros, digits, (size_t)len);
}

// Reads a signed argument of the spec's length, widened to 64 bits.
static int64_t arg_signed(const struct spec *sp, va_list *ap)
{
	switch (sp->len) {
	case L_HH: return (signed char)va_arg(*ap, int);
	case L_H: return (short)va_arg(*ap, int);
	case L_L: return va_arg(*ap, long);
	case L_LL: return va_arg(*ap, long long);
	case L_Z: return va_arg(*ap, ptrdiff_t); // the signed type of size_t's width
	default: return va_arg(*ap, int);
	}
}

static uint64_t arg_unsigned(const struct spec *sp, va_list *ap)
{
	switch (sp->len) {
	case L_HH: return (unsigned char)va_arg(*ap, unsigned);
	case L_H: return (unsigned short)va_arg(*ap, unsigned);
	case L_L: return va_arg(*ap, unsigned long);
	case L_LL: return va_arg(*ap, unsigned long long);
	case L_Z: return va_arg(*ap, size_t);
	default: return va_arg(*ap, unsigned);
	}
}

static unsigned parse_flags(const char **p)
{
	unsigned flags = 0;

	for (;; (*p)++) {
		switch (**p) {
		case '-': flags |= F_LEFT; break;
		case '0': flags |= F_ZERO; break;
		case '+': flags |= F_PLUS; break;
		case ' ': flags |= F_SPACE; break;
		case '#': flags |= F_ALT; break;
		default: return flags;
		}
	}
}

// Reads a width or precision as digits or '*'. Values are clamped so that
// the layout arithmetic can never overflow; a '*' argument may be negative.
static int parse_num(const char **p, va_list *ap)
{
	int n = 0;

	if (**p == '*') {
		(*p)++;
		n = va_arg(*ap, int);
		return n > NUM_MAX ? NUM_MAX : n < -NUM_MAX ? -NUM_MAX : n;
	}
	for (; **p >= '0' && **p <= '9'; (*p)++)
		n = n < NUM_MAX ? n * 10 + (**p - '0') : NUM_MAX;
	return n < NUM_MAX ? n : NUM_MAX;
}

static enum len parse_len(const char **p)
{
	const char *s = *p;
	enum len len = L_NONE;

	if (s[0] == 'h' && s[1] == 'h')
		len = L_HH, s += 2;
	else if (s[0] == 'l' && s[1] == 'l')
		len = L_LL, s += 2;
	else if (*s == 'h')
		len = L_H, s++;
	else if (*s == 'l')
		len = L_L, s++;
	else if (*s == 'z')
		len = L_Z, s++;
	*p = s;
	return len;
}

static void emit_str(struct out *o, const struct spec *sp, const char *s)
{
	if (!s)
		s = "(null)";
	emit_field(o, sp, "", 0, s, strnlen(s, sp->prec < 0 ? SIZE_MAX : (size_t)sp->prec));
}

// Zero-padded to the full pointer width so addresses line up in logs.
static void emit_ptr(struct out *o, const struct spec *sp, const void *ptr)
{
	char buf[2 * sizeof(void *)];
	char *end = buf + sizeof buf;
	char *digits = to_digits(end, (uintptr_t)ptr, 16, false);
	int len = (int)(end - digits);

	emit_field(o, sp, "0x", (int)sizeof buf - len, digits, (size_t)len);
}

// Handles one conversion starting at its '%'; returns where the text resumes.
static const char *convert(struct out *o, const char *start, va_list *ap)
{
	const char *p = start + 1;
	struct spec sp = { .prec = -1 };

	sp.flags = parse_flags(&p);
	sp.width = parse_num(&p, ap);
	if (sp.width < 0) { // C: a negative '*' width means left-align
		sp.flags |= F_LEFT;
		sp.width = -sp.width;
	}
	if (*p == '.') {
		p++;
		sp.prec = parse_num(&p, ap);
		if (sp.prec < 0) // C: a negative '*' precision is as if omitted
			sp.prec = -1;
	}
	sp.len = parse_len(&p);

	switch (*p) {
	case 'd':
	case 'i': {
		int64_t v = arg_signed(&sp, ap);
		// Negate in unsigned arithmetic so INT64_MIN does not overflow.
		emit_int(o, &sp, *p, v < 0 ? 0 - (uint64_t)v : (uint64_t)v, v < 0);
		break;
	}
	case 'u':
	case 'x':
	case 'X':
	case 'o':
		emit_int(o, &sp, *p, arg_unsigned(&sp, ap), false);
		break;
	case 'c': {
		char c = (char)va_arg(*ap, int);
		emit_field(o, &sp, "", 0, &c, 1);
		break;
	}
	case 's':
		emit_str(o, &sp, va_arg(*ap, const char *));
		break;
	case 'p':
		emit_ptr(o, &sp, va_arg(*ap, void *));
		break;
	case '%':
		emit(o, '%');
		break;
	case '\0':
		// Format ends mid-conversion: echo what there is and stop there.
		emit_n(o, start, (size_t)(p - start));
		return p;
	default:
		// Unknown conversion: echo it so the mistake shows in the output.
		emit_n(o, start, (size_t)(p + 1 - start));
		break;
	}
	return p + 1;
}

int fmt_vformat(fmt_put_fn put, void *ctx, const char *fmt, va_list ap)
{
	struct out o = { put, ctx, 0 };
	va_list args;

	// va_list may be an array type, so &ap on a parameter is not a va_list *;
	// a local copy can be passed down by address portably.
	va_copy(args, ap);
	while (*fmt) {
		if (*fmt == '%')
			fmt = convert(&o, fmt, &args);
		else
			emit(&o, *fmt++);
	}
	va_end(args);
	return (int)o.count;
}

struct buf_sink {
	char *buf;
	size_t n;
	size_t pos;
};

static void buf_put(void *ctx, char c)
{
	struct buf_sink *b = ctx;

	if (b->pos + 1 < b->n) // keep the last byte for the NUL
		b->buf[b->pos] = c;
	b->pos++;
}

int fmt_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	struct buf_sink b = { buf, n, 0 };
	int len = fmt_vformat(buf_put, &b, fmt, ap);

	if (n > 0)
		buf[b.pos < n ? b.pos : n - 1] = '\0';
	return len;
}

int fmt_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = fmt_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return len;
}
