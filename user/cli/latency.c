/* cli/latency.c — hostmon latency: one window's request-latency histogram as text bars, its split,
 * and the CPU of the same cgroups, so slow requests and CPU starvation are read together. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report.h"
#include "cli/source.h"
#include "cli/term.h"
#include "cli/window.h"
#include "cgroup/cgroup.h"

#define BAR_WIDTH 40

static const char *split_label(const char *by)
{
	if (strcmp(by, "status") == 0)
		return "status_code";
	if (strcmp(by, "service") == 0)
		return "cgroup";
	return by; /* method, route: the label's own name */
}

static void bound_text(char *out, size_t len, const struct window *w, size_t i, bool upper)
{
	if (upper && i == w->nbounds)
		snprintf(out, len, "+Inf");
	else if (!upper && i == 0)
		snprintf(out, len, "0");
	else
		snprintf(out, len, "%g", w->bounds[upper ? i : i - 1]);
}

static void print_histogram(const struct window *w, const struct latency *total)
{
	size_t first = w->nbounds + 1, last = 0;
	uint64_t most = 0;

	for (size_t i = 0; i <= w->nbounds; i++) {
		if (!total->buckets[i])
			continue;
		first = i < first ? i : first;
		last = i;
		most = total->buckets[i] > most ? total->buckets[i] : most;
	}
	if (!total->count) {
		printf("no requests in the window\n");
		return;
	}
	printf("%24s : %-10s %s\n", "seconds", "count", "distribution");
	for (size_t i = first; i <= last; i++) {
		char lo[32], hi[32], range[72];
		int stars = (int)((total->buckets[i] * BAR_WIDTH + most - 1) / most);

		bound_text(lo, sizeof(lo), w, i, false);
		bound_text(hi, sizeof(hi), w, i, true);
		snprintf(range, sizeof(range), "%s -> %s", lo, hi);
		printf("%24s : %-10llu |%-*.*s|\n", range, (unsigned long long)total->buckets[i],
		       BAR_WIDTH, stars, "****************************************");
	}
}

static void summary_line(const struct window *w, const struct latency *l, const char *prefix)
{
	struct quantiles q;
	char p50[32], p90[32], p99[32];

	latency_quantiles(w, l, &q);
	format_seconds(p50, sizeof(p50), q.p50, q.beyond50);
	format_seconds(p90, sizeof(p90), q.p90, q.beyond90);
	format_seconds(p99, sizeof(p99), q.p99, q.beyond99);
	printf("%s%llu requests (%.1f/s), p50 %s, p90 %s, p99 %s, 5xx %.1f%%", prefix,
	       (unsigned long long)l->count, (double)l->count / w->seconds, p50, p90, p99,
	       l->count ? 100.0 * (double)l->errors_5xx / (double)l->count : 0.0);
}

/* The highest bucket holding a request: (lower, upper], as text. */
static void max_bucket(char *out, size_t len, const struct window *w, const struct latency *l)
{
	char lo[32], hi[32];

	snprintf(out, len, "-");
	for (size_t i = w->nbounds + 1; i-- > 0;) {
		if (!l->buckets[i])
			continue;
		bound_text(lo, sizeof(lo), w, i, false);
		bound_text(hi, sizeof(hi), w, i, true);
		snprintf(out, len, "%s..%s s", lo, hi);
		return;
	}
}

static void print_text(const struct window *w, const struct latency *total, const char *pattern,
		       const char *by, const char *source)
{
	char top[80];
	size_t with_requests = 0;

	for (size_t i = 0; i < w->nrows; i++)
		with_requests += w->rows[i].http.count != 0;
	printf("hostmon latency: %s\n%.1f s window, %zu cgroup(s)%s%s, %zu with requests\n\n",
	       source, w->seconds, w->nrows, pattern ? " matching " : "", pattern ? pattern : "",
	       with_requests);
	print_histogram(w, total);
	max_bucket(top, sizeof(top), w, total);
	summary_line(w, total, "\n");
	printf(", max bucket %s\n", top);

	if (w->nsplit) {
		printf("\nby %s:\n", by);
		for (size_t i = 0; i < w->nsplit; i++) {
			const struct split_row *s = &w->split[i];
			if (!s->http.count)
				continue;
			printf("  %-24s %5.1f%%  ", *s->value ? s->value : "(none)",
			       100.0 * (double)s->http.count / (double)total->count);
			summary_line(w, &s->http, "");
			printf("\n");
		}
	}
	printf("\nCPU of the same cgroups, same window (throttled -> the limit; run-queue wait ->"
	       " CPU contention on the host):\n");
	printf("  %-40s %6s %6s %8s %9s %9s\n", "SERVICE", "CORES", "%LIM", "THR%", "WAITms/s",
	       "ms/TASK-s");
	for (size_t i = 0; i < w->nrows; i++) {
		const struct cgroup_row *r = &w->rows[i];
		if (!r->has_cpu)
			continue;
		char lim[16] = "-", thr[16] = "-", task_wait[16] = "-";
		if (!isnan(r->limit_ratio))
			snprintf(lim, sizeof(lim), "%.0f", r->limit_ratio * 100);
		if (r->has_throttled)
			snprintf(thr, sizeof(thr), "%.1f", r->throttled_ratio * 100);
		if (!isnan(r->wait_ms_per_task_s))
			snprintf(task_wait, sizeof(task_wait), "%.1f", r->wait_ms_per_task_s);
		printf("  %-40.40s %6.2f %6s %8s %9.1f %9s\n", r->name, r->cores, lim, thr,
		       r->wait_ms_per_s, task_wait);
	}
}

static cJSON *latency_json(const struct window *w, const struct latency *l)
{
	struct quantiles q;
	cJSON *o = cJSON_CreateObject(), *b = cJSON_CreateArray();

	latency_quantiles(w, l, &q);
	cJSON_AddNumberToObject(o, "requests", (double)l->count);
	cJSON_AddNumberToObject(o, "http_5xx", (double)l->errors_5xx);
	cJSON_AddNumberToObject(o, "sum_seconds", l->sum);
	double qs[] = { q.p50, q.p90, q.p99 };
	const char *names[] = { "p50_seconds", "p90_seconds", "p99_seconds" };
	for (size_t i = 0; i < 3; i++)
		cJSON_AddItemToObject(
			o, names[i], isnan(qs[i]) ? cJSON_CreateNull() : cJSON_CreateNumber(qs[i]));
	cJSON_AddBoolToObject(o, "p99_beyond_last_bucket", q.beyond99);
	for (size_t i = 0; i <= w->nbounds; i++) {
		cJSON *e = cJSON_CreateObject();
		if (i < w->nbounds)
			cJSON_AddNumberToObject(e, "le", w->bounds[i]);
		else
			cJSON_AddStringToObject(e, "le", "+Inf");
		cJSON_AddNumberToObject(e, "count", (double)l->buckets[i]);
		cJSON_AddItemToArray(b, e);
	}
	cJSON_AddItemToObject(o, "buckets", b);
	return o;
}

static int print_json(const struct window *w, const struct latency *total, const char *pattern,
		      const char *by, const char *mode)
{
	cJSON *doc = cJSON_CreateObject(), *split = cJSON_CreateArray(), *cpu = cJSON_CreateArray();

	cJSON_AddStringToObject(doc, "source", mode);
	cJSON_AddNumberToObject(doc, "window_seconds", w->seconds);
	cJSON_AddStringToObject(doc, "cgroup", pattern ? pattern : "");
	cJSON_AddStringToObject(doc, "by", by);
	cJSON_AddItemToObject(doc, "latency", latency_json(w, total));
	for (size_t i = 0; i < w->nsplit; i++) {
		cJSON *s = latency_json(w, &w->split[i].http);
		cJSON_AddStringToObject(s, "value", w->split[i].value);
		cJSON_AddItemToArray(split, s);
	}
	cJSON_AddItemToObject(doc, "split", split);
	for (size_t i = 0; i < w->nrows; i++) {
		const struct cgroup_row *r = &w->rows[i];
		if (!r->has_cpu)
			continue;
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "cgroup", r->path);
		cJSON_AddStringToObject(c, "name", r->name);
		cJSON_AddNumberToObject(c, "cpu_cores", r->cores);
		cJSON_AddNumberToObject(c, "runqueue_wait_ms_per_s", r->wait_ms_per_s);
		cJSON_AddItemToObject(c, "runqueue_wait_ms_per_task_second",
				      isnan(r->wait_ms_per_task_s)
					      ? cJSON_CreateNull()
					      : cJSON_CreateNumber(r->wait_ms_per_task_s));
		cJSON_AddItemToObject(c, "throttled_seconds",
				      r->has_throttled ? cJSON_CreateNumber(r->throttled_seconds)
						       : cJSON_CreateNull());
		cJSON_AddItemToObject(c, "limit_cores",
				      r->has_limit ? cJSON_CreateNumber(r->limit_cores)
						   : cJSON_CreateNull());
		cJSON_AddItemToArray(cpu, c);
	}
	cJSON_AddItemToObject(doc, "cpu", cpu);
	char *text = cJSON_PrintUnformatted(doc);
	cJSON_Delete(doc);
	if (!text)
		return -ENOMEM;
	printf("%s\n", text);
	free(text);
	return 0;
}

/* The window's merged latency over the cgroups kept. */
static void total_of(const struct window *w, struct latency *total)
{
	memset(total, 0, sizeof(*total));
	for (size_t i = 0; i < w->nrows; i++) {
		const struct latency *l = &w->rows[i].http;
		for (size_t b = 0; b <= w->nbounds; b++)
			total->buckets[b] += l->buckets[b];
		total->count += l->count;
		total->errors_5xx += l->errors_5xx;
		total->sum += l->sum;
	}
}

/* "^path$" with the path's regex characters escaped: the cgroup process pid is in. */
static int pid_filter(uint64_t pid, char *re, size_t len, char *err, size_t errlen)
{
	char path[4096];
	size_t n = 0;
	int rc = cgroup_pid_path((int)pid, path, sizeof(path));

	if (rc) {
		snprintf(err, errlen, "--pid %llu: %s", (unsigned long long)pid,
			 rc == -ESRCH ? "no such process" : strerror(-rc));
		return rc;
	}
	re[n++] = '^';
	for (const char *c = path; *c && n + 3 < len; c++) {
		if (strchr(".[]{}()\\*+?^$|", *c))
			re[n++] = '\\';
		re[n++] = *c;
	}
	re[n++] = '$';
	re[n] = '\0';
	return 0;
}

int latency_run(const struct cli_source_settings *src, const struct cli_latency_settings *lat)
{
	struct window_filter filter = { 0 };
	struct metric_snapshot *before = NULL, *after = NULL;
	struct source *source = NULL;
	struct window w = { 0 };
	double t0, t1;
	char err[1024] = "";
	int rc;

	char by_pid[8200];
	const char *pattern = lat->cgroup;
	if (lat->pid && lat->cgroup) {
		fprintf(stderr,
			"hostmon latency: --cgroup and --pid both choose the cgroups; give one\n");
		return 2;
	}
	if (lat->pid) {
		if (pid_filter(lat->pid, by_pid, sizeof(by_pid), err, sizeof(err))) {
			fprintf(stderr, "hostmon latency: %s\n", err);
			return 2;
		}
		pattern = by_pid;
	}
	if (pattern) {
		if (regcomp(&filter.re, pattern, REG_EXTENDED | REG_NOSUB)) {
			fprintf(stderr, "hostmon latency: --cgroup is not a regular expression\n");
			return 2;
		}
		filter.active = true;
	}
	term_signals();
	rc = source_open(&source, src, &before, &t0, err, sizeof(err));
	if (!rc) {
		/* a signal ends the window early: then what was seen so far is reported */
		source_wait(source, t0 + (double)lat->duration_ms / 1000, -1, NULL, NULL);
		atomic_store(&term_stop, false);
		rc = source_read(source, &after, &t1, err, sizeof(err));
	}
	if (!rc)
		rc = window_compute(&w, before, after, t1 - t0, &filter, split_label(lat->by), err,
				    sizeof(err));
	if (rc) {
		fprintf(stderr, "hostmon latency: %s\n", err);
	} else {
		struct latency total;
		total_of(&w, &total);
		if (lat->json)
			rc = print_json(&w, &total, pattern, lat->by, source_mode(source));
		else
			print_text(&w, &total, pattern, lat->by, source_describe(source));
		window_free(&w);
	}
	metric_snapshot_free(before);
	metric_snapshot_free(after);
	source_close(source);
	if (filter.active)
		regfree(&filter.re);
	return rc ? 1 : 0;
}
