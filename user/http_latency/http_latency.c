/* http_latency/http_latency.c — the http_latency collector: loads
 * bpf/http_latency/http_latency.bpf.c and exports its request histograms. */
#include "http_latency/http_latency.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/log.h"
#include "core/loop.h"
#include "exposition/family_table.h"
#include "http_latency/routes.h"
#include "http_latency/state.h"
#include "lib/bpf_util.h"
#include "lib/fileutil.h"
#include "lib/proc.h"
#include "skel/http_latency.skel.h"

static const char *const method_names[HTTP_METHOD_N] = {
	[HTTP_METHOD_OTHER] = "OTHER",	   [HTTP_METHOD_GET] = "GET",
	[HTTP_METHOD_HEAD] = "HEAD",	   [HTTP_METHOD_POST] = "POST",
	[HTTP_METHOD_PUT] = "PUT",	   [HTTP_METHOD_DELETE] = "DELETE",
	[HTTP_METHOD_PATCH] = "PATCH",	   [HTTP_METHOD_OPTIONS] = "OPTIONS",
	[HTTP_METHOD_CONNECT] = "CONNECT", [HTTP_METHOD_TRACE] = "TRACE",
};

static const char *const unpaired_names[HTTP_UNPAIRED_N] = {
	[HTTP_UNPAIRED_CLOSED] = "closed",	   [HTTP_UNPAIRED_PIPELINED] = "pipelined",
	[HTTP_UNPAIRED_STALE] = "pid_reused",	   [HTTP_UNPAIRED_NO_START] = "no_start",
	[HTTP_UNPAIRED_STATE_FULL] = "state_full", [HTTP_UNPAIRED_EXIT] = "process_exit",
};

const char *latency_runtime_name(__u8 runtime)
{
	switch (runtime) {
	case HTTP_RUNTIME_NODE:
		return "node";
	case HTTP_RUNTIME_PHP:
		return "php";
	case HTTP_RUNTIME_NGINX:
		return "nginx";
	default:
		return "http";
	}
}

/* The route label of a histogram's key: "" (none known), "other" (past the cap), else the name
 * its first path folds to or its configured pattern. */
static const char *route_label(const struct http_latency *st, __u64 key, char *buf, size_t len)
{
	struct http_route r;

	if (key == HTTP_ROUTE_NONE)
		return "";
	if (key == HTTP_ROUTE_OTHER)
		return "other";
	if (bpf_map_lookup_elem(bpf_map__fd(st->skel->maps.routes), &key, &r) ||
	    http_route_label(&r, &st->routes, buf, len))
		return "other";
	return buf;
}

#define CG_LABEL_NAMES 4

/* The labels of a cgroup, kept after the cgroup is gone (its histograms stay). */
struct cg_label {
	char *path;
	char container_id[CGROUP_CONTAINER_ID_MAX];
	char pod_uid[CGROUP_POD_UID_MAX];
	char *names[CG_LABEL_NAMES]; /* unit, container, pod, namespace: as the tree last named them
				      */
};

/* A cgroup with series is gone: they stay for the retention, then leave the page. */
static void on_removed(void *arg, struct cg_node *node)
{
	struct http_latency *st = arg;
	if (idmap_get(&st->names_seen, node->id))
		latency_retire_mark(st, node->id, false);
}

static void label_free(struct cg_label *l)
{
	if (!l)
		return;
	for (int i = 0; i < CG_LABEL_NAMES; i++)
		free(l->names[i]);
	free(l->path);
	free(l);
}

void latency_label_forget(struct http_latency *st, uint64_t id)
{
	label_free(idmap_get(&st->names_seen, id));
	idmap_del(&st->names_seen, id);
}

/* The node's current names into l (a rename shows; a copy that fails keeps the old name). */
static void label_sync(struct cg_label *l, const struct cg_node *n)
{
	const char *now[CG_LABEL_NAMES] = { n->unit, n->container, n->pod, n->namespace };
	for (int i = 0; i < CG_LABEL_NAMES; i++) {
		if (l->names[i] && strcmp(l->names[i], now[i]) == 0)
			continue;
		char *copy = strdup(now[i]);
		if (copy) {
			free(l->names[i]);
			l->names[i] = copy;
		}
	}
}

static const struct cg_label *label_of(struct http_latency *st, uint64_t id)
{
	struct cg_label *l = idmap_get(&st->names_seen, id);
	if (!st->have_tree)
		return l;
	struct cg_node *n = cg_tree_find(&st->tree, id);
	if (l) {
		if (n)
			label_sync(l, n);
		return l;
	}
	if (!n && cg_tree_unknown_rescan_due(&st->tree) && cg_tree_walk(&st->tree) == 0)
		n = cg_tree_find(&st->tree, id);
	if (!n)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (!l || !(l->path = strdup(n->path)) || idmap_put(&st->names_seen, id, l)) {
		label_free(l);
		return NULL;
	}
	memcpy(l->container_id, n->container_id, sizeof(l->container_id));
	memcpy(l->pod_uid, n->pod_uid, sizeof(l->pod_uid));
	label_sync(l, n);
	return l;
}

static const char *label_name(const struct cg_label *l, int i)
{
	return l && l->names[i] ? l->names[i] : "";
}

int latency_cgroup_labels(struct http_latency *st, uint64_t id, const char **v)
{
	const struct cg_label *l = label_of(st, id);
	if (!l)
		return -ENOENT;
	const char *labels[] = { l->path,	   l->container_id,  l->pod_uid,
				 label_name(l, 1), label_name(l, 2), label_name(l, 3),
				 label_name(l, 0) };
	memcpy(v, labels, sizeof(labels));
	return 0;
}

static uint64_t read_counter(const struct http_latency *st, __u32 which)
{
	return bpf_util_percpu_sum(bpf_map__fd(st->skel->maps.http_counters), which, st->ncpus);
}

static int unnamed_cmp(const void *a, const void *b)
{
	return memcmp(&((const struct unnamed_hist *)a)->key,
		      &((const struct unnamed_hist *)b)->key, sizeof(struct http_hist_key));
}

/*
 * Histograms of cgroups that cannot be named all get cgroup="" and the other cgroup labels
 * empty: merged here into one series per runtime, method, status and route, so the page never
 * holds two series with the same labels.
 */
static void add_unnamed(struct http_latency *st, struct metric_family *f, struct unnamed_hist *u,
			size_t n)
{
	char status[8], route[HTTP_ROUTE_LEN * 2];

	if (!n)
		return; /* u may be NULL then, which qsort must not be given */
	qsort(u, n, sizeof(*u), unnamed_cmp);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1;
		for (; j < n && unnamed_cmp(&u[i], &u[j]) == 0; j++) {
			for (size_t b = 0; b <= st->buckets.n; b++)
				u[i].buckets[b] += u[j].buckets[b];
			u[i].sum_ns += u[j].sum_ns;
		}
		const struct http_hist_key *k = &u[i].key;
		snprintf(status, sizeof(status), "%u", (unsigned)k->status);
		const char *v[] = { "",
				    "",
				    "",
				    "",
				    "",
				    "",
				    "",
				    latency_runtime_name(k->runtime),
				    k->method < HTTP_METHOD_N ? method_names[k->method] : "OTHER",
				    status,
				    route_label(st, k->route, route, sizeof(route)) };
		metric_add_histogram(f, v, u[i].buckets, (double)u[i].sum_ns / 1e9);
		i = j;
	}
}

static int export_histograms(struct http_latency *st, struct metric_snapshot *s)
{
	struct unnamed_hists unnamed = { 0 };
	static const char *const labels[] = { "cgroup", "container_id", "pod_uid", "container",
					      "pod",	"namespace",	"unit",	   "runtime",
					      "method", "status_code",	"route" };
	int fd = bpf_map__fd(st->skel->maps.hists);
	struct http_hist_key key, next, *prev = NULL;
	struct http_hist h;
	uint64_t buckets[HTTP_MAX_BUCKETS + 1];
	char status[8], route[HTTP_ROUTE_LEN * 2];

	int rc = latency_retire_due(st);
	if (rc)
		return rc;
	struct metric_family *f = metric_histogram_get(
		s, "hostmon_http_server_request_duration_seconds",
		"Time from a request's first byte reaching the server's socket "
		"(HTTP servers: node, nginx) or its start in PHP (php-fpm) to "
		"its response's first byte, by cgroup, runtime, method, status "
		"and route.",
		11, labels, st->buckets.n, st->buckets.seconds);
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		/* one value for all CPUs (the kernel adds atomically); the count is the buckets'
		 * sum, made by the exposition */
		if (bpf_map_lookup_elem(fd, &key, &h))
			continue;
		memset(buckets, 0, sizeof(buckets));
		memcpy(buckets, h.buckets, (st->buckets.n + 1) * sizeof(buckets[0]));
		uint64_t sum_ns = h.sum_ns;
		const struct cg_label *l = label_of(st, key.cgroup_id);
		if (!l) {
			if (unnamed_hists_add(&unnamed, &key, buckets, st->buckets.n, sum_ns)) {
				free(unnamed.v);
				return -ENOMEM;
			}
			if (st->have_tree) /* else nothing can be named: none is gone for that */
				latency_retire_mark(st, key.cgroup_id, true);
			continue;
		}
		latency_retire_unmark(st, key.cgroup_id);
		snprintf(status, sizeof(status), "%u", (unsigned)key.status);
		const char *v[] = { l->path,
				    l->container_id,
				    l->pod_uid,
				    label_name(l, 1),
				    label_name(l, 2),
				    label_name(l, 3),
				    label_name(l, 0),
				    latency_runtime_name(key.runtime),
				    key.method < HTTP_METHOD_N ? method_names[key.method] : "OTHER",
				    status,
				    route_label(st, key.route, route, sizeof(route)) };
		metric_add_histogram(f, v, buckets, (double)sum_ns / 1e9);
	}
	/* the final values of unnamed cgroups whose entries were deleted stay in their series */
	for (size_t i = 0; i < st->unnamed_retired.n; i++) {
		const struct unnamed_hist *r = &st->unnamed_retired.v[i];
		if (unnamed_hists_add(&unnamed, &r->key, r->buckets, st->buckets.n, r->sum_ns)) {
			free(unnamed.v);
			return -ENOMEM;
		}
	}
	add_unnamed(st, f, unnamed.v, unnamed.n);
	free(unnamed.v);
	return 0;
}

static int latency_collect(void *state, struct metric_snapshot *s)
{
	struct http_latency *st = state;
	static const char *const reason[] = { "reason" };

	int rc = export_histograms(st, s);
	if (rc == 0)
		rc = phpfpm_collect(st, s);
	if (rc)
		return rc;
	struct metric_family *unpaired = metric_family_get(
		s, "hostmon_http_latency_unpaired_requests_total",
		"Requests seen starting that were not measured, by reason: closed (connection "
		"closed unanswered), pipelined (a request behind an unanswered one), pid_reused, "
		"no_start (an end without its start), state_full, process_exit.",
		METRIC_COUNTER, 1, reason);
	for (__u32 i = 0; i < HTTP_UNPAIRED_N; i++)
		metric_add(unpaired, &unpaired_names[i], (double)read_counter(st, i));

	static const char *const hooks[] = { "hooks" };
	struct metric_family *failed = metric_family_get(
		s, "hostmon_http_latency_attach_failures_total",
		"Attachments that failed, by hooks: the PHP-FPM hooks of the "
		"tier in use (sock_iter, sock_length or syscalls) or cgroup_skb (a cgroup "
		"holding an HTTP server target).",
		METRIC_COUNTER, 1, hooks);
	const char *tier = php_hooks_tier(st), *cgroup_skb = "cgroup_skb";
	metric_add(failed, &tier, (double)st->hook_attach_failures);
	metric_add(failed, &cgroup_skb, (double)st->skb_attach_failures);
	php_hooks_metrics(st, s);

	static const struct metric_def health[] = {
		{ "hostmon_http_latency_histograms_full_total",
		  "Measurements dropped because the histogram map was full (raise "
		  "--http-max-series).",
		  METRIC_COUNTER },
		{ "hostmon_http_latency_targets_full_total",
		  "Processes that could not be made targets because the target map was full.",
		  METRIC_COUNTER },
		{ "hostmon_http_latency_target_processes",
		  "Processes whose requests are measured now.", METRIC_GAUGE },
		{ "hostmon_http_latency_syscall_hooks_attached",
		  "1 while the sys_enter/sys_exit hooks are attached (only while a PHP-FPM target "
		  "exists, on kernels with neither fentry nor the socket length tracepoints).",
		  METRIC_GAUGE },
		{ "hostmon_http_latency_cgroups_attached",
		  "Cgroups whose sockets the HTTP programs watch now (those holding HTTP server "
		  "targets).",
		  METRIC_GAUGE },
		{ "hostmon_http_latency_cgroups_retired_total",
		  "Removed cgroups whose histograms left the page and the kernel maps, "
		  "--http-removed-retention after their removal.",
		  METRIC_COUNTER },
		{ "hostmon_http_latency_routes_folded_total",
		  "Requests counted under route=\"other\" because their cgroup already had "
		  "--http-max-routes routes.",
		  METRIC_COUNTER },
	};
	double values[] = { (double)read_counter(st, HTTP_COUNTER_HIST_FULL),
			    (double)read_counter(st, HTTP_COUNTER_TARGETS_FULL),
			    (double)st->ntargets,
			    st->php_hooks_on && st->php_tier == PHP_TIER_SYSCALLS ? 1 : 0,
			    (double)st->nskb_cgroups,
			    (double)st->cgroups_retired_total,
			    (double)read_counter(st, HTTP_COUNTER_ROUTES_FOLDED) };
	metric_scalars_add(s, health, METRIC_DEFS_N(health), values);
	return 0;
}

static void on_events(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct http_latency *st = arg;
	(void)l;
	(void)fd;
	(void)events;
	ring_buffer__consume(st->events);
	latency_targets_update_hooks(st);
}

static void scan_tick(struct loop *l, void *arg)
{
	(void)l;
	struct http_latency *st = arg;
	int rc = latency_targets_scan(st);
	if (rc)
		log_warn("cannot scan /proc for target processes", "collector", "http_latency",
			 "reason", strerror(-rc));
	if (st->have_tree)
		cg_tree_walk(&st->tree);
	phpfpm_rescan(st);
}

static void latency_destroy(void *state)
{
	struct http_latency *st = state;
	if (!st)
		return;
	loop_timer_del(st->loop, st->scan_timer);
	loop_watch_del(st->loop, st->events_watch);
	ring_buffer__free(st->events);
	phpfpm_free(st);
	latency_targets_free(st);
	if (st->target_bits)
		munmap(st->target_bits, st->target_bits_len);
	http_latency_bpf__destroy(st->skel);
	name_filter_free(&st->cgroups);
	http_routes_free(&st->routes);
	if (st->have_tree)
		cg_tree_free(&st->tree);
	cg_names_free(&st->cg_names);
	for (size_t i = 0; i < st->names_seen.cap; i++)
		label_free(st->names_seen.slots ? st->names_seen.slots[i].value : NULL);
	idmap_free(&st->names_seen);
	latency_retire_free(st);
	free(st);
}

static void set_rodata(struct http_latency *st)
{
	struct http_latency_bpf *s = st->skel;
	for (size_t i = 0; i < st->buckets.n; i++)
		s->rodata->bucket_ns[i] = st->buckets.ns[i];
	s->rodata->nbuckets = (__u32)st->buckets.n;
	for (size_t i = 0; i < st->names.n; i++) {
		memcpy((char *)s->rodata->target_names[i], st->names.items[i].name, HTTP_NAME_LEN);
		s->rodata->target_runtime[i] = st->names.items[i].runtime;
		s->rodata->target_mode[i] = st->names.items[i].mode;
		s->rodata->target_prefix[i] = st->names.items[i].prefix;
		s->rodata->target_name_len[i] = (__u8)strlen(st->names.items[i].name);
	}
	s->rodata->ntargets_names = (__u32)st->names.n;
	for (size_t i = 0; i < st->routes.n; i++)
		memcpy((void *)&s->rodata->route_patterns[i], &st->routes.patterns[i],
		       sizeof(st->routes.patterns[i]));
	s->rodata->nroute_patterns = (__u32)st->routes.n;
	s->rodata->route_cap = (__u32)st->max_routes;
}

/*
 * Target processes the kernel's map holds: a host's web workers grow with its CPUs (php-fpm
 * pools and nginx are sized per CPU), so 64 per possible CPU, and never fewer than 4,096. About
 * 80 bytes each: 1.3 MiB at 256 CPUs.
 */
uint32_t latency_targets_room(int ncpus)
{
	uint64_t n = 64 * (uint64_t)(ncpus > 0 ? ncpus : 1);
	return n < 4096 ? 4096 : n > (1u << 20) ? 1u << 20 : (uint32_t)n;
}

/* Opens and loads the object, its PHP-FPM hooks of one tier (php_hooks.c). */
static int open_load(struct http_latency *st, const struct config *cfg, enum php_tier best)
{
	struct http_latency_bpf *s = st->skel = http_latency_bpf__open();
	if (!s)
		return -errno;
	set_rodata(st);
	/* a (cgroup, route) pair admitted beyond the histograms' room could never be counted: the
	 * route maps hold as many as the histogram map */
	__u32 series = (__u32)cfg->http_latency.max_series;
	bpf_map__set_max_entries(s->maps.hists, series);
	bpf_map__set_max_entries(s->maps.route_seen, series);
	bpf_map__set_max_entries(s->maps.routes, series);
	bpf_map__set_max_entries(s->maps.targets, latency_targets_room(st->ncpus));
	st->target_words = (proc_pid_max() + 63) / 64;
	bpf_map__set_max_entries(s->maps.target_bits, (__u32)st->target_words);
	php_hooks_choose(st, best);
	return http_latency_bpf__load(s);
}

/* Loads the object and attaches the process lifetime hooks (the others follow the targets). */
static int load(struct http_latency *st, const struct config *cfg, char *err, size_t errlen)
{
	int rc = open_load(st, cfg, PHP_TIER_SOCK_ITER);
	while (rc && st->php_tier != PHP_TIER_SYSCALLS) {
		/* likely the tier's programs (this kernel's iov_iter or pt_regs): the syscall tier
		 * loads wherever the rest does, and a failure of the rest fails again below */
		enum php_tier failed = st->php_tier;
		log_warn("cannot load the BPF programs with these php-fpm hooks; trying the next "
			 "tier",
			 "collector", "http_latency", "tier", php_hooks_tier(st), "reason",
			 strerror(-rc));
		http_latency_bpf__destroy(st->skel);
		rc = open_load(st, cfg, failed - 1);
	}
	if (rc) {
		snprintf(err, errlen, "cannot %s the BPF programs: %s", st->skel ? "load" : "open",
			 strerror(-rc));
		return rc;
	}
	php_hooks_log(st);
	struct http_latency_bpf *s = st->skel;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	st->target_bits_len = (st->target_words * sizeof(__u64) + page - 1) / page * page;
	void *bits = mmap(NULL, st->target_bits_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			  bpf_map__fd(s->maps.target_bits), 0);
	if (bits == MAP_FAILED) {
		rc = -errno;
		snprintf(err, errlen, "cannot map the target bitmap: %s", strerror(errno));
		return rc;
	}
	st->target_bits = bits;
	rc = phpfpm_init(st);
	if (rc) {
		snprintf(err, errlen, "cannot map the PHP-FPM pool array: %s", strerror(-rc));
		return rc;
	}
	/* process lifetime hooks stay attached: they run on exec, fork and exit only */
	struct bpf_program *lifetime[] = { s->progs.http_exec, s->progs.http_fork,
					   s->progs.http_exit };
	struct bpf_link **links[] = { &s->links.http_exec, &s->links.http_fork,
				      &s->links.http_exit };
	for (size_t i = 0; i < 3; i++) {
		*links[i] = bpf_program__attach(lifetime[i]);
		if (!*links[i]) {
			rc = -errno;
			snprintf(err, errlen, "cannot attach %s: %s",
				 bpf_program__name(lifetime[i]), strerror(errno));
			return rc;
		}
	}
	return 0;
}

static int latency_init(const struct config *cfg, struct loop *loop, void **state, char *err,
			size_t errlen)
{
	struct http_latency *st = calloc(1, sizeof(*st));
	struct cgroup_mounts mounts;
	int rc;

	if (!st)
		return -ENOMEM;
	st->loop = loop;
	st->php_usdt = cfg->http_latency.php_usdt;
	/* both were checked when the configuration was loaded */
	st->max_routes = cfg->http_latency.max_routes;
	st->retention_ns = cfg->http_latency.removed_retention_ms * 1000000ull;
	st->unnamed_grace_ns = 2 * cfg->cgroup.refresh_interval_ms * 1000000ull;
	if (latency_parse_buckets(cfg->http_latency.buckets, &st->buckets, err, errlen) ||
	    latency_parse_targets(cfg->http_latency.targets, &st->names, err, errlen) ||
	    http_routes_parse(cfg->http_latency.routes, &st->routes, err, errlen)) {
		rc = -EINVAL;
		goto fail;
	}
	rc = name_filter_init(&st->cgroups, cfg->http_latency.include_cgroup,
			      cfg->http_latency.exclude_cgroup);
	if (rc) {
		snprintf(err, errlen, "invalid --http-include-cgroup or --http-exclude-cgroup");
		goto fail;
	}
	st->ncpus = libbpf_num_possible_cpus();
	if (st->ncpus <= 0) {
		rc = -EINVAL;
		snprintf(err, errlen, "cannot count possible CPUs");
		goto fail;
	}
	if (cgroup_find_mounts("/proc/self/mountinfo", &mounts) == 0 && mounts.unified[0] &&
	    cg_tree_init(&st->tree, mounts.unified, on_removed, st) == 0)
		st->have_tree = true;
	if (st->have_tree && cg_names_init(&st->cg_names, cfg->cgroup.docker_data_root,
					   cfg->cgroup.kubelet_log_dir) == 0)
		cg_tree_set_names(&st->tree, &st->cg_names);
	else
		log_warn("no cgroup2 hierarchy: HTTP servers cannot be watched (their programs "
			 "attach "
			 "to cgroup2 directories) and PHP histograms carry no cgroup names",
			 "collector", "http_latency");

	rc = load(st, cfg, err, errlen);
	if (rc)
		goto fail;
	st->events = ring_buffer__new(bpf_map__fd(st->skel->maps.http_events),
				      latency_targets_event, st, NULL);
	if (!st->events) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the event ring buffer: %s", strerror(errno));
		goto fail;
	}
	st->events_watch =
		loop_watch_add(loop, ring_buffer__epoll_fd(st->events), EPOLLIN, on_events, st);
	st->scan_timer = loop_timer_add(loop, cfg->cgroup.refresh_interval_ms,
					cfg->cgroup.refresh_interval_ms, scan_tick, st);
	if (!st->events_watch || !st->scan_timer) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = latency_targets_scan(st);
	if (rc) {
		snprintf(err, errlen, "cannot scan /proc: %s", strerror(-rc));
		goto fail;
	}
	malloc_trim(0); /* loading parsed the kernel's BTF */
	struct log_num n = { { 0 } };
	log_info("collector attached", "collector", "http_latency", "targets",
		 log_u64(&n, st->ntargets), "php_usdt", st->php_usdt ? "on" : "off");
	*state = st;
	return 0;
fail: /* an empty err is reported as strerror(-rc) by the collector set */
	latency_destroy(st);
	return rc;
}

static struct bpf_object *latency_bpf_object(void *state)
{
	struct http_latency *st = state;
	return st->skel->obj;
}

const struct collector_ops http_latency_collector_ops = {
	.name = "http_latency",
	.description = "HTTP request latency of node and PHP servers (eBPF)",
	.enabled_by_default = NULL, /* always wanted; costs nothing per syscall without a target */
	.init = latency_init,
	.collect = latency_collect,
	.bpf_object = latency_bpf_object,
	.status = latency_status,
	.destroy = latency_destroy,
};
