/* exposition/expo_parse.h — reads a Prometheus text 0.0.4 page back into a metric snapshot, so
 * the incident commands work on the same model the daemon renders from. */
#ifndef HOSTMON_EXPOSITION_EXPO_PARSE_H
#define HOSTMON_EXPOSITION_EXPO_PARSE_H

#include <stddef.h>

#include "exposition/metrics.h"

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

/* The family named name in s, or NULL; the index of label name in f, or -1. */
const struct metric_family *metric_snapshot_find(const struct metric_snapshot *s, const char *name);
int metric_family_label_index(const struct metric_family *f, const char *name);

#endif
