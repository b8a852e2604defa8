/* nodejs_eventloop/nodejs_eventloop.c — the Node.js event-loop collector: loads
 * bpf/nodejs_eventloop/nodejs_eventloop.bpf.c, marks node's loop threads (loops.c) and exports
 * per cgroup the turn histogram the kernel keeps and the loops' utilisation, open turns
 * included. */
#include "nodejs_eventloop/nodejs_eventloop.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "bpf/nodejs_eventloop/nodejs_eventloop.h" /* shared with the BPF program */
#include "cgroup/kernel_map.h"
#include "cgroup/view.h"
#include "cgroup_cpu/settings.h"
#include "core/log.h"
#include "exposition/family_table.h"
#include "lib/bpf_util.h"
#include "lib/clock.h"
#include "lib/idmap.h"
#include "lib/proc.h"
#include "nodejs_eventloop/loops.h"
#include "skel/nodejs_eventloop.skel.h"

/* Turn bounds, seconds: a healthy turn takes well under a millisecond; 100 ms and more is a loop
 * blocked long enough for users to notice. */
static const double turn_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,	   10 };
#define NBOUNDS (sizeof(turn_bounds) / sizeof(turn_bounds[0]))
_Static_assert(NBOUNDS <= EL_MAX_BOUNDS, "the kernel histogram holds them");
_Static_assert(EL_NAME_LEN == HTTP_NAME_LEN && EL_MAX_NAMES == HTTP_MAX_NAMES,
	       "the node names of --http-targets fit the kernel's el_names");

/* The utilisation window moves on only once it is this old, whoever scrapes how often. */
#define MIN_WINDOW_NS 1000000000ull

struct cgroup_hist {
	uint64_t cgroup_id;
	struct el_hist hist;
};

/* What one cgroup has in this scrape. */
struct cgroup_agg {
	const struct cgroup_hist *hist; /* NULL: no turn ended there yet */
	uint64_t loops, busy_ns, wall_ns;
	bool windowed; /* some loop has a window: the utilisation is defined */
};

struct nodejs_eventloop {
	struct nodejs_eventloop_bpf *skel;
	int ncpus;
	struct cg_view view; /* tree, names, rescans, the CPU collector's caps */
	char cgroup_root[CGROUP_PATH_MAX];
	struct latency_targets names;
	struct el_loop_set loops;
	struct loop *loop;
	struct loop_timer *scan_timer;
	struct ring_buffer *execs; /* el_execs: new node processes */
	struct loop_watch *execs_watch;
	struct cgroup_hist *hists; /* the last complete read of el_cgroups */
	size_t nhists;
};

/* Reads every cgroup's histogram; entries of cgroups the tree no longer knows after a walk are
 * deleted (their cgroup was removed: its series go with it). */
static int read_hists(struct nodejs_eventloop *st, uint64_t generation_before)
{
	void *out;
	size_t n;
	int rc = cg_hash_read_all(bpf_map__fd(st->skel->maps.el_cgroups), sizeof(uint64_t),
				  offsetof(struct cgroup_hist, hist), sizeof(struct cgroup_hist),
				  &st->view.tree, st->view.tree.generation != generation_before,
				  &out, &n);
	if (rc)
		return rc;
	free(st->hists);
	st->hists = out;
	st->nhists = n;
	return 0;
}

static struct cgroup_agg *agg_of(struct idmap *m, struct cgroup_agg *pool, size_t *used,
				 uint64_t id)
{
	struct cgroup_agg *a = idmap_get(m, id);
	if (a)
		return a;
	a = &pool[(*used)++];
	memset(a, 0, sizeof(*a));
	return idmap_put(m, id, a) ? NULL : a;
}

/* Per cgroup id: its histogram and its loops' windows. 0 or -ENOMEM. */
static int aggregate(struct nodejs_eventloop *st, struct idmap *m, struct cgroup_agg **pool_out)
{
	struct cgroup_agg *pool = calloc(st->nhists + st->loops.n + 1, sizeof(*pool));
	size_t used = 0;

	*pool_out = pool;
	if (!pool)
		return -ENOMEM;
	for (size_t i = 0; i < st->nhists; i++) {
		struct cgroup_agg *a = agg_of(m, pool, &used, st->hists[i].cgroup_id);
		if (!a)
			return -ENOMEM;
		a->hist = &st->hists[i];
	}
	for (size_t i = 0; i < st->loops.n; i++) {
		const struct el_tracked *t = &st->loops.items[i];
		if (!t->known)
			continue;
		struct cgroup_agg *a = agg_of(m, pool, &used, t->cgroup_id);
		if (!a)
			return -ENOMEM;
		a->loops++;
		if (t->in_window) {
			a->windowed = true;
			a->busy_ns += t->win_busy_ns;
			a->wall_ns += t->win_wall_ns;
		}
	}
	return 0;
}

static bool has_loops_or_turns(const struct cg_node *n, void *arg)
{
	return idmap_get(arg, n->id) != NULL;
}

/* A loop in a cgroup the tree does not know yet (made since the last walk): walk once more. */
static void rescan_for_loops(struct nodejs_eventloop *st)
{
	for (size_t i = 0; i < st->loops.n; i++) {
		const struct el_tracked *t = &st->loops.items[i];
		if (t->known && !cg_tree_find(&st->view.tree, t->cgroup_id)) {
			if (cg_tree_unknown_rescan_due(&st->view.tree))
				cg_view_rescan(&st->view);
			return;
		}
	}
}

#define NLABELS 7
static const char *const labels[] = { "cgroup", "container_id", "pod_uid", "container",
				      "pod",	"namespace",	"unit" };

static int export(struct nodejs_eventloop *st, struct metric_snapshot *s, struct idmap *m)
{
	static const struct metric_def per_cgroup[] = {
		{ "hostmon_nodejs_eventloop_utilization",
		  "Share of wall time the node event loops of the cgroup itself were busy (not "
		  "waiting in their epoll poll), as performance.eventLoopUtilization() counts it, "
		  "over the time since the previous scrape at least 1 s ago; a turn still running "
		  "counts.",
		  METRIC_GAUGE, NLABELS, labels },
		{ "hostmon_nodejs_eventloop_loops",
		  "Node event loops (main threads of node processes) measured in the cgroup "
		  "itself.",
		  METRIC_GAUGE, NLABELS, labels },
	};
	struct metric_family *f[METRIC_DEFS_N(per_cgroup)];
	metric_families_get(s, per_cgroup, METRIC_DEFS_N(per_cgroup), f);
	struct metric_family *hist = metric_histogram_get(
		s, "hostmon_nodejs_eventloop_turn_duration_seconds",
		"How long the node event loops of the cgroup itself were busy between two sleeps "
		"in their poll (one loop turn; a long one is a blocked loop that delays every "
		"request), finished turns only.",
		NLABELS, labels, NBOUNDS, turn_bounds);

	size_t count = 0, dropped = 0;
	struct cg_node **order =
		cg_view_exported(&st->view, has_loops_or_turns, m, &count, &dropped);
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct cg_node *n = order[i];
		const struct cgroup_agg *a = idmap_get(m, n->id);
		const char *v[NLABELS] = { n->path, n->container_id, n->pod_uid, n->container,
					   n->pod,  n->namespace,    n->unit };
		if (a->windowed && a->wall_ns)
			metric_add(f[0], v, (double)a->busy_ns / (double)a->wall_ns);
		metric_add(f[1], v, (double)a->loops);
		if (a->hist)
			/* copied with memcpy: __u64 and uint64_t have one representation */
			metric_add_histogram(hist, v, (const uint64_t *)a->hist->hist.buckets,
					     (double)a->hist->hist.sum_ns / 1e9);
	}
	free(order);

	static const struct metric_def health[] = {
		{ "hostmon_nodejs_eventloop_histograms_full_total",
		  "Loop turns not counted because every cgroup histogram slot was taken.",
		  METRIC_COUNTER },
		{ "hostmon_nodejs_eventloop_loops_untracked_total",
		  "Node processes found that could not be measured (no pidfd, no task storage, or "
		  "4096 loops measured already), counted at each scan.",
		  METRIC_COUNTER },
		{ "hostmon_nodejs_eventloop_series_dropped",
		  "Cgroups with event loops left out of this scrape by --cpu-max-series.",
		  METRIC_GAUGE },
	};
	double values[] = {
		(double)bpf_util_percpu_sum(bpf_map__fd(st->skel->maps.el_counters),
					    EL_COUNTER_HISTS_FULL, st->ncpus),
		(double)st->loops.untracked_total,
		(double)dropped,
	};
	metric_scalars_add(s, health, METRIC_DEFS_N(health), values);
	return 0;
}

static int el_collect(void *state, struct metric_snapshot *s)
{
	struct nodejs_eventloop *st = state;
	uint64_t generation = st->view.tree.generation;

	el_loops_sample(&st->loops, clock_monotonic_ns(), MIN_WINDOW_NS,
			&st->skel->bss->loops_marked);
	rescan_for_loops(st);
	int rc = cg_view_sync(&st->view);
	if (rc == 0)
		rc = read_hists(st, generation);
	if (rc)
		return rc;
	struct idmap m = { 0 };
	struct cgroup_agg *pool = NULL;
	rc = aggregate(st, &m, &pool);
	if (rc == 0)
		rc = export(st, s, &m);
	idmap_free(&m);
	free(pool);
	return rc;
}

static void scan(struct nodejs_eventloop *st)
{
	int rc = el_loops_scan(&st->loops, &st->names, &st->skel->bss->loops_marked);
	if (rc)
		log_warn("cannot scan /proc for node processes", "collector", "nodejs_eventloop",
			 "reason", strerror(-rc));
}

static int on_exec(void *ctx, void *data, size_t size)
{
	struct nodejs_eventloop *st = ctx;
	const struct el_exec *e = data;

	if (size >= sizeof(*e))
		el_loops_found(&st->loops, &st->names, (pid_t)e->tgid,
			       &st->skel->bss->loops_marked);
	return 0;
}

static void on_execs(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct nodejs_eventloop *st = arg;
	(void)l;
	(void)fd;
	(void)events;
	ring_buffer__consume(st->execs);
}

static void scan_tick(struct loop *l, void *arg)
{
	(void)l;
	scan(arg);
}

static void el_destroy(void *state)
{
	struct nodejs_eventloop *st = state;
	if (!st)
		return;
	if (st->loop) {
		loop_timer_del(st->loop, st->scan_timer);
		loop_watch_del(st->loop, st->execs_watch);
	}
	ring_buffer__free(st->execs);
	cg_view_free(&st->view);
	el_loops_free(&st->loops);
	nodejs_eventloop_bpf__destroy(st->skel);
	free(st->hists);
	free(st);
}

static int load(struct nodejs_eventloop *st, char *err, size_t errlen)
{
	int rc;

	st->skel = nodejs_eventloop_bpf__open();
	if (!st->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return rc;
	}
	for (size_t i = 0; i < NBOUNDS; i++)
		st->skel->rodata->turn_bounds_ns[i] = (__u64)(turn_bounds[i] * 1e9 + 0.5);
	st->skel->rodata->turn_nbounds = NBOUNDS;
	for (size_t i = 0; i < st->names.n && i < EL_MAX_NAMES; i++) {
		memcpy((char *)st->skel->rodata->el_names[i], st->names.items[i].name, EL_NAME_LEN);
		st->skel->rodata->el_name_prefix[i] = st->names.items[i].prefix;
		st->skel->rodata->el_name_len[i] = (__u8)strlen(st->names.items[i].name);
	}
	st->skel->rodata->el_nnames =
		(__u32)(st->names.n < EL_MAX_NAMES ? st->names.n : EL_MAX_NAMES);
	st->loops.bits_words = (proc_pid_max() + 63) / 64;
	bpf_map__set_max_entries(st->skel->maps.el_pid_bits, (__u32)st->loops.bits_words);
	rc = nodejs_eventloop_bpf__load(st->skel);
	if (rc) {
		snprintf(err, errlen, "cannot load the BPF program: %s", strerror(-rc));
		return rc;
	}
	rc = nodejs_eventloop_bpf__attach(st->skel);
	if (rc) {
		snprintf(err, errlen, "cannot attach to sched_switch (tp_btf): %s", strerror(-rc));
		return rc;
	}
	st->loops.map_fd = bpf_map__fd(st->skel->maps.el_loops);
	st->loops.bits_fd = bpf_map__fd(st->skel->maps.el_pid_bits);
	return 0;
}

static int el_init(const struct config *cfg, struct loop *loop, void **state, char *err,
		   size_t errlen)
{
	struct nodejs_eventloop *st = calloc(1, sizeof(*st));
	struct cgroup_mounts mounts;
	struct latency_targets all;
	int rc;

	if (!st)
		return -ENOMEM;
	rc = latency_parse_targets(cfg->http_latency.targets, &all, err, errlen);
	if (rc)
		goto fail;
	if (!el_loops_node_names(&all, &st->names)) {
		snprintf(err, errlen, "--http-targets names no node executable (node, nodejs...)");
		rc = -EINVAL;
		goto fail;
	}
	rc = cgroup_find_mounts("/proc/self/mountinfo", &mounts);
	if (rc) {
		snprintf(err, errlen, "cannot read /proc/self/mountinfo: %s", strerror(-rc));
		goto fail;
	}
	/* the loop's cgroup is its cgroup2 cgroup: without cgroup2 every loop is the root's */
	if (!*mounts.unified) {
		snprintf(err, errlen, "no cgroup2 hierarchy is mounted: loops name no cgroup");
		rc = -ENOENT;
		goto fail;
	}
	snprintf(st->cgroup_root, sizeof(st->cgroup_root), "%s", mounts.unified);
	st->loops.cgroup_root = st->cgroup_root;
	st->ncpus = libbpf_num_possible_cpus();
	if (st->ncpus <= 0) {
		rc = st->ncpus < 0 ? st->ncpus : -EINVAL;
		snprintf(err, errlen, "cannot count possible CPUs");
		goto fail;
	}
	rc = load(st, err, errlen);
	if (rc)
		goto fail;
	struct cg_view_settings vs = cgroup_view_settings(&cfg->cgroup, &cfg->cgroup_cpu);
	rc = cg_view_init(&st->view, "nodejs_eventloop", mounts.unified, &vs, -1, 0, loop, NULL,
			  NULL, st, err, errlen);
	if (rc)
		goto fail;
	rc = cg_view_forget_in(&st->view, bpf_map__fd(st->skel->maps.el_cgroups), sizeof(uint64_t));
	if (rc)
		goto fail;
	st->loop = loop;
	st->scan_timer = loop_timer_add(loop, cfg->cgroup.refresh_interval_ms,
					cfg->cgroup.refresh_interval_ms, scan_tick, st);
	st->execs = ring_buffer__new(bpf_map__fd(st->skel->maps.el_execs), on_exec, st, NULL);
	st->execs_watch = st->execs ? loop_watch_add(loop, ring_buffer__epoll_fd(st->execs),
						     EPOLLIN, on_execs, st)
				    : NULL;
	if (!st->scan_timer || !st->execs_watch) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	scan(st);
	malloc_trim(0); /* loading parsed the kernel's BTF: give that memory back */
	log_info("collector attached", "collector", "nodejs_eventloop", "root", mounts.unified);
	*state = st;
	return 0;
fail:
	el_destroy(st);
	return rc;
}

/* On wherever --http-targets names a node executable (the default does). */
static bool el_enabled_by_default(const struct config *cfg)
{
	struct latency_targets all, node;
	char err[256];
	return latency_parse_targets(cfg->http_latency.targets, &all, err, sizeof(err)) == 0 &&
	       el_loops_node_names(&all, &node) > 0;
}

static struct bpf_object *el_bpf_object(void *state)
{
	struct nodejs_eventloop *st = state;
	return st->skel->obj;
}

const struct collector_ops nodejs_eventloop_collector_ops = {
	.name = "nodejs_eventloop",
	.description = "Node.js event-loop turns and utilisation per cgroup",
	.enabled_by_default = el_enabled_by_default,
	.init = el_init,
	.collect = el_collect,
	.bpf_object = el_bpf_object,
	.destroy = el_destroy,
};
