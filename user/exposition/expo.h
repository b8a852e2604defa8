/* exposition/expo.h — renders a metric snapshot as Prometheus text 0.0.4 or OpenMetrics 1.0,
 * optionally gzip.
 */
#ifndef HOSTMON_EXPOSITION_EXPO_H
#define HOSTMON_EXPOSITION_EXPO_H

#include "exposition/metrics.h"
#include "lib/buf.h"

/*
 * API:
 *   expo_render() appends the whole snapshot to out; 0 or -errno.
 *   Text 0.0.4: "# HELP" (escapes \ and newline), "# TYPE", samples.
 *   OpenMetrics 1.0: counter families are declared without the _total
 *   suffix, HELP escapes \ " and newline, and the output ends with "# EOF".
 *   Label values escape \ " and newline in both; invalid UTF-8 in label
 *   values and help is replaced by U+FFFD so parsers never reject the page.
 *   Values: integers print without exponent or fraction, others in the
 *   shortest form that round-trips, +Inf/-Inf/NaN as the formats spell them.
 *
 *   expo_gzip() appends the gzip (RFC 1952) encoding of in[0..len) to out,
 *   at the fastest compression level; 0 or -errno.
 */

enum expo_format {
	EXPO_TEXT,	  /* text/plain; version=0.0.4 */
	EXPO_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

#define EXPO_TEXT_CONTENT_TYPE	      "text/plain; version=0.0.4; charset=utf-8"
#define EXPO_OPENMETRICS_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

int expo_render(const struct metric_snapshot *s, enum expo_format fmt, struct buf *out);
int expo_gzip(const void *in, size_t len, struct buf *out);

#endif
