/* cli/report.c — hostmon top's table and JSON: sorting, unusual rows, the host line. */
#include "cli/report.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const struct {
	const char *name;
	char letter;
} sort_keys[] = {
	[SORT_CPU] = { "cpu", 'c' },
	[SORT_WAIT] = { "wait", 'w' },
	[SORT_THROTTLED] = { "throttled", 't' },
	[SORT_REQUESTS] = { "requests", 'r' },
	[SORT_P99] = { "p99", 'p' },
	[SORT_ERRORS] = { "errors", 'e' },
};

#define NKEYS (sizeof(sort_keys) / sizeof(sort_keys[0]))

int sort_key_from_name(const char *name, enum sort_key *out)
{
	for (size_t i = 0; name && i < NKEYS; i++)
		if (strcmp(name, sort_keys[i].name) == 0) {
			*out = (enum sort_key)i;
			return 0;
		}
	return -EINVAL;
}

int sort_key_from_letter(char c, enum sort_key *out)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (c == sort_keys[i].letter) {
			*out = (enum sort_key)i;
			return 0;
		}
	return -EINVAL;
}

const char *sort_key_name(enum sort_key k)
{
	return (size_t)k < NKEYS ? sort_keys[k].name : "?";
}

static double sort_value(const struct cgroup_row *r, enum sort_key k)
{
	switch (k) {
	case SORT_CPU:
		return r->cores;
	case SORT_WAIT:
		return r->wait_ms_per_s;
	case SORT_THROTTLED:
		return r->throttled_ratio;
	case SORT_REQUESTS:
		return r->http.count ? r->req_per_s : NAN;
	case SORT_P99:
		/* past the last bound is slower than the bound itself */
		return r->q.beyond99 ? INFINITY : r->q.p99;
	case SORT_ERRORS:
		return r->error_ratio;
	}
	return NAN;
}

static int compare_rows(const void *a, const void *b, void *arg)
{
	const struct cgroup_row *x = *(const struct cgroup_row *const *)a;
	const struct cgroup_row *y = *(const struct cgroup_row *const *)b;
	enum sort_key k = *(const enum sort_key *)arg;
	double vx = sort_value(x, k), vy = sort_value(y, k);

	if (isnan(vx) != isnan(vy))
		return isnan(vx) ? 1 : -1;
	if (!isnan(vx) && vx != vy)
		return vx > vy ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The rows that pass the filter, sorted; the caller frees the array. */
static const struct cgroup_row **sorted_rows(const struct window *w, enum sort_key k,
					     const struct window_filter *filter, size_t *n)
{
	const struct cgroup_row **rows = calloc(w->nrows ? w->nrows : 1, sizeof(*rows));

	*n = 0;
	if (!rows)
		return NULL;
	for (size_t i = 0; i < w->nrows; i++)
		if (window_filter_pass(filter, &w->rows[i]))
			rows[(*n)++] = &w->rows[i];
	qsort_r(rows, *n, sizeof(*rows), compare_rows, &k);
	return rows;
}

/* The last UNUSUAL_P99_WINDOW_S of one cgroup's p99s (windows with requests only). */
struct p99_ring {
	char *path;
	size_t n, next;
	double values[];
};

static uint64_t path_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

int p99_history_init(struct p99_history *h, double interval_s)
{
	memset(h, 0, sizeof(*h));
	h->cap = interval_s > 0 ? (size_t)(UNUSUAL_P99_WINDOW_S / interval_s) : 1;
	if (h->cap < 1)
		h->cap = 1;
	return 0;
}

void p99_history_free(struct p99_history *h)
{
	for (size_t i = 0; h && i < h->by_path.cap; i++) {
		struct p99_ring *r = h->by_path.slots[i].value;
		if (r) {
			free(r->path);
			free(r);
		}
	}
	if (h)
		idmap_free(&h->by_path);
}

static int compare_doubles(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of the ring before this window's value is added; NaN while too short. */
static double ring_median(const struct p99_ring *r)
{
	if (r->n < UNUSUAL_P99_MIN_SAMPLES)
		return NAN;
	double *v = malloc(r->n * sizeof(*v));
	if (!v)
		return NAN;
	memcpy(v, r->values, r->n * sizeof(*v));
	qsort(v, r->n, sizeof(*v), compare_doubles);
	double m = r->n % 2 ? v[r->n / 2] : (v[r->n / 2 - 1] + v[r->n / 2]) / 2;
	free(v);
	return m;
}

static struct p99_ring *ring_of(struct p99_history *h, const char *path)
{
	uint64_t key = path_hash(path);
	struct p99_ring *r = idmap_get(&h->by_path, key);

	if (r)
		return strcmp(r->path, path) == 0 ? r : NULL; /* a shared hash: no history */
	r = calloc(1, sizeof(*r) + h->cap * sizeof(double));
	if (!r || !(r->path = strdup(path)) || idmap_put(&h->by_path, key, r)) {
		if (r)
			free(r->path);
		free(r);
		return NULL;
	}
	return r;
}

void report_mark_unusual(struct window *w, struct p99_history *h)
{
	for (size_t i = 0; i < w->nrows; i++) {
		struct cgroup_row *r = &w->rows[i];
		r->unusual = 0;
		if (r->throttled_ratio > UNUSUAL_THROTTLED)
			r->unusual |= UNUSUAL_THROTTLED_BIT;
		if (r->wait_ms_per_s > UNUSUAL_WAIT_MS)
			r->unusual |= UNUSUAL_WAIT_BIT;
		if (r->error_ratio > UNUSUAL_ERRORS)
			r->unusual |= UNUSUAL_ERRORS_BIT;
		if (r->has_elu && r->eventloop_utilization > UNUSUAL_ELU)
			r->unusual |= UNUSUAL_ELU_BIT;
		if (!h || isnan(r->q.p99))
			continue;
		struct p99_ring *ring = ring_of(h, r->path);
		if (!ring)
			continue;
		double median = ring_median(ring);
		if (median > 0 && r->q.p99 > UNUSUAL_P99_FACTOR * median)
			r->unusual |= UNUSUAL_P99_BIT;
		ring->values[ring->next] = r->q.p99;
		ring->next = (ring->next + 1) % h->cap;
		if (ring->n < h->cap)
			ring->n++;
	}
}

void host_facts_read(struct host_facts *h, const char *url)
{
	static const char *const local_hosts[] = { "://127.", "://localhost", "://[::1]" };
	FILE *f;

	memset(h, 0, sizeof(*h));
	h->local = !url;
	for (size_t i = 0; url && i < sizeof(local_hosts) / sizeof(local_hosts[0]); i++)
		if (strstr(url, local_hosts[i]))
			h->local = true;
	if (!h->local)
		return;
	h->cpus = sysconf(_SC_NPROCESSORS_ONLN);
	f = fopen("/proc/loadavg", "re");
	if (f) {
		h->has_load = fscanf(f, "%lf %lf %lf", &h->load[0], &h->load[1], &h->load[2]) == 3;
		fclose(f);
	}
}

void format_seconds(char *out, size_t len, double v, bool beyond)
{
	if (isnan(v))
		snprintf(out, len, "-");
	else if (beyond)
		snprintf(out, len, ">%gs", v);
	else if (v < 0.01)
		snprintf(out, len, "%.1fms", v * 1000);
	else if (v < 1)
		snprintf(out, len, "%.0fms", v * 1000);
	else
		snprintf(out, len, "%.2fs", v);
}

static void format_number(char *out, size_t len, double v, const char *fmt)
{
	if (isnan(v))
		snprintf(out, len, "-");
	else
		snprintf(out, len, fmt, v);
}

/* Bytes in the fewest characters a person reads at a glance: 512K, 87M, 1.5G. */
static void format_bytes(char *out, size_t len, double v)
{
	static const char units[] = "KMGT";
	double x = v / 1024;
	size_t u = 0;

	if (isnan(v)) {
		snprintf(out, len, "-");
		return;
	}
	while (x >= 1000 && u + 1 < sizeof(units) - 1) {
		x /= 1024;
		u++;
	}
	snprintf(out, len, x < 10 && u ? "%.1f%c" : "%.0f%c", x, units[u]);
}

/* The row with the highest p99 among those shown; NULL when none had requests. */
static const struct cgroup_row *worst_p99(const struct cgroup_row **rows, size_t n)
{
	const struct cgroup_row *worst = NULL;

	for (size_t i = 0; i < n; i++) {
		double v = sort_value(rows[i], SORT_P99);
		if (!isnan(v) && (!worst || v > sort_value(worst, SORT_P99)))
			worst = rows[i];
	}
	return worst;
}

static void unusual_letters(unsigned bits, char *out)
{
	static const char letters[] = "TWEPL";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(letters) - 1; i++)
		if (bits & (1u << i))
			out[n++] = letters[i];
	out[n] = '\0';
}

static void header(struct buf *out, const struct report_view *v, const struct cgroup_row *worst)
{
	const struct window *w = v->w;
	const struct host_facts *h = v->host;
	char p99[32];

	buf_printf(out, "%shostmon top%s  %s, window %.1f s, sorted by %s%s%s\n",
		   v->colour ? "\033[1m" : "", v->colour ? "\033[0m" : "", v->source, w->seconds,
		   sort_key_name(v->sort), v->filter_text && *v->filter_text ? ", filter /" : "",
		   v->filter_text && *v->filter_text ? v->filter_text : "");
	if (w->has_host && h->local && h->cpus > 0)
		buf_printf(out, "host CPU %.2f of %ld cores (%.0f%%)", w->host_cores, h->cpus,
			   100 * w->host_cores / (double)h->cpus);
	else if (w->has_host)
		buf_printf(out, "host CPU %.2f cores", w->host_cores);
	else
		buf_puts(out, "host CPU - (no cgroup_cpu collector)");
	if (h->has_load)
		buf_printf(out, " | load %.2f %.2f %.2f", h->load[0], h->load[1], h->load[2]);
	else
		buf_puts(out, " | load - (daemon not on this host)");
	if (worst) {
		format_seconds(p99, sizeof(p99), worst->q.p99, worst->q.beyond99);
		buf_printf(out, " | worst p99 %s %s", p99, worst->name);
	} else {
		buf_puts(out, " | worst p99 - (no requests)");
	}
	if (isnan(w->http_targets))
		buf_puts(out, " | HTTP targets - (no http_latency collector)\n");
	else
		buf_printf(out, " | HTTP targets %.0f\n", w->http_targets);
}

void report_table(struct buf *out, const struct report_view *v)
{
	size_t n;
	const struct cgroup_row **rows = sorted_rows(v->w, v->sort, v->filter, &n);
	int name_width = 12;

	if (!rows) {
		out->err = -ENOMEM;
		return;
	}
	header(out, v, worst_p99(rows, n));
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(rows[i]->name) > name_width)
			name_width = (int)strlen(rows[i]->name);
	/* the fixed columns take 107 characters; the name gets what the terminal leaves */
	if (v->width > 0 && name_width > v->width - 107)
		name_width = v->width - 107 > 12 ? v->width - 107 : 12;
	if (name_width > 80)
		name_width = 80;
	buf_printf(out, "%s  %-*s %6s %6s %6s %9s %9s %6s %5s %4s %8s %7s %7s %6s %6s %5s %-4s%s\n",
		   v->colour ? "\033[7m" : "", name_width, "SERVICE", "CORES", "%LIM", "THR%",
		   "WAITms/s", "ms/TASK-s", "MEM", "%MEM", "OOM", "REQ/s", "P50", "P99", "5XX%",
		   "ELU%", "PHP%", "!", v->colour ? "\033[0m" : "");
	for (size_t i = 0; i < n && (v->max_rows <= 0 || (int)i < v->max_rows); i++) {
		const struct cgroup_row *r = rows[i];
		char cores[16], lim[16], thr[16], wait[16], task_wait[16], rps[16], p50[32],
			p99[32], err[16];
		char mem[16], memlim[16], oom[16], elu[16], php[16], marks[8];

		format_number(cores, sizeof(cores), r->cores, "%.2f");
		format_number(lim, sizeof(lim), r->limit_ratio * 100, "%.0f");
		format_number(thr, sizeof(thr), r->throttled_ratio * 100, "%.1f");
		format_number(wait, sizeof(wait), r->wait_ms_per_s, "%.1f");
		format_number(task_wait, sizeof(task_wait), r->wait_ms_per_task_s, "%.1f");
		format_bytes(mem, sizeof(mem), r->has_wss ? r->wss_bytes : NAN);
		format_number(memlim, sizeof(memlim), r->mem_limit_ratio * 100, "%.0f");
		format_number(oom, sizeof(oom), r->has_oom ? r->oom_kills : NAN, "%.0f");
		format_number(rps, sizeof(rps), r->http.count ? r->req_per_s : NAN, "%.1f");
		format_seconds(p50, sizeof(p50), r->q.p50, r->q.beyond50);
		format_seconds(p99, sizeof(p99), r->q.p99, r->q.beyond99);
		format_number(err, sizeof(err), r->error_ratio * 100, "%.1f");
		format_number(elu, sizeof(elu), r->has_elu ? r->eventloop_utilization * 100 : NAN,
			      "%.0f");
		format_number(php, sizeof(php), r->php_saturated_ratio * 100, "%.0f");
		unusual_letters(r->unusual, marks);
		buf_printf(out,
			   "%s%c %-*.*s %6s %6s %6s %9s %9s %6s %5s %4s %8s %7s %7s %6s %6s %5s "
			   "%-4s%s\n",
			   v->colour && r->unusual ? "\033[31;1m" : "", r->unusual ? '!' : ' ',
			   name_width, name_width, r->name, cores, lim, thr, wait, task_wait, mem,
			   memlim, oom, rps, p50, p99, err, elu, php, marks,
			   v->colour && r->unusual ? "\033[0m" : "");
	}
	if (v->max_rows > 0 && n > (size_t)v->max_rows)
		buf_printf(out, "  ... %zu more rows (filter with /)\n", n - (size_t)v->max_rows);
	free(rows);
}

static cJSON *number_or_null(double v)
{
	return isnan(v) || isinf(v) ? cJSON_CreateNull() : cJSON_CreateNumber(v);
}

static void put_number(cJSON *o, const char *key, double v)
{
	cJSON_AddItemToObject(o, key, number_or_null(v));
}

static cJSON *row_json(const struct cgroup_row *r)
{
	static const char *const why[] = { "throttled", "runqueue_wait", "http_5xx", "p99",
					   "eventloop_busy" };
	cJSON *o = cJSON_CreateObject(), *marks = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "cgroup", r->path);
	cJSON_AddStringToObject(o, "name", r->name);
	put_number(o, "cpu_cores", r->cores);
	put_number(o, "cpu_seconds", r->has_cpu ? r->cpu_seconds : NAN);
	put_number(o, "limit_cores", r->has_limit ? r->limit_cores : NAN);
	put_number(o, "limit_percent", r->limit_ratio * 100);
	put_number(o, "throttled_seconds", r->has_throttled ? r->throttled_seconds : NAN);
	put_number(o, "throttled_percent", r->throttled_ratio * 100);
	put_number(o, "runqueue_wait_seconds", r->has_cpu ? r->wait_seconds : NAN);
	put_number(o, "runqueue_wait_ms_per_s", r->wait_ms_per_s);
	put_number(o, "runqueue_wait_ms_per_task_second", r->wait_ms_per_task_s);
	put_number(o, "memory_working_set_bytes", r->has_wss ? r->wss_bytes : NAN);
	put_number(o, "memory_limit_bytes", r->has_mem_limit ? r->mem_limit_bytes : NAN);
	put_number(o, "memory_limit_percent", r->mem_limit_ratio * 100);
	put_number(o, "oom_kills", r->has_oom ? r->oom_kills : NAN);
	put_number(o, "phpfpm_saturated_percent", r->php_saturated_ratio * 100);
	put_number(o, "http_requests", (double)r->http.count);
	put_number(o, "http_requests_per_second", r->req_per_s);
	put_number(o, "http_5xx", (double)r->http.errors_5xx);
	put_number(o, "http_5xx_percent", r->error_ratio * 100);
	put_number(o, "eventloop_utilization_percent",
		   r->has_elu ? r->eventloop_utilization * 100 : NAN);
	put_number(o, "p50_seconds", r->q.p50);
	put_number(o, "p90_seconds", r->q.p90);
	put_number(o, "p99_seconds", r->q.p99);
	cJSON_AddBoolToObject(o, "p99_beyond_last_bucket", r->q.beyond99);
	for (size_t i = 0; i < sizeof(why) / sizeof(why[0]); i++)
		if (r->unusual & (1u << i))
			cJSON_AddItemToArray(marks, cJSON_CreateString(why[i]));
	cJSON_AddItemToObject(o, "unusual", marks);
	return o;
}

char *report_json(const struct window *w, const struct host_facts *host, enum sort_key sort,
		  const struct window_filter *filter, const char *filter_text, const char *mode,
		  const char *url)
{
	size_t n;
	const struct cgroup_row **rows = sorted_rows(w, sort, filter, &n);
	cJSON *doc = cJSON_CreateObject(), *h = cJSON_CreateObject(), *list = cJSON_CreateArray();
	char *text = NULL;

	if (!rows || !doc || !h || !list)
		goto out;
	cJSON_AddStringToObject(doc, "source", mode);
	cJSON_AddStringToObject(doc, "url", url);
	cJSON_AddNumberToObject(doc, "window_seconds", w->seconds);
	cJSON_AddStringToObject(doc, "sort", sort_key_name(sort));
	cJSON_AddStringToObject(doc, "filter", filter_text ? filter_text : "");
	put_number(h, "cpu_cores", w->has_host ? w->host_cores : NAN);
	put_number(h, "cpus", host->local ? (double)host->cpus : NAN);
	if (host->has_load) {
		double load[3] = { host->load[0], host->load[1], host->load[2] };
		cJSON_AddItemToObject(h, "load", cJSON_CreateDoubleArray(load, 3));
	} else {
		cJSON_AddNullToObject(h, "load");
	}
	put_number(h, "http_targets", w->http_targets);
	const struct cgroup_row *worst = worst_p99(rows, n);
	if (worst) {
		cJSON *wp = cJSON_CreateObject();
		cJSON_AddStringToObject(wp, "name", worst->name);
		cJSON_AddStringToObject(wp, "cgroup", worst->path);
		put_number(wp, "seconds", worst->q.p99);
		cJSON_AddBoolToObject(wp, "beyond_last_bucket", worst->q.beyond99);
		cJSON_AddItemToObject(h, "worst_p99", wp);
	} else {
		cJSON_AddNullToObject(h, "worst_p99");
	}
	cJSON_AddItemToObject(doc, "host", h);
	h = NULL;
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(list, row_json(rows[i]));
	cJSON_AddItemToObject(doc, "rows", list);
	list = NULL;
	text = cJSON_PrintUnformatted(doc);
out:
	free(rows);
	cJSON_Delete(h);
	cJSON_Delete(list);
	cJSON_Delete(doc);
	return text;
}
