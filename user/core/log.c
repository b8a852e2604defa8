/* core/log.c — structured logging (logfmt or JSON) on stderr, one event per line. */
#include "core/log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"

static enum log_level min_level = LOG_INFO;
static enum log_format out_format = LOG_LOGFMT;

static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_setup(enum log_level level, enum log_format format)
{
	min_level = level;
	out_format = format;
}

int log_level_parse(const char *s, enum log_level *out)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int log_format_parse(const char *s, enum log_format *out)
{
	if (strcmp(s, "logfmt") == 0) {
		*out = LOG_LOGFMT;
		return 0;
	}
	if (strcmp(s, "json") == 0) {
		*out = LOG_JSON;
		return 0;
	}
	return -EINVAL;
}

int log_enabled(enum log_level level)
{
	return level >= min_level;
}

const char *log_u64(struct log_num *n, unsigned long long v)
{
	/* n is an output buffer: callers need not initialise it */
	// cppcheck-suppress ctuuninitvar
	snprintf(n->s, sizeof(n->s), "%llu", v);
	return n->s;
}

const char *log_f64(struct log_num *n, double v)
{
	snprintf(n->s, sizeof(n->s), "%.6g", v);
	return n->s;
}

/* logfmt values are quoted only when they need to be, as logfmt readers expect. */
static int logfmt_needs_quotes(const char *v)
{
	if (*v == '\0')
		return 1;
	for (const unsigned char *p = (const unsigned char *)v; *p; p++)
		if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p >= 0x7f)
			return 1;
	return 0;
}

static void put_escaped(struct buf *b, const char *v)
{
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		default:
			if (*p < 0x20)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_putc(b, (char)*p);
		}
	}
}

static void put_pair(struct buf *b, const char *key, const char *value, int first)
{
	if (!value)
		value = "";
	if (out_format == LOG_JSON) {
		buf_puts(b, first ? "{\"" : ",\"");
		buf_puts(b, key);
		buf_puts(b, "\":\"");
		put_escaped(b, value);
		buf_putc(b, '"');
		return;
	}
	if (!first)
		buf_putc(b, ' ');
	buf_puts(b, key);
	buf_putc(b, '=');
	if (logfmt_needs_quotes(value)) {
		buf_putc(b, '"');
		put_escaped(b, value);
		buf_putc(b, '"');
	} else {
		buf_puts(b, value);
	}
}

void log_event(enum log_level level, const char *msg, ...)
{
	if (!log_enabled(level))
		return;

	int saved_errno = errno;
	char stackmem[1024];
	struct buf b = { .data = NULL };
	struct timespec ts;
	struct tm tm;
	char when[96];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(when, sizeof(when), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);

	put_pair(&b, "time", when, 1);
	put_pair(&b, "level", level_names[level], 0);
	put_pair(&b, "msg", msg, 0);

	va_list ap;
	va_start(ap, msg);
	for (;;) {
		const char *key = va_arg(ap, const char *);
		if (!key)
			break;
		const char *value = va_arg(ap, const char *);
		put_pair(&b, key, value, 0);
	}
	va_end(ap);
	if (out_format == LOG_JSON)
		buf_putc(&b, '}');
	buf_putc(&b, '\n');

	if (b.err == 0) {
		ssize_t unused = write(STDERR_FILENO, b.data, b.len);
		(void)unused;
	} else {
		/* Out of memory while logging: say so in a fixed line rather than not at all. */
		int n = snprintf(stackmem, sizeof(stackmem),
				 "time=%s level=error msg=\"log line lost: out of memory\"\n",
				 when);
		ssize_t unused = write(STDERR_FILENO, stackmem, (size_t)n);
		(void)unused;
	}
	buf_free(&b);
	errno = saved_errno;
}
