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
 *   expo_render_to() does the same through a sink: out is then a scratch
 *   buffer whose bytes go to sink->take(arg, data, len) whenever it holds
 *   EXPO_SINK_BYTES or more, and at the end, so memory holds a piece of the
 *   page rather than all of it (a page streamed into gzip). A non-zero
 *   return of take ends the render with it. out is left empty on success.
 *
 *   expo_gzip() appends the gzip (RFC 1952) encoding of in[0..len) to out,
 *   at the fastest compression level; 0 or -errno. The same as a stream:
 *   expo_gzip_begin(out) (NULL + errno), expo_gzip_write() any number of
 *   times, the last one with last = true (it writes the trailer), then
 *   expo_gzip_free(). The first error sticks; out then holds a partial
 *   stream the caller drops.
 */

enum expo_format {
	EXPO_TEXT,	  /* text/plain; version=0.0.4 */
	EXPO_OPENMETRICS, /* application/openmetrics-text; version=1.0.0 */
};

#define EXPO_TEXT_CONTENT_TYPE	      "text/plain; version=0.0.4; charset=utf-8"
#define EXPO_OPENMETRICS_CONTENT_TYPE "application/openmetrics-text; version=1.0.0; charset=utf-8"

/* What a sink is handed at a time, at least (a line more at most). */
#define EXPO_SINK_BYTES (64u * 1024u)

struct expo_sink {
	int (*take)(void *arg, const char *data, size_t len);
	void *arg;
};

int expo_render(const struct metric_snapshot *s, enum expo_format fmt, struct buf *out);
int expo_render_to(const struct metric_snapshot *s, enum expo_format fmt, struct buf *out,
		   const struct expo_sink *sink);

struct expo_gzip;
int expo_gzip(const void *in, size_t len, struct buf *out);
struct expo_gzip *expo_gzip_begin(struct buf *out);
int expo_gzip_write(struct expo_gzip *z, const void *in, size_t len, bool last);
void expo_gzip_free(struct expo_gzip *z);

#endif
