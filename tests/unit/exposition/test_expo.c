/* test_expo.c — unit tests for the exposition writer (text, OpenMetrics, gzip) and the buffer. */
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <zlib.h>

#include "exposition/expo.h"
#include "exposition/metrics.h"
#include "lib/buf.h"
#include "test.h"

static const double default_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
					 0.5,	0.75, 1,     2.5,  5,	  7.5, 10 };

/* Renders s in fmt into a fresh malloc'ed string (NULL on error). */
static char *render(const struct metric_snapshot *s, enum expo_format fmt)
{
	struct buf b;
	char *r;

	buf_init(&b);
	if (expo_render(s, fmt, &b)) {
		buf_free(&b);
		return NULL;
	}
	r = strdup(b.len ? b.data : "");
	buf_free(&b);
	return r;
}

static void check_render(const struct metric_snapshot *s, enum expo_format fmt, const char *want)
{
	char *got = render(s, fmt);

	CHECK_STR(got, want);
	free(got);
}

/* The sample value of a one-gauge snapshot, e.g. "0.1" for 0.1. */
static char *value_text(double v)
{
	static char out[64];
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f = metric_family_get(s, "g", "", METRIC_GAUGE, 0, NULL);
	char *r;

	metric_add(f, NULL, v);
	r = render(s, EXPO_TEXT);
	metric_snapshot_free(s);
	snprintf(out, sizeof(out), "%s",
		 r && strncmp(r, "# TYPE g gauge\ng ", 17) == 0 ? r + 17 : "?");
	out[strcspn(out, "\n")] = '\0';
	free(r);
	return out;
}

static void test_empty(void)
{
	struct metric_snapshot *s = metric_snapshot_new();

	check_render(s, EXPO_TEXT, "");
	check_render(s, EXPO_OPENMETRICS, "# EOF\n");
	CHECK(expo_render(NULL, EXPO_TEXT, NULL) == -EINVAL, "NULL snapshot");
	metric_snapshot_free(s);
}

static void test_types(void)
{
	static const char *const ln[] = { "cgroup", "pod_uid" };
	static const char *const v1[] = { "/system.slice/a.service", "" };
	static const char *const v2[] = { "/b", "1234" };
	static const char *const hl[] = { "method" };
	static const char *const hv[] = { "GET" };
	static const double bounds[] = { 0.5, 1, 2.5 };
	static const uint64_t counts[] = { 1, 0, 2, 3 };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *c, *g, *h, *h0;

	c = metric_family_get(s, "x_cpu_seconds_total", "CPU time.", METRIC_COUNTER, 2, ln);
	metric_add(c, v1, 12.5);
	metric_add(c, v2, 3);
	g = metric_family_get(s, "x_up", "Whether it is up.", METRIC_GAUGE, 0, NULL);
	metric_add(g, NULL, 1);
	h = metric_histogram_get(s, "x_seconds", "Latency.", 1, hl, 3, bounds);
	metric_add_histogram(h, hv, counts, 7.25);
	h0 = metric_histogram_get(s, "x_bytes", "", 0, NULL, 0, NULL);
	metric_add_histogram(h0, NULL, counts, 0.5);
	CHECK(metric_snapshot_error(s) == 0, "error %d", metric_snapshot_error(s));

	check_render(s, EXPO_TEXT,
		     "# HELP x_cpu_seconds_total CPU time.\n"
		     "# TYPE x_cpu_seconds_total counter\n"
		     "x_cpu_seconds_total{cgroup=\"/system.slice/a.service\",pod_uid=\"\"} 12.5\n"
		     "x_cpu_seconds_total{cgroup=\"/b\",pod_uid=\"1234\"} 3\n"
		     "# HELP x_up Whether it is up.\n"
		     "# TYPE x_up gauge\n"
		     "x_up 1\n"
		     "# HELP x_seconds Latency.\n"
		     "# TYPE x_seconds histogram\n"
		     "x_seconds_bucket{method=\"GET\",le=\"0.5\"} 1\n"
		     "x_seconds_bucket{method=\"GET\",le=\"1\"} 1\n"
		     "x_seconds_bucket{method=\"GET\",le=\"2.5\"} 3\n"
		     "x_seconds_bucket{method=\"GET\",le=\"+Inf\"} 6\n"
		     "x_seconds_sum{method=\"GET\"} 7.25\n"
		     "x_seconds_count{method=\"GET\"} 6\n"
		     "# TYPE x_bytes histogram\n"
		     "x_bytes_bucket{le=\"+Inf\"} 1\n"
		     "x_bytes_sum 0.5\n"
		     "x_bytes_count 1\n");
	check_render(s, EXPO_OPENMETRICS,
		     "# TYPE x_cpu_seconds counter\n"
		     "# HELP x_cpu_seconds CPU time.\n"
		     "x_cpu_seconds_total{cgroup=\"/system.slice/a.service\",pod_uid=\"\"} 12.5\n"
		     "x_cpu_seconds_total{cgroup=\"/b\",pod_uid=\"1234\"} 3\n"
		     "# TYPE x_up gauge\n"
		     "# HELP x_up Whether it is up.\n"
		     "x_up 1\n"
		     "# TYPE x_seconds histogram\n"
		     "# HELP x_seconds Latency.\n"
		     "x_seconds_bucket{method=\"GET\",le=\"0.5\"} 1\n"
		     "x_seconds_bucket{method=\"GET\",le=\"1.0\"} 1\n"
		     "x_seconds_bucket{method=\"GET\",le=\"2.5\"} 3\n"
		     "x_seconds_bucket{method=\"GET\",le=\"+Inf\"} 6\n"
		     "x_seconds_sum{method=\"GET\"} 7.25\n"
		     "x_seconds_count{method=\"GET\"} 6\n"
		     "# TYPE x_bytes histogram\n"
		     "x_bytes_bucket{le=\"+Inf\"} 1\n"
		     "x_bytes_sum 0.5\n"
		     "x_bytes_count 1\n"
		     "# EOF\n");
	metric_snapshot_free(s);
}

/* A family with no series still declares itself. */
static void test_family_without_series(void)
{
	struct metric_snapshot *s = metric_snapshot_new();

	metric_family_get(s, "a_total", "Help.", METRIC_COUNTER, 0, NULL);
	check_render(s, EXPO_TEXT, "# HELP a_total Help.\n# TYPE a_total counter\n");
	check_render(s, EXPO_OPENMETRICS, "# TYPE a counter\n# HELP a Help.\n# EOF\n");
	metric_snapshot_free(s);
}

static void test_le_rendering(void)
{
	static const double spec[] = {
		0, 1e-05, 0.0001, 0.1, 1, 10, 100000, 1e+06, 1e+23, 1.1e+23
	};
	static const uint64_t zeros[16];
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *h;
	char *got;

	h = metric_histogram_get(s, "d_seconds", "", 0, NULL, 14, default_bounds);
	metric_add_histogram(h, NULL, zeros, 0);
	got = render(s, EXPO_TEXT);
	CHECK(got && strstr(got,
			    "{le=\"0.005\"} 0\nd_seconds_bucket{le=\"0.01\"} 0\n"
			    "d_seconds_bucket{le=\"0.025\"} 0\nd_seconds_bucket{le=\"0.05\"} 0\n"
			    "d_seconds_bucket{le=\"0.075\"} 0\nd_seconds_bucket{le=\"0.1\"} 0\n"
			    "d_seconds_bucket{le=\"0.25\"} 0\nd_seconds_bucket{le=\"0.5\"} 0\n"
			    "d_seconds_bucket{le=\"0.75\"} 0\nd_seconds_bucket{le=\"1\"} 0\n"
			    "d_seconds_bucket{le=\"2.5\"} 0\nd_seconds_bucket{le=\"5\"} 0\n"
			    "d_seconds_bucket{le=\"7.5\"} 0\nd_seconds_bucket{le=\"10\"} 0\n"
			    "d_seconds_bucket{le=\"+Inf\"} 0\n"
			    "d_seconds_sum 0\nd_seconds_count 0\n"),
	      "text default buckets: %s", got ? got : "(null)");
	free(got);
	got = render(s, EXPO_OPENMETRICS);
	CHECK(got && strstr(got, "{le=\"0.75\"} 0\nd_seconds_bucket{le=\"1.0\"} 0\n"
				 "d_seconds_bucket{le=\"2.5\"} 0\nd_seconds_bucket{le=\"5.0\"} 0\n"
				 "d_seconds_bucket{le=\"7.5\"} 0\nd_seconds_bucket{le=\"10.0\"} 0\n"
				 "d_seconds_bucket{le=\"+Inf\"} 0\n"),
	      "openmetrics default buckets: %s", got ? got : "(null)");
	free(got);
	metric_snapshot_free(s);

	/* The canonical numbers listed by the OpenMetrics specification. */
	s = metric_snapshot_new();
	h = metric_histogram_get(s, "e", "", 0, NULL, 10, spec);
	metric_add_histogram(h, NULL, zeros, 0);
	got = render(s, EXPO_OPENMETRICS);
	CHECK(got && strstr(got, "e_bucket{le=\"0.0\"} 0\ne_bucket{le=\"1e-05\"} 0\n"
				 "e_bucket{le=\"0.0001\"} 0\ne_bucket{le=\"0.1\"} 0\n"
				 "e_bucket{le=\"1.0\"} 0\ne_bucket{le=\"10.0\"} 0\n"
				 "e_bucket{le=\"100000.0\"} 0\ne_bucket{le=\"1e+06\"} 0\n"
				 "e_bucket{le=\"1e+23\"} 0\ne_bucket{le=\"1.1e+23\"} 0\n"
				 "e_bucket{le=\"+Inf\"} 0\n"),
	      "openmetrics canonical le: %s", got ? got : "(null)");
	free(got);
	got = render(s, EXPO_TEXT);
	CHECK(got && strstr(got, "e_bucket{le=\"0\"} 0\ne_bucket{le=\"1e-05\"} 0\n"
				 "e_bucket{le=\"0.0001\"} 0\ne_bucket{le=\"0.1\"} 0\n"
				 "e_bucket{le=\"1\"} 0\ne_bucket{le=\"10\"} 0\n"
				 "e_bucket{le=\"100000\"} 0\ne_bucket{le=\"1e+06\"} 0\n"),
	      "text le: %s", got ? got : "(null)");
	free(got);
	metric_snapshot_free(s);
}

/* Cumulative buckets; the last series bucket counts observations above every bound. */
static void test_histogram_cumulative(void)
{
	static const double b[] = { -1, 0.25 };
	static const uint64_t counts[] = { 5, 0, 7 };
	static const uint64_t big[] = { UINT64_MAX - 1, 0, 1 };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *h = metric_histogram_get(s, "h", "", 0, NULL, 2, b);

	metric_add_histogram(h, NULL, counts, -2.5);
	metric_add_histogram(h, NULL, big, 1e300);
	check_render(s, EXPO_TEXT,
		     "# TYPE h histogram\n"
		     "h_bucket{le=\"-1\"} 5\nh_bucket{le=\"0.25\"} 5\nh_bucket{le=\"+Inf\"} 12\n"
		     "h_sum -2.5\nh_count 12\n"
		     "h_bucket{le=\"-1\"} 18446744073709551614\n"
		     "h_bucket{le=\"0.25\"} 18446744073709551614\n"
		     "h_bucket{le=\"+Inf\"} 18446744073709551615\n"
		     "h_sum 1e+300\nh_count 18446744073709551615\n");
	metric_snapshot_free(s);
}

static void test_escaping(void)
{
	static const char *const ln[] = { "v" };
	static const char *const vals[] = {
		"a\\b\"c\nd",				/* the three escaped characters */
		"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", /* é € 😀 stay as they are */
		"x\xffy",				/* invalid byte */
		"\xc0\x80",				/* overlong NUL */
		"\xed\xa0\x80",				/* UTF-16 surrogate */
		"\xf4\x90\x80\x80",			/* above U+10FFFF */
		"ab\xe2\x82",				/* truncated at the end */
		"\xe2\x82(",				/* truncated in the middle */
		"0123456789abcdef\"\xc3\xa9x",		/* past the first 8-byte blocks */
		"01234567ab\n",				/* in the tail after a block */
	};
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *g;
	size_t i;

	g = metric_family_get(s, "esc", "Say \"hi\" \\ to\nme \xff \xc3\xa9", METRIC_GAUGE, 1, ln);
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		metric_add(g, &vals[i], (double)i);
#define ESC_SAMPLES                                                       \
	"esc{v=\"a\\\\b\\\"c\\nd\"} 0\n"                                  \
	"esc{v=\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"} 1\n"             \
	"esc{v=\"x\xef\xbf\xbdy\"} 2\n"                                   \
	"esc{v=\"\xef\xbf\xbd\xef\xbf\xbd\"} 3\n"                         \
	"esc{v=\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 4\n"             \
	"esc{v=\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\"} 5\n" \
	"esc{v=\"ab\xef\xbf\xbd\xef\xbf\xbd\"} 6\n"                       \
	"esc{v=\"\xef\xbf\xbd\xef\xbf\xbd(\"} 7\n"                        \
	"esc{v=\"0123456789abcdef\\\"\xc3\xa9x\"} 8\n"                    \
	"esc{v=\"01234567ab\\n\"} 9\n"
	/* Text HELP escapes only backslash and newline; OpenMetrics also the quote. */
	check_render(s, EXPO_TEXT,
		     "# HELP esc Say \"hi\" \\\\ to\\nme \xef\xbf\xbd \xc3\xa9\n"
		     "# TYPE esc gauge\n" ESC_SAMPLES);
	check_render(s, EXPO_OPENMETRICS,
		     "# TYPE esc gauge\n"
		     "# HELP esc Say \\\"hi\\\" \\\\ to\\nme \xef\xbf\xbd \xc3\xa9\n" ESC_SAMPLES
		     "# EOF\n");
#undef ESC_SAMPLES
	metric_snapshot_free(s);
}

/* Escaping is shared by the histogram label block, copied to every line. */
static void test_histogram_escaping(void)
{
	static const char *const ln[] = { "a", "b" };
	static const char *const lv[] = { "q\"", "\xff" };
	static const double b[] = { 1 };
	static const uint64_t c[] = { 1, 1 };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *h = metric_histogram_get(s, "hh", "", 2, ln, 1, b);

	metric_add_histogram(h, lv, c, 3);
	check_render(s, EXPO_TEXT,
		     "# TYPE hh histogram\n"
		     "hh_bucket{a=\"q\\\"\",b=\"\xef\xbf\xbd\",le=\"1\"} 1\n"
		     "hh_bucket{a=\"q\\\"\",b=\"\xef\xbf\xbd\",le=\"+Inf\"} 2\n"
		     "hh_sum{a=\"q\\\"\",b=\"\xef\xbf\xbd\"} 3\n"
		     "hh_count{a=\"q\\\"\",b=\"\xef\xbf\xbd\"} 2\n");
	metric_snapshot_free(s);
}

static void test_values(void)
{
	CHECK_STR(value_text(0), "0");
	CHECK_STR(value_text(-0.0), "0");
	CHECK_STR(value_text(-3), "-3");
	CHECK_STR(value_text(42), "42");
	CHECK_STR(value_text(1e15), "1000000000000000");
	CHECK_STR(value_text(1e21), "1e+21");
	CHECK_STR(value_text(0.1), "0.1");
	CHECK_STR(value_text(-1.5), "-1.5");
	CHECK_STR(value_text(1.0 / 3), "0.3333333333333333");
	CHECK_STR(value_text(2.0 / 3), "0.6666666666666666");
	CHECK_STR(value_text(0.1 + 0.2), "0.30000000000000004");
	CHECK_STR(value_text(12345.678901), "12345.678901");
	CHECK_STR(value_text(1700000000.123), "1700000000.123");
	CHECK_STR(value_text(0.0001), "0.0001");
	CHECK_STR(value_text(1.234e-5), "1.234e-05");
	CHECK_STR(value_text(1e-7), "1e-07");
	CHECK_STR(value_text(5e-324), "5e-324");
	CHECK_STR(value_text(DBL_MAX), "1.7976931348623157e+308");
	CHECK_STR(value_text(-DBL_MIN), "-2.2250738585072014e-308");
	CHECK_STR(value_text(INFINITY), "+Inf");
	CHECK_STR(value_text(-INFINITY), "-Inf");
	CHECK_STR(value_text(NAN), "NaN");
	CHECK_STR(value_text(9007199254740992.0), "9007199254740992"); /* 2^53 */
	CHECK_STR(value_text(-9007199254740992.0), "-9007199254740992");
	CHECK_STR(value_text(9007199254740994.0), "9007199254740994");		 /* 2^53 + 2 */
	CHECK_STR(value_text(18446744073709551616.0), "1.8446744073709552e+19"); /* 2^64 */
	CHECK_STR(value_text(4503599627370495.5), "4503599627370495.5");	 /* 2^52 - 0.5 */
	CHECK_STR(value_text(1.5e300), "1.5e+300");
}

/* the shared fixed-seed generator */
#define rng test_rng

/*
 * Reference: integers up to 2^53 in full, anything else as printf %.Ng with
 * the fewest digits N that read back exactly (glibc is correctly rounded).
 */
static void reference(double v, char *out, size_t size)
{
	int prec;

	if (v == 0) {
		snprintf(out, size, "0");
		return;
	}
	if (fabs(v) <= 9007199254740992.0 && v == floor(v)) {
		snprintf(out, size, "%.0f", v);
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(out, size, "%.*g", prec, v);
		if (strtod(out, NULL) == v)
			return;
	}
	snprintf(out, size, "%.17g", v);
}

static double random_value(int kind)
{
	char tmp[64];
	uint64_t bits;
	double v;

	switch (kind) {
	case 0: /* any finite double */
		do {
			bits = rng();
			memcpy(&v, &bits, sizeof(v));
		} while (!isfinite(v));
		return v;
	case 1: /* short decimals of every magnitude */
		snprintf(tmp, sizeof(tmp), "%llue%d", (unsigned long long)(rng() % 100000000000ULL),
			 (int)(rng() % 40) - 30);
		return strtod(tmp, NULL);
	case 2: /* microsecond counters, as the CPU collector makes them */
		return (double)(rng() % 100000000000000ULL) / 1e6;
	case 3: /* ratios */
		return (double)(rng() % 1000000 + 1) / (double)(rng() % 1000000 + 1);
	case 4: /* around powers of two, where the rounding interval is lopsided */
		v = ldexp(1.0, (int)(rng() % 120) - 60);
		return rng() & 1 ? nextafter(v, 0) : (rng() & 1 ? v : nextafter(v, INFINITY));
	default: /* in [0, 1) with 53 random bits */
		return (double)(rng() >> 11) / 9007199254740992.0;
	}
}

/* Renders many values in one snapshot and compares each line with the reference. */
static void test_values_random(void)
{
	enum { N = 30000 };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *g = metric_family_get(s, "r", "", METRIC_GAUGE, 0, NULL);
	static double vals[N];
	char want[64], *out, *line, *save = NULL;
	int i, bad = 0, roundtrip_bad = 0;

	for (i = 0; i < N; i++) {
		vals[i] = random_value(i % 6);
		metric_add(g, NULL, vals[i]);
	}
	out = render(s, EXPO_TEXT);
	CHECK(out != NULL, "render");
	i = -1;
	for (line = out ? strtok_r(out, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (line[0] == '#')
			continue;
		if (++i >= N)
			break;
		reference(vals[i], want, sizeof(want));
		if (strtod(line + 2, NULL) != vals[i] && roundtrip_bad++ < 5)
			printf("# round trip %a: %s\n", vals[i], line + 2);
		if (strcmp(line + 2, want) != 0 && bad++ < 5)
			printf("# %a: got %s want %s\n", vals[i], line + 2, want);
	}
	CHECK(i == N - 1, "lines %d", i + 1);
	CHECK(roundtrip_bad == 0, "%d values do not read back", roundtrip_bad);
	CHECK(bad == 0, "%d values not in shortest form", bad);
	free(out);
	metric_snapshot_free(s);
}

/* An invalid declaration is dropped; the rest of the snapshot still renders. */
static void test_render_after_error(void)
{
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f;

	f = metric_family_get(s, "bad_counter", "", METRIC_COUNTER, 0, NULL);
	CHECK(f == NULL, "counter without _total");
	metric_add(f, NULL, 1);
	f = metric_family_get(s, "ok", "", METRIC_GAUGE, 0, NULL);
	metric_add(f, NULL, 2);
	CHECK(metric_snapshot_error(s) == -EINVAL, "error %d", metric_snapshot_error(s));
	check_render(s, EXPO_TEXT, "# TYPE ok gauge\nok 2\n");
	metric_snapshot_free(s);
}

/* Inflates one whole gzip stream with zlib, which checks the CRC-32 and length trailer. */
static int gunzip(const void *in, size_t len, struct buf *out)
{
	z_stream zs;
	int ret = Z_MEM_ERROR;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, 15 + 16) != Z_OK)
		return -1;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	do {
		if (buf_reserve(out, 65536))
			break;
		zs.next_out = (Bytef *)out->data + out->len;
		zs.avail_out = (uInt)(out->cap - out->len - 1);
		ret = inflate(&zs, Z_NO_FLUSH);
		out->len = (size_t)((char *)zs.next_out - out->data);
	} while (ret == Z_OK);
	inflateEnd(&zs);
	return ret == Z_STREAM_END && zs.avail_in == 0 ? 0 : -1;
}

/*
 * Compresses data after a prefix already in the buffer, checks that the
 * prefix is kept and a standard gzip member (magic, deflate method)
 * follows, that zlib inflates it back byte for byte, and returns the
 * compressed size (0 on failure).
 */
static size_t check_gzip(const char *what, const void *data, size_t len)
{
	struct buf gz, back;
	size_t size = 0;
	int err;

	buf_init(&gz);
	buf_init(&back);
	buf_puts(&gz, "HDR");
	err = expo_gzip(data, len, &gz);
	CHECK(err == 0, "%s: gzip %d", what, err);
	CHECK(gz.len >= 3 + 18 && memcmp(gz.data, "HDR\x1f\x8b\x08", 6) == 0,
	      "%s: gzip header after the prefix (%zu bytes)", what, gz.len);
	if (!err && gz.len >= 3 + 18) {
		CHECK(gz.data[gz.len] == '\0', "%s: NUL-terminated", what);
		CHECK(gunzip(gz.data + 3, gz.len - 3, &back) == 0, "%s: inflate", what);
		CHECK(back.len == len && (len == 0 || memcmp(back.data, data, len) == 0),
		      "%s: round trip %zu vs %zu bytes", what, back.len, len);
		size = gz.len - 3;
	}
	buf_free(&gz);
	buf_free(&back);
	return size;
}

static void test_gzip(void)
{
	static const char *const ln[] = { "i" };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f = metric_family_get(s, "z_total", "Z.", METRIC_COUNTER, 1, ln);
	struct buf plain, gz;
	char val[32];
	size_t size;
	int i;

	buf_init(&plain);
	buf_init(&gz);
	for (i = 0; i < 5000; i++) {
		const char *v[] = { val };

		snprintf(val, sizeof(val), "series-%d", i);
		metric_add(f, v, i * 0.25);
	}
	CHECK(expo_render(s, EXPO_OPENMETRICS, &plain) == 0, "render");
	size = check_gzip("page", plain.data, plain.len);
	CHECK(size > 0 && size < plain.len / 4, "compressed %zu of %zu", size, plain.len);

	/* Empty input is still a complete gzip stream, with or without a pointer. */
	check_gzip("empty", "", 0);
	check_gzip("NULL empty", NULL, 0);
	check_gzip("one byte", "x", 1);

	CHECK(expo_gzip(NULL, 5, &gz) == -EINVAL, "NULL input");
	CHECK(expo_gzip("x", 1, NULL) == -EINVAL, "NULL output");
	/* The size guard comes before anything reads the input. */
	CHECK(expo_gzip("x", (size_t)UINT_MAX, &gz) == -EFBIG, "oversized input");
	CHECK(gz.len == 0 && gz.err == 0, "failed calls leave the buffer alone");

	buf_free(&plain);
	buf_free(&gz);
	metric_snapshot_free(s);
}

/* A page of several megabytes with varied labels, values and histograms. */
static void test_gzip_large(void)
{
	enum { N = 50000 };
	static const char *const ln[] = { "cgroup", "container_id", "pod_uid" };
	static const char *const hl[] = { "cgroup", "method" };
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *c, *g, *h;
	char v0[64], v1[64], v2[64];
	const char *vals[] = { v0, v1, v2 };
	uint64_t counts[15];
	struct buf plain;
	size_t size, b;
	char *noise;
	int i;

	c = metric_family_get(s, "x_cpu_seconds_total", "CPU time.", METRIC_COUNTER, 3, ln);
	g = metric_family_get(s, "x_limit_cores", "Limit \"cores\".\n", METRIC_GAUGE, 3, ln);
	h = metric_histogram_get(s, "x_request_seconds", "Latency.", 2, hl, 14, default_bounds);
	for (i = 0; i < N; i++) {
		snprintf(v0, sizeof(v0), "/kubepods.slice/pod-%08llx.slice/\xc3\xa9%d",
			 (unsigned long long)(rng() & 0xffffffff), i);
		snprintf(v1, sizeof(v1), "%016llx", (unsigned long long)rng());
		snprintf(v2, sizeof(v2), "%08x-%04x", (unsigned)rng(), (unsigned)(rng() & 0xffff));
		if (i % 10 == 9) {
			vals[1] = methods[i % 4];
			for (b = 0; b < 15; b++)
				counts[b] = rng() % 100000;
			metric_add_histogram(h, vals, counts, random_value(i % 6));
			vals[1] = v1;
		} else {
			metric_add(i & 1 ? c : g, vals, random_value(i % 6));
		}
	}
	CHECK(metric_snapshot_error(s) == 0, "error %d", metric_snapshot_error(s));
	buf_init(&plain);
	CHECK(expo_render(s, EXPO_TEXT, &plain) == 0 && plain.len > 5000000, "render %zu bytes",
	      plain.len);
	size = check_gzip("large page", plain.data, plain.len);
	CHECK(size > 0 && size < plain.len / 2, "compressed %zu of %zu", size, plain.len);

	/* Incompressible input must fit the room expo_gzip reserves (stored blocks). */
	noise = malloc(3 << 20);
	CHECK(noise != NULL, "malloc");
	if (noise) {
		for (b = 0; b + 8 <= 3 << 20; b += 8) {
			uint64_t x = rng();

			memcpy(noise + b, &x, 8);
		}
		size = check_gzip("random bytes", noise, 3 << 20);
		CHECK(size >= 3 << 20, "random bytes compressed to %zu", size);
	}
	free(noise);
	buf_free(&plain);
	metric_snapshot_free(s);
}

/* A sink that keeps every piece it is handed, and can fail at the piece numbered fail_at. */
struct pieces {
	struct buf all;
	size_t n, smallest, last_len;
	size_t fail_at;
};

static int take_piece(void *arg, const char *data, size_t len)
{
	struct pieces *p = arg;

	if (++p->n == p->fail_at)
		return -EPIPE;
	if (p->n > 1 && p->last_len < p->smallest)
		p->smallest = p->last_len; /* only the last piece may be short */
	p->last_len = len;
	buf_append(&p->all, data, len);
	return 0;
}

static int gzip_piece(void *arg, const char *data, size_t len)
{
	return expo_gzip_write(arg, data, len, false);
}

/*
 * Through a sink the page comes in pieces of EXPO_SINK_BYTES or more (the last may be
 * shorter) that add up to what expo_render writes; the scratch buffer stays a piece long;
 * a failing sink ends the render; and the pieces streamed into gzip inflate to the page.
 */
static void test_sink(void)
{
	static const char *const ln[] = { "i" };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *f = metric_family_get(s, "y_total", "Y.", METRIC_COUNTER, 1, ln);
	struct pieces p = { .smallest = SIZE_MAX };
	struct buf page, scratch, gz, back;
	char val[32];

	buf_init(&page);
	buf_init(&scratch);
	buf_init(&gz);
	buf_init(&back);
	for (int i = 0; i < 40000; i++) {
		const char *v[] = { val };

		snprintf(val, sizeof(val), "series-%d", i);
		metric_add(f, v, i);
	}
	CHECK(expo_render(s, EXPO_OPENMETRICS, &page) == 0 && page.len > 4 * EXPO_SINK_BYTES,
	      "render %zu bytes", page.len);
	struct expo_sink sink = { take_piece, &p };
	CHECK(expo_render_to(s, EXPO_OPENMETRICS, &scratch, &sink) == 0, "render to a sink");
	CHECK(p.all.len == page.len && memcmp(p.all.data, page.data, page.len) == 0,
	      "the pieces are the page (%zu of %zu bytes, %zu pieces)", p.all.len, page.len, p.n);
	CHECK(p.n > 4 && p.smallest >= EXPO_SINK_BYTES, "%zu pieces, the smallest %zu bytes", p.n,
	      p.smallest);
	CHECK(scratch.len == 0 && scratch.cap < 2 * EXPO_SINK_BYTES + 4096,
	      "scratch left empty, a piece long (%zu)", scratch.cap);

	struct pieces failing = { .smallest = SIZE_MAX, .fail_at = 3 };
	sink.arg = &failing;
	CHECK(expo_render_to(s, EXPO_OPENMETRICS, &scratch, &sink) == -EPIPE,
	      "a failing sink ends the render");
	CHECK(failing.n == 3, "no piece after the failure: %zu", failing.n);
	sink.take = NULL;
	CHECK(expo_render_to(s, EXPO_TEXT, &scratch, &sink) == -EINVAL, "a sink without take");

	struct expo_gzip *z = expo_gzip_begin(&gz);
	struct expo_sink zsink = { gzip_piece, z };
	buf_reset(&scratch);
	CHECK(z && expo_render_to(s, EXPO_OPENMETRICS, &scratch, &zsink) == 0 &&
		      expo_gzip_write(z, NULL, 0, true) == 0,
	      "streamed into gzip");
	expo_gzip_free(z);
	CHECK(gunzip(gz.data, gz.len, &back) == 0 && back.len == page.len &&
		      memcmp(back.data, page.data, page.len) == 0,
	      "the stream inflates to the page (%zu bytes from %zu)", back.len, gz.len);
	CHECK(gz.len < page.len / 4, "and it is compressed: %zu of %zu", gz.len, page.len);
	CHECK(expo_gzip_begin(NULL) == NULL && errno == EINVAL, "no output buffer");
	CHECK(expo_gzip_write(NULL, "x", 1, true) == -EINVAL, "no stream");

	buf_free(&p.all);
	buf_free(&failing.all);
	buf_free(&page);
	buf_free(&scratch);
	buf_free(&gz);
	buf_free(&back);
	metric_snapshot_free(s);
}

static void test_buf(void)
{
	struct metric_snapshot *s;
	struct buf b;
	int i;

	buf_init(&b);
	buf_puts(&b, "ab");
	buf_putc(&b, 'c');
	buf_put_u64(&b, 0);
	buf_put_u64(&b, 18446744073709551615ULL);
	CHECK_STR(b.data, "abc018446744073709551615");
	buf_reset(&b);
	CHECK(b.len == 0 && b.err == 0, "reset");
	for (i = 0; i < 1000; i++)
		buf_printf(&b, "%d,", i);
	CHECK(b.len == 3890 && strncmp(b.data + b.len - 4, "999,", 4) == 0, "printf len %zu",
	      b.len);
	buf_printf(&b, "%0300d", 7);
	CHECK(b.len == 4190 && b.data[b.len - 1] == '7' && b.data[b.len] == '\0', "long printf");
	buf_consume(&b, 4);
	CHECK(strncmp(b.data, "2,3,", 4) == 0 && b.len == 4186, "consume");
	buf_consume(&b, 100000);
	CHECK(b.len == 0, "consume all");
	CHECK(buf_reserve(&b, SIZE_MAX) == -ENOMEM && b.err == -ENOMEM, "huge reserve");
	buf_puts(&b, "ignored");
	CHECK(b.len == 0, "appends after an error are ignored");
	s = metric_snapshot_new();
	CHECK(expo_render(s, EXPO_TEXT, &b) == -ENOMEM, "render into a failed buffer");
	CHECK(expo_gzip("x", 1, &b) == -ENOMEM, "gzip into a failed buffer");
	metric_snapshot_free(s);
	buf_free(&b);
	buf_free(&b);
	buf_free(NULL);
}

int main(void)
{
	test_empty();
	test_types();
	test_family_without_series();
	test_le_rendering();
	test_histogram_cumulative();
	test_escaping();
	test_histogram_escaping();
	test_values();
	test_values_random();
	test_render_after_error();
	test_gzip();
	test_gzip_large();
	test_sink();
	test_buf();
	return test_summary("exposition/test_expo");
}
