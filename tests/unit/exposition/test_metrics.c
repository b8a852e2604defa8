/* test_metrics.c — unit tests for the metric snapshot: validation, errors, sections, storage. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "exposition/expo.h"
#include "exposition/metrics.h"
#include "lib/buf.h"
#include "test.h"

static const char *const one_label[] = { "cgroup" };

/* The error a fresh snapshot records for one family declaration (0 if accepted). */
static int declare_error(const char *name, enum metric_type type, size_t nlabels,
			 const char *const *labels)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f = metric_family_get(s, name, "help", type, nlabels, labels);
	int err = metric_snapshot_error(s);

	CHECK((f == NULL) == (err != 0), "%s: family %p with error %d", name ? name : "(null)",
	      (void *)f, err);
	metric_snapshot_free(s);
	return err;
}

static int histogram_error(size_t nlabels, const char *const *labels, size_t nbounds,
			   const double *bounds)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f =
		metric_histogram_get(s, "h_seconds", "", nlabels, labels, nbounds, bounds);
	int err = metric_snapshot_error(s);

	CHECK((f == NULL) == (err != 0), "histogram: family %p with error %d", (void *)f, err);
	metric_snapshot_free(s);
	return err;
}

static void test_empty(void)
{
	struct metric_snapshot *s = metric_snapshot_new();

	CHECK(s != NULL, "new");
	CHECK(metric_snapshot_error(s) == 0, "fresh snapshot has no error");
	CHECK(metric_snapshot_first(s) == NULL, "no families");
	metric_snapshot_free(s);
	metric_snapshot_free(NULL);
	CHECK(metric_snapshot_error(NULL) == -EINVAL, "NULL snapshot");
}

static void test_metric_names(void)
{
	static const char *const good[] = { "a", "_a", ":a", "a:b_c9", "Hostmon_UP", "a1:" };
	static const char *const bad[] = { "",	       "1a",  "a-b", "a b", "a.b",
					   "\xc3\xa9", "a\n", "a{",  NULL };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(declare_error(good[i], METRIC_GAUGE, 0, NULL) == 0, "good name %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(declare_error(bad[i], METRIC_GAUGE, 0, NULL) == -EINVAL, "bad name %zu", i);
}

static void test_label_names(void)
{
	static const char *const good[] = { "a", "_a", "a_9", "A" };
	static const char *const bad[] = { "", "__a", "__", "9a", "a:b", "a-b", "\xc3\xa9", NULL };
	static const char *const dup[] = { "a", "b", "a" };
	static const char *const le[] = { "le" };
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		CHECK(declare_error("g", METRIC_GAUGE, 1, &good[i]) == 0, "good label %s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(declare_error("g", METRIC_GAUGE, 1, &bad[i]) == -EINVAL, "bad label %zu", i);
	CHECK(declare_error("g", METRIC_GAUGE, 3, dup) == -EINVAL, "duplicate label names");
	CHECK(declare_error("g", METRIC_GAUGE, 1, NULL) == -EINVAL, "labels without names");
	/* "le" is reserved only in histograms. */
	CHECK(declare_error("g", METRIC_GAUGE, 1, le) == 0, "le on a gauge");
	CHECK(histogram_error(1, le, 0, NULL) == -EINVAL, "le on a histogram");
}

static void test_counter_suffix(void)
{
	CHECK(declare_error("x_total", METRIC_COUNTER, 0, NULL) == 0, "x_total");
	CHECK(declare_error("x", METRIC_COUNTER, 0, NULL) == -EINVAL, "counter without _total");
	CHECK(declare_error("x_totals", METRIC_COUNTER, 0, NULL) == -EINVAL, "x_totals");
	CHECK(declare_error("_total", METRIC_COUNTER, 0, NULL) == -EINVAL, "nothing before _total");
	CHECK(declare_error("x_total", METRIC_HISTOGRAM, 0, NULL) == -EINVAL,
	      "histograms are declared with their bounds");
	CHECK(declare_error("x_total", (enum metric_type)42, 0, NULL) == -EINVAL, "unknown type");
}

static void test_bounds(void)
{
	static const double ok[] = { -1, 0, 0.5, 1e300 };
	static const double same[] = { 1, 1 };
	static const double down[] = { 2, 1 };
	static const double inf[] = { 1, INFINITY };
	static const double nan[] = { NAN };

	CHECK(histogram_error(0, NULL, 4, ok) == 0, "increasing bounds");
	CHECK(histogram_error(0, NULL, 0, NULL) == 0, "only +Inf");
	CHECK(histogram_error(0, NULL, 2, same) == -EINVAL, "equal bounds");
	CHECK(histogram_error(0, NULL, 2, down) == -EINVAL, "decreasing bounds");
	CHECK(histogram_error(0, NULL, 2, inf) == -EINVAL, "+Inf bound");
	CHECK(histogram_error(0, NULL, 1, nan) == -EINVAL, "NaN bound");
	CHECK(histogram_error(0, NULL, 1, NULL) == -EINVAL, "bounds missing");
}

static void test_redeclare(void)
{
	static const char *const ab[] = { "a", "b" };
	static const char *const ba[] = { "b", "a" };
	static const double b1[] = { 1, 2 };
	static const double b2[] = { 1, 3 };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f, *g, *h;

	f = metric_family_get(s, "r", "first help", METRIC_GAUGE, 2, ab);
	g = metric_family_get(s, "r", "other help", METRIC_GAUGE, 2, ab);
	CHECK(f && f == g, "same declaration gives the same family");
	CHECK_STR(metric_family_help(f), "first help");
	CHECK(metric_snapshot_error(s) == 0, "no error");
	CHECK(metric_family_get(s, "r", "", METRIC_GAUGE, 2, ba) == NULL, "labels reordered");
	CHECK(metric_snapshot_error(s) == -EINVAL, "error recorded");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	metric_family_get(s, "r", "", METRIC_GAUGE, 2, ab);
	CHECK(metric_family_get(s, "r", "", METRIC_GAUGE, 1, ab) == NULL, "fewer labels");
	CHECK(metric_snapshot_error(s) == -EINVAL, "error");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	metric_family_get(s, "r_total", "", METRIC_GAUGE, 0, NULL);
	CHECK(metric_family_get(s, "r_total", "", METRIC_COUNTER, 0, NULL) == NULL, "other type");
	CHECK(metric_snapshot_error(s) == -EINVAL, "error");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	h = metric_histogram_get(s, "h", "", 0, NULL, 2, b1);
	CHECK(h && metric_histogram_get(s, "h", "", 0, NULL, 2, b1) == h, "same histogram");
	CHECK(metric_histogram_get(s, "h", "", 0, NULL, 2, b2) == NULL, "other bounds");
	CHECK(metric_snapshot_error(s) == -EINVAL, "error");
	metric_snapshot_free(s);
}

/* The first error stays; later valid calls still work; NULL families are ignored. */
static void test_sticky(void)
{
	static const uint64_t counts[] = { 1 };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *bad, *g;

	bad = metric_family_get(s, "9bad", "", METRIC_GAUGE, 0, NULL);
	CHECK(bad == NULL, "invalid name");
	metric_add(bad, NULL, 1);
	metric_add_histogram(bad, NULL, counts, 1);
	metric_add(NULL, one_label, 1);
	metric_add_histogram(NULL, one_label, counts, 1);
	g = metric_family_get(s, "good", "", METRIC_GAUGE, 0, NULL);
	CHECK(g != NULL, "later valid declaration");
	metric_add(g, NULL, 5);
	CHECK(metric_family_nseries(g) == 1, "later valid add");
	CHECK(metric_snapshot_error(s) == -EINVAL, "first error kept: %d",
	      metric_snapshot_error(s));
	CHECK(metric_snapshot_first(s) == g && metric_family_next(g) == NULL,
	      "only the valid family is listed");
	metric_snapshot_free(s);
}

static void test_bad_adds(void)
{
	static const uint64_t counts[] = { 1, 2 };
	static const double b[] = { 1 };
	static const char *const null_value[] = { NULL };
	struct metric_snapshot *s;
	struct metric_family *g, *h;

	s = metric_snapshot_new();
	g = metric_family_get(s, "g", "", METRIC_GAUGE, 1, one_label);
	metric_add(g, NULL, 1);
	CHECK(metric_snapshot_error(s) == -EINVAL && metric_family_nseries(g) == 0, "no values");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	g = metric_family_get(s, "g", "", METRIC_GAUGE, 1, one_label);
	metric_add(g, null_value, 1);
	CHECK(metric_snapshot_error(s) == -EINVAL && metric_family_nseries(g) == 0, "NULL value");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	g = metric_family_get(s, "g", "", METRIC_GAUGE, 0, NULL);
	metric_add_histogram(g, NULL, counts, 1);
	CHECK(metric_snapshot_error(s) == -EINVAL && metric_family_nseries(g) == 0,
	      "histogram series in a gauge");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	h = metric_histogram_get(s, "h", "", 0, NULL, 1, b);
	metric_add(h, NULL, 1);
	CHECK(metric_snapshot_error(s) == -EINVAL && metric_family_nseries(h) == 0,
	      "plain sample in a histogram");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	h = metric_histogram_get(s, "h", "", 0, NULL, 1, b);
	metric_add_histogram(h, NULL, NULL, 1);
	CHECK(metric_snapshot_error(s) == -EINVAL && metric_family_nseries(h) == 0, "no buckets");
	metric_snapshot_free(s);
}

/* Strings are copied: callers may pass temporaries and reuse them. */
static void test_storage_and_read(void)
{
	static const double bounds[] = { 0.1, 1 };
	static const uint64_t counts[] = { 3, 2, 1 };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *g, *c, *h;
	const struct metric_family *it;
	const struct metric_series *m;
	char name[32], lname[2][16], lval[2][64], help[16];
	const char *names[2] = { lname[0], lname[1] };
	const char *vals[2] = { lval[0], lval[1] };
	int i;

	strcpy(name, "tmp_gauge");
	strcpy(help, "Gauge.");
	strcpy(lname[0], "a");
	strcpy(lname[1], "b");
	g = metric_family_get(s, name, help, METRIC_GAUGE, 2, names);
	memset(name, 'x', sizeof(name) - 1);
	memset(help, 'x', sizeof(help) - 1);
	memset(lname, 'y', sizeof(lname));
	for (i = 0; i < 1000; i++) {
		snprintf(lval[0], sizeof(lval[0]), "value-%d", i);
		snprintf(lval[1], sizeof(lval[1]), "%0*d", i % 60, i);
		metric_add(g, vals, i + 0.5);
	}
	c = metric_family_get(s, "c_total", NULL, METRIC_COUNTER, 0, NULL);
	metric_add(c, NULL, 7);
	h = metric_histogram_get(s, "h", "H.", 1, one_label, 2, bounds);
	strcpy(lval[0], "/x");
	metric_add_histogram(h, vals, counts, 1.5);
	CHECK(metric_snapshot_error(s) == 0, "error %d", metric_snapshot_error(s));

	it = metric_snapshot_first(s);
	CHECK(it == g, "first family");
	CHECK_STR(metric_family_name(g), "tmp_gauge");
	CHECK_STR(metric_family_help(g), "Gauge.");
	CHECK(metric_family_type(g) == METRIC_GAUGE, "type");
	CHECK(metric_family_nlabels(g) == 2, "nlabels");
	CHECK_STR(metric_family_label_name(g, 0), "a");
	CHECK_STR(metric_family_label_name(g, 1), "b");
	CHECK(metric_family_label_name(g, 2) == NULL, "label index out of range");
	CHECK(metric_family_nseries(g) == 1000, "nseries %zu", metric_family_nseries(g));
	for (i = 0, m = metric_family_first_series(g); m; m = metric_series_next(m), i++) {
		snprintf(lval[0], sizeof(lval[0]), "value-%d", i);
		snprintf(lval[1], sizeof(lval[1]), "%0*d", i % 60, i);
		if (strcmp(metric_series_label_value(m, 0), lval[0]) ||
		    strcmp(metric_series_label_value(m, 1), lval[1]) ||
		    metric_series_value(m) != i + 0.5 || metric_series_buckets(m) != NULL)
			break;
	}
	CHECK(i == 1000, "series in insertion order, intact (stopped at %d)", i);

	it = metric_family_next(it);
	CHECK(it == c && metric_family_type(c) == METRIC_COUNTER, "second family");
	CHECK_STR(metric_family_help(c), "");
	CHECK(metric_series_value(metric_family_first_series(c)) == 7, "counter value");

	it = metric_family_next(it);
	CHECK(it == h && metric_family_next(it) == NULL, "third and last family");
	CHECK(metric_family_type(h) == METRIC_HISTOGRAM, "histogram type");
	CHECK(metric_family_nbounds(h) == 2 && metric_family_bounds(h)[0] == 0.1 &&
		      metric_family_bounds(h)[1] == 1,
	      "bounds");
	m = metric_family_first_series(h);
	CHECK(m && metric_series_buckets(m) && metric_series_buckets(m)[0] == 3 &&
		      metric_series_buckets(m)[1] == 2 && metric_series_buckets(m)[2] == 1,
	      "buckets copied");
	CHECK(m && metric_series_sum(m) == 1.5, "sum");
	if (m)
		CHECK_STR(metric_series_label_value(m, 0), "/x");
	metric_snapshot_free(s);
}

/* Label values larger than an arena chunk get their own chunk. */
static void test_large_values(void)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *g = metric_family_get(s, "big", "", METRIC_GAUGE, 1, one_label);
	size_t len = 1 << 20;
	char *v = malloc(len + 1);
	const char *vals[] = { v };
	const struct metric_series *m;
	int i;

	memset(v, 'v', len);
	v[len] = '\0';
	for (i = 0; i < 3; i++) {
		metric_add(g, vals, i);
		metric_add(g, one_label, i);
	}
	CHECK(metric_snapshot_error(s) == 0, "error %d", metric_snapshot_error(s));
	for (i = 0, m = metric_family_first_series(g); m; m = metric_series_next(m), i++) {
		const char *got = metric_series_label_value(m, 0);

		if (i % 2 ? strcmp(got, "cgroup") != 0 : strlen(got) != len)
			break;
	}
	CHECK(i == 6, "stopped at %d", i);
	free(v);
	metric_snapshot_free(s);
}

static int releases;

static void count_release(void *arg)
{
	(*(int *)arg)++;
}

/* Borrowed label strings are not copied and stay the caller's until the snapshot is freed. */
static void test_borrowed(void)
{
	static const char *const labels[] = { "vhost", "name" };
	char vhost[] = "/", name[] = "orders";
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f = metric_family_get(s, "q_messages", "h", METRIC_GAUGE, 2, labels);
	const char *v[] = { vhost, name };

	releases = 0;
	CHECK(metric_snapshot_hold(s, count_release, &releases) == 0, "hold registered");
	metric_add_borrowed(f, v, 3);
	metric_add(f, v, 4);
	const struct metric_series *m = metric_family_first_series(f);
	CHECK(m && metric_series_label_value(m, 1) == name, "borrowed: the caller's pointer");
	m = m ? metric_series_next(m) : NULL;
	CHECK(m && metric_series_label_value(m, 1) != name &&
		      strcmp(metric_series_label_value(m, 1), "orders") == 0,
	      "metric_add still copies");
	CHECK(releases == 0, "not released while the snapshot lives");
	metric_snapshot_free(s);
	CHECK(releases == 1, "released once with the snapshot: %d", releases);

	s = metric_snapshot_new();
	f = metric_family_get(s, "h_seconds", "h", METRIC_HISTOGRAM, 0, NULL);
	metric_add_borrowed(f, NULL, 1);
	CHECK(metric_snapshot_error(s) == -EINVAL, "a histogram takes no plain value");
	metric_snapshot_free(s);
}

static void check_page(const struct metric_snapshot *s, const char *want)
{
	struct buf b;
	int rc;

	buf_init(&b);
	rc = expo_render(s, EXPO_TEXT, &b);
	buf_putc(&b, '\0');
	CHECK(rc == 0 && !b.err, "render %d", rc);
	if (!b.err)
		CHECK_STR(b.data, want);
	buf_free(&b);
}

static const char *const x_label[] = { "x" };
static const char *const y_label[] = { "y" };

static void add_x(struct metric_family *f, const char *x, double v)
{
	const char *vals[] = { x };

	metric_add(f, vals, v);
}

/* The label values of f's series, joined by ",", so a test compares one string. */
static const char *series_xs(const struct metric_family *f)
{
	static char out[256];
	size_t len = 0;

	out[0] = '\0';
	for (const struct metric_series *m = metric_family_first_series(f); m;
	     m = metric_series_next(m))
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", len ? "," : "",
					metric_series_label_value(m, 0));
	return out;
}

/* The names of the listed families, joined by ",". */
static const char *family_names(const struct metric_snapshot *s)
{
	static char out[256];
	size_t len = 0;

	out[0] = '\0';
	for (const struct metric_family *f = metric_snapshot_first(s); f; f = metric_family_next(f))
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s", len ? "," : "",
					metric_family_name(f));
	return out;
}

/*
 * A failed section loses the families it created and the series it added to
 * older ones; what came before is intact, still extensible and renders.
 */
static void test_section_rollback(void)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *a, *b;
	struct metric_section sec;

	a = metric_family_get(s, "a_total", "A.", METRIC_COUNTER, 1, x_label);
	add_x(a, "1", 1);

	metric_snapshot_begin_section(s, &sec);
	add_x(metric_family_get(s, "a_total", "", METRIC_COUNTER, 1, x_label), "2", 2);
	b = metric_family_get(s, "b", "B.", METRIC_GAUGE, 0, NULL);
	metric_add(b, NULL, 3);
	CHECK(metric_snapshot_error(s) == 0, "no error yet");
	CHECK(metric_family_get(s, "9bad", "", METRIC_GAUGE, 0, NULL) == NULL, "invalid name");
	CHECK(metric_snapshot_error(s) == -EINVAL, "the section's error is reported inside it");
	add_x(a, "3", 3);
	CHECK(metric_snapshot_end_section(s, &sec, 0) == -EINVAL, "the section's error returned");
	CHECK(metric_snapshot_error(s) == 0, "the snapshot has no error: %d",
	      metric_snapshot_error(s));
	CHECK_STR(family_names(s), "a_total");
	CHECK(metric_family_nseries(a) == 1, "nseries %zu", metric_family_nseries(a));
	CHECK_STR(series_xs(a), "1");
	add_x(a, "4", 4);
	CHECK_STR(series_xs(a), "1,4");
	check_page(s, "# HELP a_total A.\n# TYPE a_total counter\n"
		      "a_total{x=\"1\"} 1\na_total{x=\"4\"} 4\n");

	/* A re-declaration with other labels fails the section; the older family stays. */
	metric_snapshot_begin_section(s, &sec);
	CHECK(metric_family_get(s, "a_total", "", METRIC_COUNTER, 1, y_label) == NULL,
	      "re-declared with other labels");
	CHECK(metric_snapshot_end_section(s, &sec, 0) == -EINVAL, "section failed");
	CHECK_STR(series_xs(a), "1,4");

	/* The collect's own error rolls back a section that appended only valid data. */
	metric_snapshot_begin_section(s, &sec);
	metric_add(metric_family_get(s, "c", "", METRIC_GAUGE, 0, NULL), NULL, 1);
	add_x(a, "5", 5);
	CHECK(metric_snapshot_end_section(s, &sec, -EIO) == -EIO, "rc returned");
	CHECK_STR(family_names(s), "a_total");
	CHECK_STR(series_xs(a), "1,4");

	/* An empty snapshot's first section rolls back to empty. */
	metric_snapshot_free(s);
	s = metric_snapshot_new();
	metric_snapshot_begin_section(s, &sec);
	metric_add(metric_family_get(s, "c", "", METRIC_GAUGE, 0, NULL), NULL, 1);
	CHECK(metric_snapshot_end_section(s, &sec, -EIO) == -EIO, "rc returned");
	CHECK(metric_snapshot_first(s) == NULL, "no family left");
	metric_add(metric_family_get(s, "d", "", METRIC_GAUGE, 0, NULL), NULL, 2);
	CHECK_STR(family_names(s), "d");
	check_page(s, "# TYPE d gauge\nd 2\n");
	metric_snapshot_free(s);
}

/* Sections one after the other: a failed one frees its family names for the next. */
static void test_section_consecutive(void)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *a, *b;
	struct metric_section sec;

	a = metric_family_get(s, "a", "", METRIC_GAUGE, 1, x_label);
	metric_snapshot_begin_section(s, &sec);
	add_x(a, "1", 1);
	add_x(metric_family_get(s, "b", "", METRIC_GAUGE, 1, x_label), "1", 1);
	CHECK(metric_snapshot_end_section(s, &sec, 0) == 0, "first section kept");

	metric_snapshot_begin_section(s, &sec);
	add_x(a, "2", 2);
	add_x(metric_family_get(s, "c", "", METRIC_GAUGE, 1, x_label), "2", 2);
	CHECK(metric_snapshot_end_section(s, &sec, -ENODATA) == -ENODATA, "second rolled back");

	metric_snapshot_begin_section(s, &sec);
	b = metric_family_get(s, "c", "", METRIC_GAUGE, 1, y_label);
	CHECK(b != NULL, "a rolled-back name can be declared again, with other labels");
	add_x(a, "3", 3);
	CHECK(metric_snapshot_end_section(s, &sec, 0) == 0, "third kept");
	CHECK_STR(family_names(s), "a,b,c");
	CHECK_STR(series_xs(a), "1,3");
	CHECK(b && metric_family_nseries(b) == 0 &&
		      strcmp(metric_family_label_name(b, 0), "y") == 0,
	      "the new declaration");
	metric_snapshot_free(s);
}

static void test_section_nested(void)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *old, *p;
	struct metric_section outer, inner;

	old = metric_family_get(s, "old", "", METRIC_GAUGE, 1, x_label);
	add_x(old, "0", 0);

	/* inner fails: only inner's work goes, outer's stays */
	metric_snapshot_begin_section(s, &outer);
	add_x(old, "o1", 1);
	p = metric_family_get(s, "p", "", METRIC_GAUGE, 1, x_label);
	add_x(p, "p1", 1);
	metric_snapshot_begin_section(s, &inner);
	add_x(old, "i1", 2);
	add_x(p, "i1", 2);
	add_x(metric_family_get(s, "q", "", METRIC_GAUGE, 1, x_label), "i1", 2);
	metric_family_get(s, "bad-name", "", METRIC_GAUGE, 0, NULL);
	CHECK(metric_snapshot_end_section(s, &inner, 0) == -EINVAL, "inner failed");
	CHECK(metric_snapshot_error(s) == 0, "outer section unaffected");
	CHECK_STR(family_names(s), "old,p");
	CHECK_STR(series_xs(old), "0,o1");
	CHECK_STR(series_xs(p), "p1");
	/* inner succeeds: its work joins outer's */
	metric_snapshot_begin_section(s, &inner);
	add_x(old, "i2", 3);
	add_x(p, "i2", 3);
	add_x(metric_family_get(s, "r", "", METRIC_GAUGE, 1, x_label), "i2", 3);
	CHECK(metric_snapshot_end_section(s, &inner, 0) == 0, "inner kept");
	CHECK(metric_snapshot_end_section(s, &outer, 0) == 0, "outer kept");
	CHECK_STR(family_names(s), "old,p,r");
	CHECK_STR(series_xs(old), "0,o1,i2");
	CHECK_STR(series_xs(p), "p1,i2");

	/* outer fails after an inner that succeeded: both go, inner's adds to old too */
	metric_snapshot_begin_section(s, &outer);
	metric_snapshot_begin_section(s, &inner);
	add_x(old, "i3", 4);
	add_x(metric_family_get(s, "t", "", METRIC_GAUGE, 1, x_label), "i3", 4);
	CHECK(metric_snapshot_end_section(s, &inner, 0) == 0, "inner kept");
	add_x(old, "o3", 5);
	CHECK_STR(series_xs(old), "0,o1,i2,i3,o3");
	CHECK(metric_snapshot_end_section(s, &outer, -EIO) == -EIO, "outer failed");
	CHECK_STR(family_names(s), "old,p,r");
	CHECK_STR(series_xs(old), "0,o1,i2");

	/* outer touched old before inner did; inner succeeds, outer fails: back to before outer */
	metric_snapshot_begin_section(s, &outer);
	add_x(old, "o4", 6);
	metric_snapshot_begin_section(s, &inner);
	add_x(old, "i4", 7);
	CHECK(metric_snapshot_end_section(s, &inner, 0) == 0, "inner kept");
	CHECK(metric_snapshot_end_section(s, &outer, -EIO) == -EIO, "outer failed");
	CHECK_STR(series_xs(old), "0,o1,i2");
	CHECK(metric_family_nseries(old) == 3, "nseries %zu", metric_family_nseries(old));

	/* closing out of order is refused and changes nothing */
	metric_snapshot_begin_section(s, &outer);
	metric_snapshot_begin_section(s, &inner);
	CHECK(metric_snapshot_end_section(s, &outer, 0) == -EINVAL, "outer before inner");
	CHECK(metric_snapshot_end_section(s, &inner, 0) == 0, "inner");
	CHECK(metric_snapshot_end_section(s, &outer, 0) == 0, "then outer");
	CHECK(metric_snapshot_end_section(s, &outer, 0) == -EINVAL, "closed twice");
	CHECK(metric_snapshot_end_section(NULL, &outer, 0) == -EINVAL, "NULL snapshot");
	metric_snapshot_free(s);
}

/* Outside sections an error stays sticky, and sections neither clear nor take it. */
static void test_section_outside_error(void)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_section sec;

	metric_family_get(s, "x", "", METRIC_COUNTER, 0, NULL);
	CHECK(metric_snapshot_error(s) == -EINVAL, "error outside a section");
	metric_snapshot_begin_section(s, &sec);
	CHECK(metric_snapshot_error(s) == 0, "a new section starts clean");
	metric_add(metric_family_get(s, "g", "", METRIC_GAUGE, 0, NULL), NULL, 1);
	CHECK(metric_snapshot_end_section(s, &sec, 0) == 0, "the section succeeds");
	CHECK(metric_snapshot_error(s) == -EINVAL, "still sticky after it");
	metric_snapshot_begin_section(s, &sec);
	metric_family_get(s, "y", "", METRIC_COUNTER, 0, NULL);
	CHECK(metric_snapshot_end_section(s, &sec, 0) == -EINVAL, "a failing section");
	CHECK(metric_snapshot_error(s) == -EINVAL, "the outer error kept");
	CHECK_STR(family_names(s), "g");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	metric_snapshot_begin_section(s, &sec);
	metric_family_get(s, "x", "", METRIC_COUNTER, 0, NULL);
	metric_snapshot_end_section(s, &sec, 0);
	CHECK(metric_snapshot_error(s) == 0, "a section's error does not leak out");
	metric_family_get(s, "x", "", METRIC_COUNTER, 0, NULL);
	CHECK(metric_snapshot_error(s) == -EINVAL, "but one after it is sticky");
	metric_snapshot_free(s);
}

/* Many series into an older family in a failed section: all go, nothing leaks (ASan). */
static void test_section_many(void)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *a = metric_family_get(s, "a", "", METRIC_GAUGE, 1, x_label);
	struct metric_section sec;
	char x[16];

	add_x(a, "keep", 0);
	metric_snapshot_begin_section(s, &sec);
	for (int i = 0; i < 20000; i++) {
		snprintf(x, sizeof(x), "%d", i);
		add_x(a, x, i);
	}
	CHECK(metric_family_nseries(a) == 20001, "added");
	CHECK(metric_snapshot_end_section(s, &sec, -EIO) == -EIO, "rolled back");
	CHECK(metric_family_nseries(a) == 1 && strcmp(series_xs(a), "keep") == 0, "only keep");
	metric_snapshot_free(s);
}

/* What generated series are made from in the tests: names[i] and values[i], -1 left out. */
struct gen_rows {
	const char *const *names;
	const double *values;
};

static bool gen_row(const void *arg, size_t i, const char **labels, double *value)
{
	const struct gen_rows *r = arg;

	if (r->values[i] < 0)
		return false;
	labels[0] = r->names[i];
	*value = r->values[i];
	return true;
}

/*
 * Generated series render in their place among stored ones, skip what the function leaves
 * out, escape like stored labels, and go with a failed section like any add.
 */
static void test_generated(void)
{
	static const char *const names[] = { "a", "b\"q", "c" };
	static const double values[] = { 1, -1, 2.5 };
	struct gen_rows rows = { names, values };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f = metric_family_get(s, "g", "G.", METRIC_GAUGE, 1, x_label);
	struct metric_section sec;
	metric_series_fn fn;
	const void *arg;
	size_t n;

	struct gen_rows tmp = rows;
	add_x(f, "first", 0);
	metric_add_generated(f, 3, gen_row, &tmp, sizeof(tmp));
	tmp.names = NULL; /* the argument was copied */
	add_x(f, "last", 9);
	CHECK(metric_snapshot_error(s) == 0 && metric_family_nseries(f) == 3, "three nodes: %zu",
	      metric_family_nseries(f));
	const struct metric_series *m = metric_series_next(metric_family_first_series(f));
	CHECK(m && metric_series_generator(m, &fn, &arg, &n) && fn == gen_row && n == 3 &&
		      ((const struct gen_rows *)arg)->values == values,
	      "the node tells its generator");
	CHECK(!metric_series_generator(metric_family_first_series(f), &fn, &arg, &n),
	      "a stored series is no generator");
	check_page(s, "# HELP g G.\n# TYPE g gauge\n"
		      "g{x=\"first\"} 0\ng{x=\"a\"} 1\ng{x=\"c\"} 2.5\ng{x=\"last\"} 9\n");

	metric_snapshot_begin_section(s, &sec);
	metric_add_generated(f, 3, gen_row, &rows, sizeof(rows));
	CHECK(metric_snapshot_end_section(s, &sec, -EIO) == -EIO, "section fails");
	CHECK(metric_family_nseries(f) == 3, "its generated node went: %zu",
	      metric_family_nseries(f));

	metric_add_generated(f, 0, gen_row, NULL, 0);
	CHECK(metric_snapshot_error(s) == 0, "no series and no argument is fine");
	metric_add_generated(f, 1, NULL, &rows, sizeof(rows));
	CHECK(metric_snapshot_error(s) == -EINVAL, "no function: -EINVAL");
	metric_snapshot_free(s);

	s = metric_snapshot_new();
	f = metric_histogram_get(s, "h_seconds", "h", 0, NULL, 0, NULL);
	metric_add_generated(f, 1, gen_row, &rows, sizeof(rows));
	CHECK(metric_snapshot_error(s) == -EINVAL, "a histogram is never generated");
	metric_add_generated(NULL, 1, gen_row, &rows, sizeof(rows)); /* ignored */
	metric_snapshot_free(s);
}

int main(void)
{
	test_borrowed();
	test_empty();
	test_metric_names();
	test_label_names();
	test_counter_suffix();
	test_bounds();
	test_redeclare();
	test_sticky();
	test_bad_adds();
	test_storage_and_read();
	test_large_values();
	test_section_rollback();
	test_section_consecutive();
	test_section_nested();
	test_section_outside_error();
	test_section_many();
	test_generated();
	return test_summary("exposition/test_metrics");
}
