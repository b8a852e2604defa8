/* core/log.h — structured logging (logfmt or JSON) on stderr, one event per line. */
#ifndef HOSTMON_CORE_LOG_H
#define HOSTMON_CORE_LOG_H

/*
 * API:
 *   log_event(level, "msg", "key1", "value1", "key2", "value2", ..., NULL)
 *   writes one line: time, level, msg, then the key/value pairs in order.
 *   Keys are plain identifiers; values are quoted and escaped as the format
 *   needs; a NULL value is written as an empty string. Numbers are formatted
 *   by the caller into a struct log_num (log_u64, log_f64).
 *   Each line is written with one write(2) so lines from threads never mix.
 */

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };
enum log_format { LOG_LOGFMT, LOG_JSON };

void log_setup(enum log_level level, enum log_format format);
int log_level_parse(const char *s, enum log_level *out);   /* 0 or -EINVAL */
int log_format_parse(const char *s, enum log_format *out); /* 0 or -EINVAL */
int log_enabled(enum log_level level);

void log_event(enum log_level level, const char *msg, ...) __attribute__((sentinel));

#define log_debug(...) log_event(LOG_DEBUG, __VA_ARGS__, (char *)NULL)
#define log_info(...)  log_event(LOG_INFO, __VA_ARGS__, (char *)NULL)
#define log_warn(...)  log_event(LOG_WARN, __VA_ARGS__, (char *)NULL)
#define log_error(...) log_event(LOG_ERROR, __VA_ARGS__, (char *)NULL)

/* Formats a number into a caller-provided buffer for use as a log value. */
struct log_num {
	char s[32];
};
const char *log_u64(struct log_num *n, unsigned long long v);
const char *log_f64(struct log_num *n, double v);

#endif
