/* cli/window.c — per-cgroup deltas between two parsed pages, joined by cgroup path. */
#include "cli/window.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/delta.h"
#include "lib/idmap.h"

static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return (h ^ 0xff) * 0x100000001b3ull; /* a separator, so ("ab","c") != ("a","bc") */
}

static uint64_t series_hash(const struct metric_family *f, const struct metric_series *m)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < metric_family_nlabels(f); i++)
		h = fnv1a(h, metric_series_label_value(m, i));
	return h;
}

static bool same_labels(const struct metric_family *f, const struct metric_series *a,
			const struct metric_series *b)
{
	for (size_t i = 0; i < metric_family_nlabels(f); i++)
		if (strcmp(metric_series_label_value(a, i), metric_series_label_value(b, i)))
			return false;
	return true;
}

/* Two pages' declarations of one family line up when labels (and bounds) are the same. */
static bool same_shape(const struct metric_family *a, const struct metric_family *b)
{
	if (!a || !b || metric_family_nlabels(a) != metric_family_nlabels(b) ||
	    metric_family_nbounds(a) != metric_family_nbounds(b))
		return false;
	for (size_t i = 0; i < metric_family_nlabels(a); i++)
		if (strcmp(metric_family_label_name(a, i), metric_family_label_name(b, i)))
			return false;
	for (size_t i = 0; i < metric_family_nbounds(a); i++)
		if (metric_family_bounds(a)[i] != metric_family_bounds(b)[i])
			return false;
	return true;
}

/*
 * One family's series added up by label set: a page can repeat a label set (the daemon writes
 * one per cgroup it no longer names), and the reader means their total.
 */
struct summed_series {
	const struct metric_series *first; /* where the labels are read */
	double value;			   /* counters and gauges; a histogram's sum */
	uint64_t buckets[];		   /* histograms: NON-cumulative */
};

struct summed {
	const struct metric_family *f;
	size_t nbuckets;
	struct summed_series **v;
	size_t n, cap;
	struct idmap by_hash; /* label hash -> index + 1 of the first with it */
};

static struct summed_series *summed_find(const struct summed *s, const struct metric_family *f,
					 const struct metric_series *m)
{
	uintptr_t at = (uintptr_t)idmap_get(&s->by_hash, series_hash(f, m));

	if (!at)
		return NULL;
	if (same_labels(f, s->v[at - 1]->first, m))
		return s->v[at - 1];
	for (size_t i = 0; i < s->n; i++) /* two label sets with one hash: rare enough to scan */
		if (same_labels(f, s->v[i]->first, m))
			return s->v[i];
	return NULL;
}

static int summed_init(struct summed *s, const struct metric_family *f)
{
	memset(s, 0, sizeof(*s));
	s->f = f;
	if (!f)
		return 0;
	s->nbuckets = metric_family_type(f) == METRIC_HISTOGRAM ? metric_family_nbounds(f) + 1 : 0;
	for (const struct metric_series *m = metric_family_first_series(f); m;
	     m = metric_series_next(m)) {
		bool hist = s->nbuckets != 0;
		struct summed_series *e = summed_find(s, f, m);
		if (!e) {
			if (s->n == s->cap) {
				size_t cap = s->cap ? s->cap * 2 : 64;
				struct summed_series **v = realloc(s->v, cap * sizeof(*v));
				if (!v)
					return -ENOMEM;
				s->v = v;
				s->cap = cap;
			}
			e = calloc(1, sizeof(*e) + s->nbuckets * sizeof(uint64_t));
			if (!e)
				return -ENOMEM;
			e->first = m;
			s->v[s->n++] = e;
			uint64_t h = series_hash(f, m);
			if (!idmap_get(&s->by_hash, h) &&
			    idmap_put(&s->by_hash, h, (void *)(uintptr_t)s->n))
				return -ENOMEM;
		}
		e->value += hist ? metric_series_sum(m) : metric_series_value(m);
		for (size_t i = 0; i < s->nbuckets; i++)
			e->buckets[i] += metric_series_buckets(m)[i];
	}
	return 0;
}

static void summed_free(struct summed *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	idmap_free(&s->by_hash);
}

/* The after page's family and the before page's, summed; before is empty when their
 * declarations differ (nothing to subtract: the window starts at zero). */
static int summed_pair(struct summed *after, struct summed *before, const char *name,
		       const struct metric_snapshot *b, const struct metric_snapshot *a)
{
	const struct metric_family *af = metric_snapshot_find(a, name);
	const struct metric_family *bf = b ? metric_snapshot_find(b, name) : NULL;
	int rc = summed_init(after, af);

	if (!rc)
		rc = summed_init(before, same_shape(af, bf) ? bf : NULL);
	return rc;
}

static const struct summed_series *earlier(const struct summed *before,
					   const struct summed_series *e)
{
	return before->f ? summed_find(before, before->f, e->first) : NULL;
}

static const char *label(const struct metric_family *f, const struct metric_series *m,
			 const char *name)
{
	int i = metric_family_label_index(f, name);
	return i < 0 ? "" : metric_series_label_value(m, (size_t)i);
}

void cgroup_best_name(const char *path, const char *container_id, const char *pod,
		      const char *container, const char *ns, char *out, size_t len)
{
	static const char *const unit_suffixes[] = { ".service", ".scope", ".slice", ".socket" };
	const char *last = strrchr(path, '/');

	last = last ? last + 1 : path;
	if (!*path) {
		/* the daemon no longer knows the cgroup's path (it was removed) */
		snprintf(out, len, "(unnamed cgroup)");
		return;
	}
	if (*pod) {
		snprintf(out, len, "%s%s%s%s%s", ns, *ns ? "/" : "", pod, *container ? "/" : "",
			 container);
		return;
	}
	if (*container) {
		snprintf(out, len, "%s", container);
		return;
	}
	/* a container's own cgroup; its sub-cgroups keep the id and are shown by path */
	if (*container_id && strstr(last, container_id)) {
		snprintf(out, len, "ctr:%.12s", container_id);
		return;
	}
	for (size_t i = 0; i < sizeof(unit_suffixes) / sizeof(unit_suffixes[0]); i++) {
		size_t n = strlen(last), m = strlen(unit_suffixes[i]);
		if (n > m && strcmp(last + n - m, unit_suffixes[i]) == 0) {
			snprintf(out, len, "%s", last);
			return;
		}
	}
	snprintf(out, len, "%s", path);
}

struct builder {
	struct window *w;
	struct idmap by_path; /* hash of the path -> row index + 1 */
	const struct window_filter *filter;
};

/* The row of the series' cgroup, made on first sight; NULL with -ENOMEM in *rc. */
static struct cgroup_row *row_of(struct builder *b, const struct metric_family *f,
				 const struct metric_series *m, int *rc)
{
	struct window *w = b->w;
	const char *path = label(f, m, "cgroup");
	uint64_t h = fnv1a(0xcbf29ce484222325ull, path);
	uintptr_t at = (uintptr_t)idmap_get(&b->by_path, h);

	if (at && strcmp(w->rows[at - 1].path, path) == 0)
		return &w->rows[at - 1];
	for (size_t i = 0; at && i < w->nrows; i++) /* a hash shared by two paths */
		if (strcmp(w->rows[i].path, path) == 0)
			return &w->rows[i];
	if (w->nrows == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 64;
		struct cgroup_row *rows = realloc(w->rows, cap * sizeof(*rows));
		if (!rows)
			goto nomem;
		w->rows = rows;
		w->cap = cap;
	}
	char name[512];
	cgroup_best_name(path, label(f, m, "container_id"), label(f, m, "pod"),
			 label(f, m, "container"), label(f, m, "namespace"), name, sizeof(name));
	/* a name goes to a terminal: control bytes in a path must not become escape sequences */
	for (char *c = name; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	struct cgroup_row *r = &w->rows[w->nrows];
	*r = (struct cgroup_row){ .path = strdup(path), .name = strdup(name) };
	if (!r->path || !r->name) {
		free(r->path);
		free(r->name);
		goto nomem;
	}
	w->nrows++;
	if (!at && idmap_put(&b->by_path, h, (void *)(uintptr_t)w->nrows))
		goto nomem;
	return r;
nomem:
	*rc = -ENOMEM;
	return NULL;
}

/* The per-cgroup families of one value per cgroup: CPU (cgroup_cpu) and memory (cgroup_saturation).
 */
enum cpu_field {
	FIELD_CPU,
	FIELD_WAIT,
	FIELD_THROTTLED,
	FIELD_LIMIT,
	FIELD_WSS,
	FIELD_MEM_LIMIT,
	FIELD_OOM,
	FIELD_PHP_SAT,
	FIELD_ELU
};

static int read_cpu_family(struct builder *b, const struct metric_snapshot *before,
			   const struct metric_snapshot *after, const char *name,
			   enum cpu_field field)
{
	struct summed now, then;
	int rc = summed_pair(&now, &then, name, before, after);

	if (!rc && now.f && field == FIELD_CPU)
		b->w->has_cpu_family = true;
	for (size_t i = 0; !rc && i < now.n; i++) {
		const struct summed_series *e = now.v[i], *old = earlier(&then, e);
		double d = counter_delta(e->value, old ? old->value : 0);

		if (strcmp(label(now.f, e->first, "cgroup"), "/") == 0) {
			if (field == FIELD_CPU) {
				b->w->has_host = true;
				b->w->host_cores = d / b->w->seconds;
			}
			continue;
		}
		struct cgroup_row *r = row_of(b, now.f, e->first, &rc);
		if (!r)
			break;
		switch (field) {
		case FIELD_CPU:
			r->cpu_seconds = d;
			r->has_cpu = true;
			break;
		case FIELD_WAIT:
			r->wait_seconds = d;
			break;
		case FIELD_THROTTLED:
			r->throttled_seconds = d;
			r->has_throttled = true;
			break;
		case FIELD_LIMIT:
			r->limit_cores = e->value;
			r->has_limit = true;
			break;
		case FIELD_WSS:
			r->wss_bytes = e->value;
			r->has_wss = true;
			break;
		case FIELD_MEM_LIMIT:
			r->mem_limit_bytes = e->value;
			r->has_mem_limit = true;
			break;
		case FIELD_OOM:
			r->oom_kills = d;
			r->has_oom = true;
			break;
		case FIELD_PHP_SAT:
			r->php_saturated_seconds = d;
			r->has_php = true;
			break;
		case FIELD_ELU:
			r->eventloop_utilization = e->value;
			r->has_elu = true;
			break;
		}
	}
	summed_free(&now);
	summed_free(&then);
	return rc;
}

static void latency_add(struct latency *l, const uint64_t *d, size_t n, double sum, bool is_5xx)
{
	uint64_t count = 0;

	for (size_t i = 0; i < n; i++) {
		l->buckets[i] += d[i];
		count += d[i];
	}
	l->count += count;
	l->sum += sum;
	if (is_5xx)
		l->errors_5xx += count;
}

static struct split_row *split_of(struct window *w, const char *value, int *rc)
{
	for (size_t i = 0; i < w->nsplit; i++)
		if (strcmp(w->split[i].value, value) == 0)
			return &w->split[i];
	if (w->nsplit == w->split_cap) {
		size_t cap = w->split_cap ? w->split_cap * 2 : 16;
		struct split_row *s = realloc(w->split, cap * sizeof(*s));
		if (!s)
			goto nomem;
		w->split = s;
		w->split_cap = cap;
	}
	w->split[w->nsplit] = (struct split_row){ .value = strdup(value) };
	if (!w->split[w->nsplit].value)
		goto nomem;
	return &w->split[w->nsplit++];
nomem:
	*rc = -ENOMEM;
	return NULL;
}

static int read_http_family(struct builder *b, const struct metric_snapshot *before,
			    const struct metric_snapshot *after, const char *split_label)
{
	struct window *w = b->w;
	uint64_t d[WINDOW_MAX_BOUNDS + 1];
	struct summed now, then;
	int rc = summed_pair(&now, &then, HTTP_FAMILY, before, after);

	if (!rc && now.f) {
		w->has_http_family = true;
		w->nbounds = metric_family_nbounds(now.f);
		if (w->nbounds > WINDOW_MAX_BOUNDS)
			rc = -EINVAL;
		else
			memcpy(w->bounds, metric_family_bounds(now.f), w->nbounds * sizeof(double));
	}
	for (size_t i = 0; !rc && i < now.n; i++) {
		const struct summed_series *e = now.v[i], *old = earlier(&then, e);
		bool reset = hist_delta(e->buckets, old ? old->buckets : NULL, w->nbounds + 1, d);
		double sum = e->value - (old && !reset ? old->value : 0);
		bool is_5xx = label(now.f, e->first, "status_code")[0] == '5';
		struct cgroup_row *r = row_of(b, now.f, e->first, &rc);

		if (!r)
			break;
		latency_add(&r->http, d, w->nbounds + 1, sum, is_5xx);
		if (!split_label || !window_filter_pass(b->filter, r))
			continue;
		struct split_row *s = split_of(w, label(now.f, e->first, split_label), &rc);
		if (s)
			latency_add(&s->http, d, w->nbounds + 1, sum, is_5xx);
	}
	summed_free(&now);
	summed_free(&then);
	return rc;
}

void latency_quantiles(const struct window *w, const struct latency *l, struct quantiles *q)
{
	q->p50 = hist_quantile(0.5, w->bounds, w->nbounds, l->buckets, &q->beyond50);
	q->p90 = hist_quantile(0.9, w->bounds, w->nbounds, l->buckets, &q->beyond90);
	q->p99 = hist_quantile(0.99, w->bounds, w->nbounds, l->buckets, &q->beyond99);
}

static void derive(struct window *w, struct cgroup_row *r)
{
	double s = w->seconds;

	r->cores = r->has_cpu ? r->cpu_seconds / s : NAN;
	r->limit_ratio =
		r->has_cpu && r->has_limit && r->limit_cores > 0 ? r->cores / r->limit_cores : NAN;
	/* the kernel sums throttled time over the CPUs the group runs on: it can pass 100% */
	r->throttled_ratio = r->has_throttled ? r->throttled_seconds / s : NAN;
	r->wait_ms_per_s = r->has_cpu ? r->wait_seconds * 1000 / s : NAN;
	r->wait_ms_per_task_s =
		r->has_cpu && r->cpu_seconds + r->wait_seconds > 0
			? r->wait_seconds * 1000 / (r->cpu_seconds + r->wait_seconds)
			: NAN;
	r->mem_limit_ratio = r->has_wss && r->has_mem_limit && r->mem_limit_bytes > 0
				     ? r->wss_bytes / r->mem_limit_bytes
				     : NAN;
	r->req_per_s = (double)r->http.count / s;
	r->php_saturated_ratio = r->has_php ? r->php_saturated_seconds / s : NAN;
	r->error_ratio = r->http.count ? (double)r->http.errors_5xx / (double)r->http.count : NAN;
	latency_quantiles(w, &r->http, &r->q);
}

bool window_filter_pass(const struct window_filter *f, const struct cgroup_row *r)
{
	return !f || !f->active || regexec(&f->re, r->name, 0, NULL, 0) == 0 ||
	       regexec(&f->re, r->path, 0, NULL, 0) == 0;
}

int window_compute(struct window *w, const struct metric_snapshot *before,
		   const struct metric_snapshot *after, double seconds,
		   const struct window_filter *filter, const char *split_label, char *err,
		   size_t errlen)
{
	struct builder b = { .w = w, .filter = filter };
	static const struct {
		const char *family;
		enum cpu_field field;
	} cpu[] = { { CPU_FAMILY, FIELD_CPU },
		    { WAIT_FAMILY, FIELD_WAIT },
		    { THROTTLED_FAMILY, FIELD_THROTTLED },
		    { LIMIT_FAMILY, FIELD_LIMIT },
		    { WSS_FAMILY, FIELD_WSS },
		    { MEM_LIMIT_FAMILY, FIELD_MEM_LIMIT },
		    { OOM_FAMILY, FIELD_OOM },
		    { PHP_SAT_FAMILY, FIELD_PHP_SAT },
		    { ELU_FAMILY, FIELD_ELU } };
	int rc = 0;

	memset(w, 0, sizeof(*w));
	w->seconds = seconds > 0 ? seconds : 1e-9;
	w->http_targets = NAN;
	for (size_t i = 0; !rc && i < sizeof(cpu) / sizeof(cpu[0]); i++)
		rc = read_cpu_family(&b, before, after, cpu[i].family, cpu[i].field);
	if (!rc)
		rc = read_http_family(&b, before, after, split_label);
	idmap_free(&b.by_path);
	if (rc) {
		snprintf(err, errlen,
			 rc == -ENOMEM ? "out of memory" : "histogram with too many buckets");
		window_free(w);
		return rc;
	}
	const struct metric_family *t = metric_snapshot_find(after, TARGETS_GAUGE);
	if (t && metric_family_first_series(t))
		w->http_targets = metric_series_value(metric_family_first_series(t));
	size_t kept = 0;
	for (size_t i = 0; i < w->nrows; i++) {
		struct cgroup_row *r = &w->rows[i];
		/* a histogram series left by a server gone quiet, of a cgroup with no CPU
		 * series (removed, or the root): nothing to show in this window */
		if (!window_filter_pass(filter, r) || (!r->has_cpu && !r->http.count)) {
			free(r->path);
			free(r->name);
			continue;
		}
		derive(w, r);
		w->rows[kept++] = *r;
	}
	w->nrows = kept;
	return 0;
}

void window_free(struct window *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->nrows; i++) {
		free(w->rows[i].path);
		free(w->rows[i].name);
	}
	for (size_t i = 0; i < w->nsplit; i++)
		free(w->split[i].value);
	free(w->rows);
	free(w->split);
	memset(w, 0, sizeof(*w));
}
