/* test_expo_parse.c — the text parser: what the writer renders reads back as the same snapshot;
 * what it could not have written is refused with the line and the reason. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exposition/expo.h"
#include "exposition/expo_parse.h"
#include "exposition/metrics.h"
#include "lib/buf.h"
#include "test.h"

static const char *const cg_labels[] = { "cgroup", "status_code" };
static const double bounds[] = { 0.005, 0.5, 10 };

/* The snapshot the daemon could render: a counter, a gauge, a histogram, awkward label values. */
static struct metric_snapshot *sample_snapshot(void)
{
	struct metric_snapshot *s = metric_snapshot_new();
	const char *const a[] = { "/system.slice/a \"quoted\" \\ x", "200" };
	const char *const b[] = { "/b\nnewline", "503" };
	const uint64_t ha[] = { 1, 2, 3, 4 }, hb[] = { 0, 0, 0, 7 };

	struct metric_family *c = metric_family_get(s, "x_seconds_total", "help with \\ and\nnl",
						    METRIC_COUNTER, 2, cg_labels);
	metric_add(c, a, 1.5);
	metric_add(c, b, 1e-7);
	struct metric_family *g = metric_family_get(s, "up", "", METRIC_GAUGE, 0, NULL);
	metric_add(g, NULL, INFINITY);
	struct metric_family *h =
		metric_histogram_get(s, "lat_seconds", "latency", 2, cg_labels, 3, bounds);
	metric_add_histogram(h, a, ha, 12.25);
	metric_add_histogram(h, b, hb, 99);
	return s;
}

static int parse(const char *text, struct metric_snapshot **out, char *err, size_t errlen)
{
	*out = metric_snapshot_new();
	return expo_parse_text(text, strlen(text), *out, err, errlen);
}

static void test_round_trip(void)
{
	struct metric_snapshot *s = sample_snapshot(), *back;
	struct buf page = { 0 }, again = { 0 };
	char err[256] = "";

	CHECK(expo_render(s, EXPO_TEXT, &page) == 0, "render");
	CHECK(parse(page.data, &back, err, sizeof(err)) == 0, "parse: %s", err);
	CHECK(expo_render(back, EXPO_TEXT, &again) == 0, "render again");
	CHECK(page.len == again.len && memcmp(page.data, again.data, page.len) == 0,
	      "the page reads back to the same page:\n%s\n---\n%s", page.data,
	      again.data ? again.data : "");

	const struct metric_family *h = metric_snapshot_find(back, "lat_seconds");
	CHECK(h && metric_family_type(h) == METRIC_HISTOGRAM, "histogram family");
	CHECK(h && metric_family_nbounds(h) == 3 && metric_family_bounds(h)[1] == 0.5, "bounds");
	const struct metric_series *m = h ? metric_family_first_series(h) : NULL;
	CHECK(m && metric_series_buckets(m)[3] == 4 && metric_series_sum(m) == 12.25,
	      "non-cumulative counts and sum");
	CHECK(m && strcmp(metric_series_label_value(m, 0), "/system.slice/a \"quoted\" \\ x") == 0,
	      "label value unescaped: [%s]", m ? metric_series_label_value(m, 0) : "");
	CHECK(metric_family_label_index(h, "status_code") == 1, "label index");
	CHECK(metric_family_label_index(h, "le") == -1, "le is not a label of the family");
	const struct metric_family *c = metric_snapshot_find(back, "x_seconds_total");
	CHECK(c && strcmp(metric_family_help(c), "help with \\ and\nnl") == 0, "help unescaped");
	CHECK(c && metric_family_type(c) == METRIC_COUNTER, "counter");
	CHECK(metric_snapshot_find(back, "nope") == NULL, "absent family");
	metric_snapshot_free(s);
	metric_snapshot_free(back);
	buf_free(&page);
	buf_free(&again);
}

static void test_accepted(void)
{
	struct metric_snapshot *s;
	char err[256] = "";

	/* untyped samples are gauges; summaries are skipped; timestamps and comments ignored */
	const char *page = "# a comment\n"
			   "plain 3 1700000000000\n"
			   "# TYPE rpc summary\n"
			   "rpc{quantile=\"0.5\"} 1\nrpc_sum 2\nrpc_count 3\n"
			   "# TYPE temp gauge\n"
			   "temp{a=\"1\",} -Inf\n"
			   "temp{a=\"2\"} NaN\n"
			   "\n";
	CHECK(parse(page, &s, err, sizeof(err)) == 0, "accepted: %s", err);
	const struct metric_family *f = metric_snapshot_find(s, "plain");
	CHECK(f && metric_family_type(f) == METRIC_GAUGE, "untyped -> gauge");
	CHECK(f && metric_series_value(metric_family_first_series(f)) == 3, "timestamp ignored");
	CHECK(metric_snapshot_find(s, "rpc") == NULL, "summary skipped");
	f = metric_snapshot_find(s, "temp");
	CHECK(f && metric_family_nseries(f) == 2, "trailing comma in labels");
	metric_snapshot_free(s);

	/* a label set repeated (the daemon writes some for cgroups it no longer names) */
	const char *dup = "# TYPE h histogram\n"
			  "h_bucket{c=\"\",le=\"1\"} 1\nh_bucket{c=\"\",le=\"+Inf\"} 1\nh_sum 0.5\n"
			  "h_bucket{c=\"\",le=\"1\"} 2\nh_bucket{c=\"\",le=\"+Inf\"} 3\n";
	CHECK(parse(dup, &s, err, sizeof(err)) != 0, "a _sum without labels belongs to no series");
	metric_snapshot_free(s);
	dup = "# TYPE h histogram\n"
	      "h_bucket{c=\"\",le=\"1\"} 1\nh_bucket{c=\"\",le=\"+Inf\"} 1\nh_count{c=\"\"} 1\n"
	      "h_bucket{c=\"\",le=\"1\"} 2\nh_bucket{c=\"\",le=\"+Inf\"} 3\n";
	CHECK(parse(dup, &s, err, sizeof(err)) == 0, "a repeated label set: %s", err);
	f = metric_snapshot_find(s, "h");
	CHECK(f && metric_family_nseries(f) == 2, "kept as two series");
	metric_snapshot_free(s);
}

/* Each page is refused, and the message names the line. */
static void test_refused(void)
{
	static const struct {
		const char *page, *line;
	} bad[] = {
		{ "x{a=\"1\" 1\n", "line 1:" },
		{ "ok 1\nx{a=1} 1\n", "line 2:" },
		{ "x 1 2 3\n", "line 1:" },
		{ "x abc\n", "line 1:" },
		{ "x inf\n", "line 1:" },
		{ "x{a=\"\\q\"} 1\n", "line 1:" },
		{ "x{a=\"1\"} 1\nx{b=\"1\"} 1\n", "line 2:" },
		{ "# TYPE c counter\nc 1\n", "line 2:" },
		{ "# TYPE h histogram\nh_bucket{le=\"1\"} 1\n", "line 2:" },
		{ "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n",
		  "line 3:" },
		{ "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"0.5\"} 1\n", "line 3:" },
		{ "# TYPE h histogram\nh_bucket{le=\"1\"} 0.5\nh_bucket{le=\"+Inf\"} 1\n",
		  "line 3:" },
		{ "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 2\n", "line 3:" },
		{ "# TYPE h histogram\nh_bucket{x=\"1\"} 1\n", "line 2:" },
		{ "# TYPE h histogram\nh_sum 1\n", "line 2:" },
		{ "# TYPE h histogram\nh_bucket{a=\"1\",le=\"1\"} 1\nh_bucket{a=\"1\",le=\"+Inf\"} "
		  "1\nh_bucket{a=\"2\",le=\"2\"} 1\nh_bucket{a=\"2\",le=\"+Inf\"} 1\n",
		  "line 5:" },
		{ "# TYPE x nonsense\n", "line 1:" },
		{ "# TYPE  x counter\n", "line 1:" },
		{ "{a=\"1\"} 1\n", "line 1:" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct metric_snapshot *s;
		char err[256] = "";
		int rc = parse(bad[i].page, &s, err, sizeof(err));
		CHECK(rc == -EINVAL, "page %zu refused (%d)", i, rc);
		CHECK(strncmp(err, bad[i].line, strlen(bad[i].line)) == 0,
		      "page %zu: message [%s] starts with [%s]", i, err, bad[i].line);
		metric_snapshot_free(s);
	}
}

static void test_limits(void)
{
	struct metric_snapshot *s;
	char err[256] = "";
	struct buf page = { 0 };

	/* a line over the limit */
	buf_puts(&page, "x{a=\"");
	for (int i = 0; i < EXPO_PARSE_MAX_LINE; i++)
		buf_putc(&page, 'v');
	buf_puts(&page, "\"} 1\n");
	CHECK(parse(page.data, &s, err, sizeof(err)) == -EINVAL && strstr(err, "longer than"),
	      "long line: %s", err);
	metric_snapshot_free(s);

	/* more labels than allowed */
	buf_reset(&page);
	buf_puts(&page, "x{");
	for (int i = 0; i <= EXPO_PARSE_MAX_LABELS; i++)
		buf_printf(&page, "l%d=\"v\",", i);
	buf_puts(&page, "} 1\n");
	CHECK(parse(page.data, &s, err, sizeof(err)) == -EINVAL && strstr(err, "labels"),
	      "too many labels: %s", err);
	metric_snapshot_free(s);

	/* more buckets than allowed */
	buf_reset(&page);
	buf_puts(&page, "# TYPE h histogram\n");
	for (int i = 0; i <= EXPO_PARSE_MAX_BOUNDS; i++)
		buf_printf(&page, "h_bucket{le=\"%d\"} 0\n", i + 1);
	CHECK(parse(page.data, &s, err, sizeof(err)) == -EINVAL && strstr(err, "buckets"),
	      "too many buckets: %s", err);
	metric_snapshot_free(s);

	/* a NUL inside the text */
	const char nul[] = "x 1\ny\0 2\n";
	s = metric_snapshot_new();
	CHECK(expo_parse_text(nul, sizeof(nul) - 1, s, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "line 2"),
	      "NUL byte: %s", err);
	metric_snapshot_free(s);

	/* random bytes never crash it and never pass silently as garbage */
	for (int round = 0; round < 2000; round++) {
		char junk[64];
		size_t n = 1 + test_rng() % (sizeof(junk) - 1);
		for (size_t i = 0; i < n; i++)
			junk[i] = "ab_{}=\",\\ #\n01.e+-Inf"[test_rng() % 22];
		s = metric_snapshot_new();
		int rc = expo_parse_text(junk, n, s, err, sizeof(err));
		if (rc)
			CHECK(strncmp(err, "line ", 5) == 0, "error names a line: %s", err);
		metric_snapshot_free(s);
	}
	buf_free(&page);
}

int main(void)
{
	test_round_trip();
	test_accepted();
	test_refused();
	test_limits();
	return test_summary("test_expo_parse");
}
