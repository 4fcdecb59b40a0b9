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

#ifdef FMT_FLOAT
// --- %f %F %e %E %g %G ---
//
// A double is m * 2^e, so its decimal expansion is finite (at most 767 significant
// digits). It is expanded exactly, in integer arithmetic, and rounded half-to-even at
// the requested place, with a tie only when the rest of the expansion is all zeros:
// the default rounding mode, and so what glibc prints. Scaling by powers of ten in
// double arithmetic would round more than once and get digits wrong.
//
// The digits are made twice rather than stored: a first pass finds where rounding
// stops (a round-up changes the run of 9s at the end), the second emits them. So the
// state is one struct digits of 300-odd bytes, whatever the precision: by gcc
// -fstack-usage (x86-64, -O2), a float takes 448 bytes in emit_double and at most 64
// below it, besides fmt_vformat's own 176 and the sink's; integers do not pay for it.
//
// Built only with FMT_FLOAT: the kernel, compiled with -mgeneral-regs-only, can
// neither pass nor read a double, and leaves these conversions literal.
#if defined(__x86_64__) && !defined(__SSE2__)
#error "FMT_FLOAT reads double arguments, which takes SSE: not with -mgeneral-regs-only"
#endif

#define CHUNK 1000000000u // 10^9: one base-10^9 chunk is nine decimal digits

enum {
	BIG_LIMBS = 34,  // 32-bit limbs of the longest fraction, of 2^-1074 (1074 bits),
			 // and of the largest integer part, below 2^1024
	DEC_CHUNKS = 35, // chunks of the largest integer part (DBL_MAX: 309 digits)
};

// The exact decimal expansion of m * 2^e, digit by digit from the first significant
// one; all zeros (with exp10 0) for m = 0.
struct dgen {
	uint32_t frac[BIG_LIMBS];   // the fraction not yet expanded, frac / 2^(32 * nfrac),
	int lo, nfrac;              // least significant limb first; limbs below lo are zero
	uint32_t chunk[DEC_CHUNKS]; // the integer part's chunks not yet expanded,
	int nchunk;                 // least significant first
	uint32_t cur, place;        // the chunk being expanded: its digits left, and the
				    // place value of the next one (0: take another chunk)
	int exp10;                  // the first digit's decimal exponent
};

// Where rounding to some number of significant digits leaves the expansion: the
// result's digits are the expansion's below keep, then (if bump) its digit at keep
// plus one, then zeros; or, if the round-up carried out of the first digit (one),
// a 1 and zeros. exp10 is the result's first digit's exponent.
struct plan {
	int exp10;
	int keep;
	bool bump;
	bool one;
};

struct digits {
	struct dgen g;
	struct plan pl;
};

// The layout of the rounded digits.
struct shape {
	bool sci; // d.ddde+dd rather than ddd.ddd
	bool point;
	int frac; // digits after the point
};

static int count_digits(uint32_t v)
{
	int n = 1;

	while (v >= 10)
		v /= 10, n++;
	return n;
}

static uint32_t pow10u(int n)
{
	uint32_t p = 1;

	while (n-- > 0)
		p *= 10;
	return p;
}

// Sets big[0, n) to v * 2^shift, which must fit.
static void big_set(uint32_t *big, int n, uint64_t v, int shift)
{
	unsigned s = (unsigned)shift % 32;
	uint64_t low = v << s;                 // bits [0, 64) of v * 2^s
	uint64_t high = s ? v >> (64 - s) : 0; // bits [64, 96)
	const uint32_t part[3] = { (uint32_t)low, (uint32_t)(low >> 32), (uint32_t)high };
	int i;

	for (i = 0; i < n; i++)
		big[i] = 0;
	for (i = 0; i < 3 && shift / 32 + i < n; i++)
		big[shift / 32 + i] = part[i];
}

// Divides big[0, *top) by 10^9, trims the quotient's zero limbs, returns the remainder.
static uint32_t big_div_chunk(uint32_t *big, int *top)
{
	uint64_t rem = 0;

	for (int i = *top - 1; i >= 0; i--) {
		uint64_t cur = rem << 32 | big[i];
		big[i] = (uint32_t)(cur / CHUNK);
		rem = cur % CHUNK;
	}
	while (*top > 0 && big[*top - 1] == 0)
		(*top)--;
	return (uint32_t)rem;
}

static void frac_skip_zeros(struct dgen *g)
{
	while (g->lo < g->nfrac && g->frac[g->lo] == 0)
		g->lo++;
}

// Multiplies the fraction by 10^9 and returns the part that crosses the point: the
// next nine digits. Each step leaves nine more zero bits at the bottom (10^9 is
// 2^9 * 5^9), so the expansion ends.
static uint32_t frac_chunk(struct dgen *g)
{
	uint64_t carry = 0;

	for (int i = g->lo; i < g->nfrac; i++) {
		uint64_t t = (uint64_t)g->frac[i] * CHUNK + carry;
		g->frac[i] = (uint32_t)t;
		carry = t >> 32;
	}
	frac_skip_zeros(g);
	return (uint32_t)carry;
}

// Splits m * 2^e into the integer part's chunks and the fraction.
static void dgen_split(struct dgen *g, uint64_t m, int e)
{
	g->nchunk = g->lo = g->nfrac = 0;
	if (e >= 0) { // an integer (below 2^1024), chunked by division; frac is scratch
		int top = BIG_LIMBS;

		big_set(g->frac, BIG_LIMBS, m, e);
		while (top > 0 && g->frac[top - 1] == 0)
			top--;
		while (top > 0)
			g->chunk[g->nchunk++] = big_div_chunk(g->frac, &top);
	} else { // e bits after the point: scaled to whole limbs, the digits stay the same
		int b = -e;
		uint64_t ipart = b < 64 ? m >> b : 0;

		for (; ipart; ipart /= CHUNK)
			g->chunk[g->nchunk++] = (uint32_t)(ipart % CHUNK);
		g->nfrac = (b + 31) / 32;
		big_set(g->frac, g->nfrac, b < 64 ? m & ((1ull << b) - 1) : m, 32 * g->nfrac - b);
		frac_skip_zeros(g);
	}
}

// Starts the expansion of m * 2^e at its first significant digit.
static void dgen_init(struct dgen *g, uint64_t m, int e)
{
	uint32_t first = 0;
	int zeros = 0;

	dgen_split(g, m, e);
	g->exp10 = 0;
	if (g->nchunk > 0) {
		first = g->chunk[--g->nchunk];
		g->exp10 = 9 * g->nchunk + count_digits(first) - 1;
	} else if (m != 0) { // below 1: skip the zeros after the point
		while ((first = frac_chunk(g)) == 0)
			zeros += 9;
		g->exp10 = -zeros - (9 - count_digits(first)) - 1;
	}
	g->cur = first;
	g->place = pow10u(count_digits(first) - 1);
}

// The next digit; zeros once the expansion has ended.
static int dgen_next(struct dgen *g)
{
	int d;

	if (g->place == 0) { // the chunk is spent: the next has nine digits, zeros too
		if (g->nchunk > 0)
			g->cur = g->chunk[--g->nchunk];
		else
			g->cur = frac_chunk(g);
		g->place = CHUNK / 10;
	}
	d = (int)(g->cur / g->place);
	g->cur %= g->place;
	g->place /= 10;
	return d;
}

// Whether every digit still to come is zero.
static bool dgen_ended(const struct dgen *g)
{
	if (g->cur != 0 || g->lo < g->nfrac)
		return false;
	for (int i = 0; i < g->nchunk; i++)
		if (g->chunk[i] != 0)
			return false;
	return true;
}

// The first pass: rounds the expansion to n significant digits, half to even. For
// %f, n may be 0 or less: the place rounded to is above the first digit.
static void plan_round(struct digits *dg, int n)
{
	struct plan *pl = &dg->pl;
	int last_nonzero = -1, last_not9 = -1, prev = 0, next = 0, i;
	bool up;

	pl->exp10 = dg->g.exp10;
	pl->bump = pl->one = false;
	for (i = 0; i < n && !dgen_ended(&dg->g); i++) {
		prev = dgen_next(&dg->g);
		if (prev != 0)
			last_nonzero = i;
		if (prev != 9)
			last_not9 = i;
	}
	if (n >= 0 && i == n)
		next = dgen_next(&dg->g); // the first digit dropped (n < 0: a leading zero)
	// A tie (a 5 and then nothing) goes to the even digit; the one before the first
	// is an implicit 0.
	up = next > 5 || (next == 5 && (!dgen_ended(&dg->g) || prev % 2 == 1));
	if (!up) {
		pl->keep = last_nonzero + 1;
	} else if (last_not9 >= 0) {
		pl->keep = last_not9;
		pl->bump = true;
	} else { // 9s only (or no digit kept): the carry makes 10^(exp10 + 1)
		pl->keep = 0;
		pl->one = true;
		pl->exp10++;
	}
}

// The index of the result's last nonzero digit, -1 if it is zero.
static int plan_last(const struct plan *pl)
{
	if (pl->one)
		return 0;
	return pl->bump ? pl->keep : pl->keep - 1;
}

// The second pass: the result's digit i (10^(exp10 - i)), asked for in increasing i;
// i < 0 are the zeros before the first digit of a fixed-point number below 1.
static char digit_at(struct digits *dg, int i)
{
	const struct plan *pl = &dg->pl;

	if (i < 0)
		return '0';
	if (pl->one)
		return i == 0 ? '1' : '0';
	if (i < pl->keep)
		return (char)('0' + dgen_next(&dg->g));
	if (i == pl->keep && pl->bump)
		return (char)('1' + dgen_next(&dg->g));
	return '0';
}

// Rounds for the conversion and picks its layout. %g rounds to P significant digits
// (P 0 means 1), then is %f if its exponent X is in [-4, P), else %e; without '#' it
// drops trailing zeros, and the point if nothing follows it.
static struct shape shape_round(struct digits *dg, const struct spec *sp, char conv)
{
	int prec = sp->prec < 0 ? 6 : sp->prec;
	struct shape sh = { .sci = conv == 'e' || conv == 'E', .frac = prec };

	if (conv == 'f' || conv == 'F') {
		plan_round(dg, dg->g.exp10 + 1 + prec);
	} else if (sh.sci) {
		plan_round(dg, prec + 1);
	} else {
		int p = prec ? prec : 1, x;

		plan_round(dg, p);
		x = dg->pl.exp10;
		sh.sci = !(x >= -4 && x < p);
		sh.frac = sh.sci ? p - 1 : p - 1 - x;
		if (!(sp->flags & F_ALT)) {
			int need = plan_last(&dg->pl) - (sh.sci ? 0 : x); // to the last nonzero
			if (sh.frac > need)
				sh.frac = need > 0 ? need : 0;
		} else if (dg->pl.one && x == p) {
			// glibc's one departure from C (which keeps the zeros): when rounding
			// carries what would have been %f (X was P - 1) over into %e, '#' keeps
			// the point but not the zeros ("%#.3g" of 999.9 is 1.e+03, not 1.00e+03).
			sh.frac = 0;
		}
	}
	sh.point = sh.frac > 0 || (sp->flags & F_ALT);
	return sh;
}

static int body_len(const struct digits *dg, struct shape sh)
{
	int x = dg->pl.exp10;
	int xdigits = count_digits((uint32_t)(x < 0 ? -x : x));

	if (sh.sci) // d, point, fraction, e and sign, two exponent digits at least
		return 1 + sh.point + sh.frac + 2 + (xdigits < 2 ? 2 : xdigits);
	return (x > 0 ? x + 1 : 1) + sh.point + sh.frac;
}

static void emit_fixed(struct out *o, struct digits *dg, struct shape sh)
{
	int x = dg->pl.exp10;

	for (int pos = x > 0 ? x : 0; pos >= 0; pos--)
		emit(o, digit_at(dg, x - pos));
	if (sh.point)
		emit(o, '.');
	for (int pos = -1; pos >= -sh.frac; pos--)
		emit(o, digit_at(dg, x - pos));
}

static void emit_sci(struct out *o, struct digits *dg, struct shape sh, bool upper)
{
	int x = dg->pl.exp10;
	char buf[4];
	char *end = buf + sizeof buf;
	char *xd = to_digits(end, (uint64_t)(x < 0 ? -x : x), 10, false);

	emit(o, digit_at(dg, 0));
	if (sh.point)
		emit(o, '.');
	for (int i = 1; i <= sh.frac; i++)
		emit(o, digit_at(dg, i));
	emit(o, upper ? 'E' : 'e');
	emit(o, x < 0 ? '-' : '+');
	if (end - xd < 2)
		emit(o, '0');
	emit_n(o, xd, (size_t)(end - xd));
}

// The sign bit shows, for -0 and -nan too; '+' wins over ' ' as for integers.
static const char *float_sign(bool neg, unsigned flags)
{
	if (neg)
		return "-";
	if (flags & F_PLUS)
		return "+";
	return (flags & F_SPACE) ? " " : "";
}

// Not inlined into convert, so that its 300-odd bytes of digit state are on the stack
// only while a float is printed.
static __attribute__((noinline)) void emit_double(struct out *o, const struct spec *sp,
						  char conv, double v)
{
	union {
		double d;
		uint64_t u;
	} bits = { .d = v };
	int bexp = (int)(bits.u >> 52 & 0x7ff);
	uint64_t m = bits.u & ((1ull << 52) - 1);
	bool upper = conv == 'F' || conv == 'E' || conv == 'G';
	const char *prefix = float_sign(bits.u >> 63, sp->flags);
	struct digits dg;
	struct shape sh;
	int len, zeros = 0, pad, e;

	if (bexp == 0x7ff) { // glibc pads these with spaces, '0' or not
		emit_field(o, sp, prefix, 0, m ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf"), 3);
		return;
	}
	// Normal: an implicit leading 1; subnormal: the smallest exponent. Trailing zero
	// bits only make the numbers longer.
	e = bexp ? bexp - 1075 : -1074;
	if (bexp)
		m |= 1ull << 52;
	while (m != 0 && !(m & 1))
		m >>= 1, e++;

	dgen_init(&dg.g, m, e);
	sh = shape_round(&dg, sp, conv);
	len = body_len(&dg, sh);
	if ((sp->flags & F_ZERO) && !(sp->flags & F_LEFT)) {
		int fill = sp->width - (int)strlen(prefix) - len;
		zeros = fill > 0 ? fill : 0;
	}
	pad = field_open(o, sp, prefix, zeros, (size_t)len);
	dgen_init(&dg.g, m, e); // the second pass
	if (sh.sci)
		emit_sci(o, &dg, sh, upper);
	else
		emit_fixed(o, &dg, sh);
	field_close(o, sp, pad);
}
#endif // FMT_FLOAT

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
#ifdef FMT_FLOAT
	case 'f':
	case 'F':
	case 'e':
	case 'E':
	case 'g':
	case 'G':
		emit_double(o, &sp, *p, va_arg(*ap, double));
		break;
#endif
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
