/* lib/buf.h — a growable byte buffer with a sticky allocation error, used for HTTP I/O and
 * rendering.
 */
#ifndef HOSTMON_LIB_BUF_H
#define HOSTMON_LIB_BUF_H

#include <stdarg.h>
#include <stddef.h>

/*
 * API:
 *   A zero-initialised struct buf (or buf_init) is an empty buffer.
 *   Appends never fail loudly: the first allocation failure sets err to
 *   -ENOMEM and later appends are ignored, so a writer checks buf.err once
 *   at the end instead of after every append. data is NUL-terminated
 *   whenever len > 0 and err == 0.
 */
struct buf {
	char *data;
	size_t len;
	size_t cap;
	int err;
};

void buf_init(struct buf *b);
void buf_free(struct buf *b);		      /* accepts NULL */
void buf_reset(struct buf *b);		      /* len = 0, err = 0, keeps memory */
int buf_reserve(struct buf *b, size_t extra); /* 0 or -ENOMEM (also sets err) */
void buf_append(struct buf *b, const void *p, size_t n);
void buf_puts(struct buf *b, const char *s);
void buf_putc(struct buf *b, char c);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_vprintf(struct buf *b, const char *fmt, va_list ap);
void buf_put_u64(struct buf *b, unsigned long long v); /* decimal, no printf */
void buf_consume(struct buf *b, size_t n);	       /* drop n bytes from the front */

#endif
