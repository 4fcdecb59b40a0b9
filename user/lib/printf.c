// printf.c: pg_printf/pg_snprintf for user programs, on the formatter shared with the
// kernel (lib/fmt.c, host-tested in tests/host/test_fmt.c). Owns the output buffering:
// a per-call buffer on the caller's stack, so there is no shared state between threads.
#include "pagoda.h"

#include "lib/fmt.h"

int pg_vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
	return fmt_vsnprintf(buf, n, fmt, ap);
}

int pg_snprintf(char *buf, size_t n, const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = fmt_vsnprintf(buf, n, fmt, ap);
	va_end(ap);
	return len;
}

struct pbuf {
	char buf[PG_PRINTF_BUF];
	size_t len;
	size_t last_nl; // just past the last newline in buf, 0 if none
};

// Sends buf[0, n) and keeps the rest at the front.
static void pbuf_flush(struct pbuf *b, size_t n)
{
	pg_debug_write(b->buf, n);
	memmove(b->buf, b->buf + n, b->len - n);
	b->len -= n;
	b->last_nl = 0;
}

// A full buffer is flushed up to its last newline, so whole lines go out together.
static void pbuf_put(void *ctx, char c)
{
	struct pbuf *b = ctx;

	if (b->len == sizeof b->buf)
		pbuf_flush(b, b->last_nl ? b->last_nl : b->len);
	b->buf[b->len++] = c;
	if (c == '\n')
		b->last_nl = b->len;
}

int pg_vprintf(const char *fmt, va_list ap)
{
	struct pbuf b;
	int len;

	b.len = b.last_nl = 0;
	len = fmt_vformat(pbuf_put, &b, fmt, ap);
	if (b.len)
		pbuf_flush(&b, b.len);
	return len;
}

int pg_printf(const char *fmt, ...)
{
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = pg_vprintf(fmt, ap);
	va_end(ap);
	return len;
}
