/* exposition/metrics.h — the metric snapshot model: collectors fill it, the exposition writer
 * renders it. */
#ifndef HOSTMON_EXPOSITION_METRICS_H
#define HOSTMON_EXPOSITION_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   A snapshot is a list of metric families in creation order; each family
 *   has a fixed list of label names and a list of series in insertion
 *   order. All strings are copied into the snapshot's arena, so callers may
 *   pass temporaries. Freeing the snapshot frees everything at once.
 *
 *   Errors: the first failure (-ENOMEM, or -EINVAL for an invalid
 *   metric/label name, a counter not ending in _total, a family re-declared
 *   with another type/labels/buckets) is recorded and returned by
 *   metric_snapshot_error(); functions that would return a family return
 *   NULL, and every add function accepts a NULL family and does nothing.
 *   Outside any section the error is sticky for the snapshot.
 *
 *   Sections contain failures: metric_snapshot_begin_section() opens one,
 *   and errors recorded while it is open belong to it (metric_snapshot_error()
 *   then reports the innermost open section's). metric_snapshot_end_section(s,
 *   sec, rc) closes it: when rc or the section's error is non-zero, every
 *   family created in the section is unlinked and the series it added to
 *   older families are removed, then that error is returned; the snapshot
 *   is otherwise untouched and its own error unchanged. Sections nest and
 *   are closed in reverse order; the struct is the caller's (on its stack)
 *   and its fields are private. Memory of rolled-back entries is not reused
 *   until the snapshot is freed, and holds registered in a section stay.
 *   Families a failed section created must not be used after it ends.
 *   So a metrics source needs no error check of its own: the code that
 *   runs it in a section (the collector set, the daemon) does it.
 *
 *   metric_family_get() returns the existing family when one with the same
 *   name, type, label names (and buckets) already exists, so two collectors
 *   may contribute series to one family.
 *
 *   Histograms: a family declares its upper bounds (strictly increasing,
 *   finite, without +Inf). A series gives nbounds + 1 NON-cumulative bucket
 *   counts, the last one counting observations above the largest bound; the
 *   writer renders cumulative le buckets, +Inf, _sum and _count.
 *
 *   Counter family names end in "_total" (the OpenMetrics writer derives the
 *   family name by stripping it). Duplicate series are the caller's
 *   responsibility; the snapshot does not check them.
 */

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

struct metric_snapshot;
struct metric_family;
struct metric_undo;

struct metric_section {
	struct metric_section *parent;
	struct metric_family *tail; /* the last family when the section began */
	uint64_t first_seq;	    /* families with a lower seq predate the section */
	uint64_t id;
	struct metric_undo *undo; /* older families this section added series to */
	int err;
};

struct metric_snapshot *metric_snapshot_new(void);	    /* NULL + errno on failure */
void metric_snapshot_free(struct metric_snapshot *s);	    /* accepts NULL */
int metric_snapshot_error(const struct metric_snapshot *s); /* 0 or -errno */

void metric_snapshot_begin_section(struct metric_snapshot *s, struct metric_section *sec);
/* 0, or the error that rolled sec back (rc, else the section's); -EINVAL on misuse. */
int metric_snapshot_end_section(struct metric_snapshot *s, struct metric_section *sec, int rc);

struct metric_family *metric_family_get(struct metric_snapshot *s, const char *name,
					const char *help, enum metric_type type, size_t nlabels,
					const char *const *label_names);

struct metric_family *metric_histogram_get(struct metric_snapshot *s, const char *name,
					   const char *help, size_t nlabels,
					   const char *const *label_names, size_t nbounds,
					   const double *bounds);

/* label_values has the family's nlabels entries (NULL allowed when nlabels == 0). */
void metric_add(struct metric_family *f, const char *const *label_values, double value);
void metric_add_histogram(struct metric_family *f, const char *const *label_values,
			  const uint64_t *bucket_counts, double sum);
/*
 * Like metric_add(), without copying the label strings: they must stay valid
 * until the snapshot is freed, which metric_snapshot_hold() arranges. For a
 * collector exporting hundreds of thousands of series from memory it keeps
 * anyway (RabbitMQ queues), this saves a copy of every name per scrape.
 */
void metric_add_borrowed(struct metric_family *f, const char *const *label_values, double value);
/* Calls release(arg) when s is freed. 0, or -ENOMEM (nothing registered: do not borrow). */
int metric_snapshot_hold(struct metric_snapshot *s, void (*release)(void *arg), void *arg);

/*
 * Series made when the snapshot is rendered instead of stored in it: for a
 * source with hundreds of thousands of series (RabbitMQ queues), the
 * snapshot then holds one node where it would hold one per series, and the
 * page is written from memory the source keeps anyway (held with
 * metric_snapshot_hold). At render time series(arg, i, labels, &value) is
 * called for i in [0, n), in order: it fills the family's nlabels label
 * values (borrowed, valid until the snapshot is freed) and the value, or
 * returns false to leave series i out. arg_size bytes of arg are copied into
 * the snapshot. Gauges and counters only (-EINVAL otherwise); the node
 * takes its place among the family's series and is rolled back with its
 * section like any add.
 */
typedef bool (*metric_series_fn)(const void *arg, size_t i, const char **labels, double *value);
void metric_add_generated(struct metric_family *f, size_t n, metric_series_fn series,
			  const void *arg, size_t arg_size);

/* Read access for the writer and for tests. A node of metric_add_generated() is one series node
 * (metric_family_nseries counts it once); metric_series_generator() tells it apart. */
struct metric_series;
const struct metric_family *metric_snapshot_first(const struct metric_snapshot *s);
const struct metric_family *metric_family_next(const struct metric_family *f);
const char *metric_family_name(const struct metric_family *f);
const char *metric_family_help(const struct metric_family *f);
enum metric_type metric_family_type(const struct metric_family *f);
size_t metric_family_nlabels(const struct metric_family *f);
const char *metric_family_label_name(const struct metric_family *f, size_t i);
size_t metric_family_nbounds(const struct metric_family *f);
const double *metric_family_bounds(const struct metric_family *f);
size_t metric_family_nseries(const struct metric_family *f);
const struct metric_series *metric_family_first_series(const struct metric_family *f);
const struct metric_series *metric_series_next(const struct metric_series *m);
const char *metric_series_label_value(const struct metric_series *m, size_t i);
double metric_series_value(const struct metric_series *m);
const uint64_t *metric_series_buckets(const struct metric_series *m); /* nbounds + 1 */
double metric_series_sum(const struct metric_series *m);
/* A node of metric_add_generated(): its series function and n; false for a stored series. */
bool metric_series_generator(const struct metric_series *m, metric_series_fn *series,
			     const void **arg, size_t *n);

#endif
