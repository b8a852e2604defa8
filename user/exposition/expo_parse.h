/* exposition/expo_parse.h — reads a Prometheus text 0.0.4 page back into a metric snapshot, so
 * the incident commands work on the same model the daemon renders from. */
#ifndef HOSTMON_EXPOSITION_EXPO_PARSE_H
#define HOSTMON_EXPOSITION_EXPO_PARSE_H

#include <stddef.h>

#include "exposition/metrics.h"
#include "lib/buf.h"

/*
 * API:
 *   expo_parse_text() appends every family of text[0..len) to s: counters
 *   and gauges as such, untyped samples as gauges, histograms with their
 *   bounds and NON-cumulative bucket counts (as the model keeps them) and
 *   their sum; summaries are skipped. HELP is kept; timestamps are
 *   ignored. A page it accepts is one expo_render(EXPO_TEXT) can write:
 *   every series of a family has the same label names; a histogram
 *   series' buckets come together, ascending, end with +Inf, and hold
 *   whole counts that never decrease; its _count (when given) equals +Inf;
 *   all series of one histogram have the same bounds.
 *   Returns 0; -EINVAL with "line N: why" in err for input it refuses, or
 *   -ENOMEM. On error s may hold the families parsed so far.
 *   Limits: a line of at most EXPO_PARSE_MAX_LINE bytes, at most
 *   EXPO_PARSE_MAX_LABELS labels a sample, EXPO_PARSE_MAX_BOUNDS buckets a
 *   histogram; the caller bounds len.
 */
#define EXPO_PARSE_MAX_LINE   65536
#define EXPO_PARSE_MAX_LABELS 32
#define EXPO_PARSE_MAX_BOUNDS 128

int expo_parse_text(const char *text, size_t len, struct metric_snapshot *s, char *err,
		    size_t errlen);

/*
 * Pieces for readers of other pages (the RabbitMQ plugin's, parsed as it streams):
 *   expo_lines_feed() splits bytes arriving in pieces of any size into lines
 *   and calls fn(arg, line, len) for each complete one, the newline left out;
 *   only a line split across pieces is copied. It returns fn's first
 *   non-zero result, -E2BIG for a line over max_line bytes (noticed before
 *   it is buffered), -EBADMSG for a NUL byte, -ENOMEM. lines->line is the
 *   number of the line last handed out (or refused). expo_lines_finish()
 *   is -EBADMSG when bytes follow the last newline (a page cut short).
 *   expo_metric_name_len() is the length of the metric name starting l
 *   (0: none). expo_sample_tail() reads what follows a sample's name and
 *   labels from l[i]: blanks, the value, an optional timestamp; 0 or
 *   -EINVAL.
 */
struct expo_lines {
	struct buf partial; /* the start of a line whose end has not arrived */
	size_t max_line;
	size_t line;
};
typedef int (*expo_line_fn)(void *arg, const char *line, size_t len);

int expo_lines_init(struct expo_lines *lines, size_t max_line);
int expo_lines_feed(struct expo_lines *lines, const char *data, size_t len, expo_line_fn fn,
		    void *arg);
int expo_lines_finish(const struct expo_lines *lines);
void expo_lines_free(struct expo_lines *lines);
size_t expo_metric_name_len(const char *l, size_t len);
int expo_sample_tail(const char *l, size_t len, size_t i, double *value);

/* The family named name in s, or NULL; the index of label name in f, or -1. */
const struct metric_family *metric_snapshot_find(const struct metric_snapshot *s, const char *name);
int metric_family_label_index(const struct metric_family *f, const char *name);

#endif
