/* render_bench.c — times expo_render and expo_gzip on a realistic snapshot, beside baselines. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "exposition/expo.h"
#include "exposition/metrics.h"
#include "lib/buf.h"

/*
 * Usage: render_bench [series [iterations [histogram_percent]]]
 *
 * A "series" is one label set: a counter or gauge series renders one
 * sample line, a histogram series (14 default bounds) renders 17 lines.
 * Each result line gives both the series and the sample-line count.
 * gzip is timed twice in the same run: expo_gzip (ISA-L igzip level 1)
 * and, as the baseline it replaced, zlib level 1.
 * The output buffer is reused across iterations, as a long-running
 * daemon would, so the timings exclude first-touch page faults.
 */

static const double http_bounds[] = { 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25,
				      0.5,   0.75, 1,	  2.5,	5,     7.5, 10 };
#define NBOUNDS (sizeof(http_bounds) / sizeof(http_bounds[0]))

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/*
 * Value mix of a hostmon page: 40% integers (queue depths, run counts), 40%
 * microsecond counters turned into seconds, 20% arbitrary ratios.
 */
static double sample_value(uint64_t i)
{
	switch (i % 5) {
	case 0:
	case 1:
		return (double)(rng() % 1000000);
	case 2:
	case 3:
		return (double)(rng() % 100000000000ULL) / 1e6;
	default:
		return (double)(rng() % 1000000 + 1) / (double)(rng() % 1000 + 1);
	}
}

static struct metric_snapshot *build(size_t nseries, unsigned int hist_pct, size_t *nlines)
{
	static const char *const cg_labels[] = { "cgroup", "container_id", "pod_uid" };
	static const char *const mq_labels[] = { "host", "vhost", "name" };
	static const char *const http_labels[] = { "cgroup", "runtime", "method", "status_code" };
	static const char *const methods[] = { "GET", "POST", "PUT", "DELETE" };
	static const char *const codes[] = { "200", "201", "404", "500", "502" };
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_family *fam[6], *hist;
	char v0[64], v1[64], v2[64], v3[16];
	const char *vals[4] = { v0, v1, v2, v3 };
	size_t nhist = nseries * hist_pct / 100, i;
	uint64_t counts[NBOUNDS + 1];

	if (!s)
		return NULL;
	fam[0] = metric_family_get(s, "hostmon_cgroup_cpu_seconds_total",
				   "CPU time of the cgroup and its descendants.", METRIC_COUNTER, 3,
				   cg_labels);
	fam[1] = metric_family_get(s, "hostmon_cgroup_cpu_runqueue_wait_seconds_total",
				   "Time runnable tasks of the cgroup waited for a CPU.",
				   METRIC_COUNTER, 3, cg_labels);
	fam[2] = metric_family_get(s, "hostmon_cgroup_cpu_throttled_seconds_total",
				   "Time the cgroup was throttled.", METRIC_COUNTER, 3, cg_labels);
	fam[3] = metric_family_get(s, "hostmon_cgroup_cpu_limit_cores",
				   "CPU limit of the cgroup in cores.", METRIC_GAUGE, 3, cg_labels);
	fam[4] = metric_family_get(s, "rabbitmq_individual_queue_messages",
				   "Messages in the queue.", METRIC_GAUGE, 3, mq_labels);
	fam[5] = metric_family_get(s, "rabbitmq_individual_queue_messages_ready",
				   "Messages ready for delivery.", METRIC_GAUGE, 3, mq_labels);
	hist = metric_histogram_get(s, "hostmon_http_server_request_duration_seconds",
				    "HTTP request latency.", 4, http_labels, NBOUNDS, http_bounds);

	/* Families are filled one after the other, as collectors do. */
	for (i = 0; i < nseries - nhist; i++) {
		size_t f = i * 6 / (nseries - nhist), k = i;

		if (f < 4) {
			snprintf(v0, sizeof(v0), "/kubepods.slice/pod-%08zx.slice", k);
			snprintf(v1, sizeof(v1), "%08x%08x%08x", (unsigned)rng(), (unsigned)rng(),
				 (unsigned)k);
			snprintf(v2, sizeof(v2), "%08x-%04x-4%03x-8%03x-%012zx", (unsigned)rng(),
				 (unsigned)(rng() & 0xffff), (unsigned)(rng() & 0xfff),
				 (unsigned)(rng() & 0xfff), k);
		} else {
			snprintf(v0, sizeof(v0), "rabbitmq-%02zu.internal", k % 3);
			snprintf(v1, sizeof(v1), "/production");
			snprintf(v2, sizeof(v2), "orders.events.queue.%06zu", k);
		}
		metric_add(fam[f], vals, sample_value(i));
	}
	for (i = 0; i < nhist; i++) {
		size_t b;
		double sum = 0;

		snprintf(v0, sizeof(v0), "/system.slice/app-%05zu.service", i / 20);
		snprintf(v1, sizeof(v1), "%s", i & 1 ? "php" : "node");
		snprintf(v2, sizeof(v2), "%s", methods[i % 4]);
		snprintf(v3, sizeof(v3), "%s", codes[(i / 4) % 5]);
		for (b = 0; b <= NBOUNDS; b++) {
			counts[b] = rng() % 5000;
			sum += (double)counts[b] * (b < NBOUNDS ? http_bounds[b] : 20) * 0.7;
		}
		metric_add_histogram(hist, vals, counts, sum);
	}
	if (metric_snapshot_error(s)) {
		metric_snapshot_free(s);
		return NULL;
	}
	*nlines = nseries - nhist + nhist * (NBOUNDS + 3);
	return s;
}

/* The straightforward writer: one snprintf per line, %.17g, byte-by-byte escaping. */
static void baseline_escape(struct buf *b, const char *s, int quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_puts(b, "\\\\");
		else if (*s == '\n')
			buf_puts(b, "\\n");
		else if (*s == '"' && quote)
			buf_puts(b, "\\\"");
		else
			buf_putc(b, *s);
	}
}

static int baseline_render(const struct metric_snapshot *s, struct buf *out, struct buf *lab)
{
	static const char *const types[] = { "counter", "gauge", "histogram" };
	const struct metric_family *f;
	const struct metric_series *m;
	unsigned long long cum;
	size_t i, j;

	for (f = metric_snapshot_first(s); f; f = metric_family_next(f)) {
		const char *name = metric_family_name(f);
		size_t nb = metric_family_nbounds(f);

		buf_printf(out, "# HELP %s ", name);
		baseline_escape(out, metric_family_help(f), 0);
		buf_printf(out, "\n# TYPE %s %s\n", name, types[metric_family_type(f)]);
		for (m = metric_family_first_series(f); m; m = metric_series_next(m)) {
			buf_reset(lab);
			for (i = 0; i < metric_family_nlabels(f); i++) {
				buf_printf(lab, "%s%s=\"", i ? "," : "",
					   metric_family_label_name(f, i));
				baseline_escape(lab, metric_series_label_value(m, i), 1);
				buf_putc(lab, '"');
			}
			buf_putc(lab, '\0'); /* lab->data is valid even without labels */
			if (metric_family_type(f) != METRIC_HISTOGRAM) {
				buf_printf(out, "%s{%s} %.17g\n", name, lab->data,
					   metric_series_value(m));
				continue;
			}
			cum = 0;
			for (j = 0; j <= nb; j++) {
				cum += metric_series_buckets(m)[j];
				if (j < nb)
					buf_printf(out, "%s_bucket{%s,le=\"%.17g\"} %llu\n", name,
						   lab->data, metric_family_bounds(f)[j], cum);
				else
					buf_printf(out, "%s_bucket{%s,le=\"+Inf\"} %llu\n", name,
						   lab->data, cum);
			}
			buf_printf(out, "%s_sum{%s} %.17g\n", name, lab->data,
				   metric_series_sum(m));
			buf_printf(out, "%s_count{%s} %llu\n", name, lab->data, cum);
		}
	}
	return out->err;
}

/* The previous expo_gzip: zlib level 1, gzip framing, one deflate(Z_FINISH) call. */
static int baseline_gzip(const void *in, size_t len, struct buf *out)
{
	z_stream zs;
	size_t start, room;
	int zret, err = 0;

	if (out->err)
		return out->err;
	if (len > UINT_MAX / 2)
		return -EFBIG;
	memset(&zs, 0, sizeof(zs));
	zret = deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
	if (zret != Z_OK)
		return zret == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
	if (buf_reserve(out, deflateBound(&zs, len))) {
		err = out->err;
		goto done;
	}
	start = out->len;
	room = out->cap - start - 1;
	zs.next_in = (Bytef *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = (Bytef *)out->data + start;
	zs.avail_out = room > UINT_MAX ? UINT_MAX : (uInt)room;
	zret = deflate(&zs, Z_FINISH);
	if (zret != Z_STREAM_END) {
		err = zret == Z_MEM_ERROR ? -ENOMEM : -EIO;
		goto done;
	}
	out->len = start + zs.total_out;
	out->data[out->len] = '\0';
done:
	deflateEnd(&zs);
	return err;
}

enum mode { MODE_TEXT, MODE_OPENMETRICS, MODE_GZIP, MODE_GZIP_ZLIB, MODE_BASELINE };

static int run_once(const struct metric_snapshot *s, enum mode mode, struct buf *out,
		    struct buf *tmp)
{
	int err;

	switch (mode) {
	case MODE_TEXT:
		return expo_render(s, EXPO_TEXT, out);
	case MODE_OPENMETRICS:
		return expo_render(s, EXPO_OPENMETRICS, out);
	case MODE_GZIP:
		/* What a gzip scrape costs: render, then compress. */
		err = expo_render(s, EXPO_TEXT, tmp);
		return err ? err : expo_gzip(tmp->data, tmp->len, out);
	case MODE_GZIP_ZLIB:
		err = expo_render(s, EXPO_TEXT, tmp);
		return err ? err : baseline_gzip(tmp->data, tmp->len, out);
	case MODE_BASELINE:
		return baseline_render(s, out, tmp);
	}
	return -EINVAL;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int measure(const char *label, const struct metric_snapshot *s, enum mode mode,
		   int iterations, size_t nseries, size_t nlines)
{
	struct buf out, tmp;
	double *ms = calloc((size_t)iterations, sizeof(*ms));
	uint64_t t0;
	int i, err = 0;

	if (!ms)
		return -ENOMEM;
	buf_init(&out);
	buf_init(&tmp);
	/* One warm-up run sizes the buffers. */
	for (i = -1; i < iterations && !err; i++) {
		buf_reset(&out);
		buf_reset(&tmp);
		t0 = now_ns();
		err = run_once(s, mode, &out, &tmp);
		if (i >= 0)
			ms[i] = (double)(now_ns() - t0) / 1e6;
	}
	if (!err) {
		qsort(ms, (size_t)iterations, sizeof(*ms), cmp_double);
		printf("%s series=%zu lines=%zu iterations=%d median_ms=%.2f min_ms=%.2f "
		       "bytes=%zu\n",
		       label, nseries, nlines, iterations, ms[iterations / 2], ms[0], out.len);
	}
	buf_free(&out);
	buf_free(&tmp);
	free(ms);
	return err;
}

int main(int argc, char **argv)
{
	size_t nseries = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	int iterations = argc > 2 ? atoi(argv[2]) : 20;
	unsigned int hist_pct = argc > 3 ? (unsigned int)atoi(argv[3]) : 2;
	struct metric_snapshot *s;
	size_t nlines = 0;
	int err;

	if (nseries < 10 || iterations < 1 || hist_pct > 100) {
		fprintf(stderr, "usage: %s [series>=10 [iterations>=1 [histogram_percent]]]\n",
			argv[0]);
		return 2;
	}
	s = build(nseries, hist_pct, &nlines);
	if (!s) {
		fprintf(stderr, "render_bench: cannot build the snapshot\n");
		return 1;
	}
	printf("# %zu series (%u%% histograms with %zu bounds = %zu lines each), %zu sample "
	       "lines\n",
	       nseries, hist_pct, NBOUNDS, NBOUNDS + 3, nlines);
	err = measure("render plain", s, MODE_TEXT, iterations, nseries, nlines);
	if (!err)
		err = measure("render openmetrics", s, MODE_OPENMETRICS, iterations, nseries,
			      nlines);
	if (!err)
		err = measure("render gzip isal", s, MODE_GZIP, iterations, nseries, nlines);
	if (!err)
		err = measure("render gzip zlib-baseline", s, MODE_GZIP_ZLIB, iterations, nseries,
			      nlines);
	if (!err)
		err = measure("baseline plain", s, MODE_BASELINE, iterations, nseries, nlines);
	metric_snapshot_free(s);
	if (err) {
		fprintf(stderr, "render_bench: %s\n", strerror(-err));
		return 1;
	}
	return 0;
}
