/* cgroup_cpu/cgroup_cpu.c — the per-cgroup CPU collector: loads bpf/cgroup_cpu/cgroup_cpu.bpf.c,
 * names cgroups, exports counters. */
#include "cgroup_cpu/cgroup_cpu.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpf/cgroup_cpu/cgroup_cpu.h" /* shared with bpf/cgroup_cpu/cgroup_cpu.bpf.c */
#include "cgroup/tree.h"
#include "cgroup_cpu/limits.h"
#include "core/log.h"
#include "exposition/family_table.h"
#include "lib/bpf_util.h"
#include "lib/clock.h"
#include "lib/namefilter.h"
#include "skel/cgroup_cpu.skel.h"

enum { V_CPU = 0, V_WAIT = 1 };

struct map_entry {
	uint64_t id;
	uint64_t v[CG_NVALUES];
};

struct cgroup_cpu {
	struct cgroup_cpu_bpf *skel;
	int ncpus;
	int map_fd;
	bool keyed_by_v1;
	struct cgroup_mounts mounts;
	struct cg_tree tree;
	struct cg_names names;
	struct map_entry *entries; /* the last complete map read */
	size_t nentries, entries_cap;
	struct loop *loop;
	struct loop_timer *refresh_timer;
	uint64_t orphaned_total;
	uint64_t walk_errors_total;
	/* export filters */
	uint64_t max_series, max_depth;
	struct name_filter paths;
};

static bool values_of(const struct cgroup_cpu *st, uint64_t id, uint64_t out[CG_NVALUES])
{
	struct cpu_cgroup_stats v = { 0 };

	if (bpf_map_lookup_elem(st->map_fd, &id, &v))
		return false;
	out[V_CPU] = v.cpu_ns;
	out[V_WAIT] = v.runq_wait_ns;
	return true;
}

/* The task walk: cpu_charge_tasks on every task moves its growth since its last charge into the
 * map. */
static int charge_tasks(struct cgroup_cpu *st)
{
	return bpf_util_iter_run(st->skel->links.cpu_charge_tasks);
}

/* A cgroup is gone: take its final values and drop its kernel entry before the tree folds it. */
static void on_removed(void *arg, struct cg_node *node)
{
	struct cgroup_cpu *st = arg;
	uint64_t v[CG_NVALUES];

	if (values_of(st, node->id, v)) {
		node->own[V_CPU] = v[V_CPU];
		node->own[V_WAIT] = v[V_WAIT];
	}
	bpf_map_delete_elem(st->map_fd, &node->id);
	cpu_limits_free(node->user);
	node->user = NULL;
}

static int rescan(struct cgroup_cpu *st)
{
	int rc = cg_tree_walk(&st->tree);
	if (rc) {
		st->walk_errors_total++;
		log_warn("cgroup rescan failed", "collector", "cgroup_cpu", "root",
			 st->tree.root_dir, "reason", strerror(-rc));
		return rc;
	}
	cpu_limits_refresh(&st->tree, st->mounts.cpu);
	return 0;
}

/* Reads the whole map into st->entries; the previous read stays intact on failure. */
static int read_map(struct cgroup_cpu *st)
{
	uint64_t key, next;
	uint64_t *prev = NULL;
	size_t n = 0;
	struct map_entry *entries = NULL;
	size_t cap = 0;

	while (bpf_map_get_next_key(st->map_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			struct map_entry *ne = realloc(entries, ncap * sizeof(*ne));
			if (!ne) {
				free(entries);
				return -ENOMEM;
			}
			entries = ne;
			cap = ncap;
		}
		if (!values_of(st, key, entries[n].v))
			continue; /* deleted between the two calls */
		entries[n].id = key;
		n++;
	}
	if (errno != ENOENT) {
		int rc = -errno;
		free(entries);
		return rc;
	}
	free(st->entries);
	st->entries = entries;
	st->nentries = n;
	st->entries_cap = cap;
	return 0;
}

/* Gives every map entry to its node; returns how many ids the tree does not know. */
static size_t apply_entries(struct cgroup_cpu *st)
{
	size_t unknown = 0;
	for (size_t i = 0; i < st->nentries; i++) {
		struct cg_node *n = cg_tree_find(&st->tree, st->entries[i].id);
		if (!n) {
			unknown++;
			continue;
		}
		n->own[V_CPU] = st->entries[i].v[V_CPU];
		n->own[V_WAIT] = st->entries[i].v[V_WAIT];
	}
	return unknown;
}

/*
 * An id still unknown right after a rescan belongs to a cgroup that was
 * created and removed between two scans: its parent is unknowable, so its
 * time goes to the root (which counts everything) and its entry is dropped.
 */
static void fold_orphans(struct cgroup_cpu *st)
{
	for (size_t i = 0; i < st->nentries; i++) {
		uint64_t id = st->entries[i].id;
		uint64_t v[CG_NVALUES];
		if (cg_tree_find(&st->tree, id))
			continue;
		if (!values_of(st, id, v))
			continue;
		bpf_map_delete_elem(st->map_fd, &id);
		st->tree.root->retired[V_CPU] += v[V_CPU];
		st->tree.root->retired[V_WAIT] += v[V_WAIT];
		st->orphaned_total++;
	}
}

/*
 * Brings the tree up to date with the kernel map: new values, and a rescan
 * when asked or when unknown ids appeared (rate-limited), after which ids
 * that are still unknown are folded as orphans.
 */
static int sync_kernel(struct cgroup_cpu *st, bool force_rescan)
{
	int rc = charge_tasks(st);
	if (rc) {
		log_warn("task walk failed", "collector", "cgroup_cpu", "reason", strerror(-rc));
		return rc;
	}
	rc = read_map(st);
	if (rc)
		return rc;
	size_t unknown = apply_entries(st);
	if (force_rescan || (unknown && cg_tree_unknown_rescan_due(&st->tree))) {
		if (rescan(st) == 0) {
			apply_entries(st);
			fold_orphans(st);
		}
	}
	return 0;
}

/* The periodic rescan also forgets removed cgroups and orphans when nobody scrapes. */
static void refresh_tick(struct loop *l, void *arg)
{
	(void)l;
	sync_kernel(arg, true);
}

static bool exported(const struct cgroup_cpu *st, const struct cg_node *n)
{
	if (n->total[V_CPU] == 0 && n->total[V_WAIT] == 0)
		return false; /* never used CPU: not worth a series */
	if (st->max_depth && n->depth > st->max_depth)
		return false;
	return name_filter_pass(&st->paths, n->path);
}

static uint64_t read_counter(const struct cgroup_cpu *st, __u32 which)
{
	return bpf_util_percpu_sum(bpf_map__fd(st->skel->maps.cpu_counters), which, st->ncpus);
}

static int cpu_collect(void *state, struct metric_snapshot *s)
{
	struct cgroup_cpu *st = state;
	static const char *const labels[] = { "cgroup", "container_id", "pod_uid", "container",
					      "pod",	"namespace",	"unit" };

	int rc = sync_kernel(st, false);
	if (rc)
		return rc;
	cg_tree_totals(&st->tree);

	static const struct metric_def per_cgroup[] = {
		{ "hostmon_cgroup_cpu_seconds_total",
		  "CPU time used by tasks of the cgroup and its descendants (as cpu.stat "
		  "usage_usec counts it), since hostmon started.",
		  METRIC_COUNTER, 7, labels },
		{ "hostmon_cgroup_cpu_runqueue_wait_seconds_total",
		  "Time runnable tasks of the cgroup and its descendants waited on a run queue "
		  "for a CPU, since hostmon started.",
		  METRIC_COUNTER, 7, labels },
		{ "hostmon_cgroup_cpu_limit_cores",
		  "CPU limit of the cgroup in cores (quota / period), where one is set.",
		  METRIC_GAUGE, 7, labels },
		{ "hostmon_cgroup_cpu_throttled_seconds_total",
		  "Time the cgroup's tasks were throttled by its CPU limit (from its cpu.stat), "
		  "where one is set.",
		  METRIC_COUNTER, 7, labels },
	};
	struct metric_family *f[METRIC_DEFS_N(per_cgroup)];
	metric_families_get(s, per_cgroup, METRIC_DEFS_N(per_cgroup), f);
	struct metric_family *cpu = f[0], *wait = f[1], *limit = f[2], *throttled = f[3];

	/* breadth first, so a series cap keeps the shallow, summarising cgroups */
	size_t count = 0, series = 0, dropped = 0;
	struct cg_node **order = cg_tree_breadth_first(&st->tree, &count);
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct cg_node *n = order[i];
		if (!exported(st, n))
			continue;
		if (series >= st->max_series) {
			dropped++;
			continue;
		}
		series++;
		const char *v[] = { n->path, n->container_id, n->pod_uid, n->container,
				    n->pod,  n->namespace,    n->unit };
		metric_add(cpu, v, (double)n->total[V_CPU] / 1e9);
		metric_add(wait, v, (double)n->total[V_WAIT] / 1e9);
		const struct cpu_limit *lim = n->user;
		if (lim && lim->cores > 0) {
			metric_add(limit, v, lim->cores);
			uint64_t ns;
			if (cpu_limits_read_throttled(lim, &ns) == 0)
				metric_add(throttled, v, (double)ns / 1e9);
		}
	}
	free(order);

	static const struct metric_def health[] = {
		{ "hostmon_cgroup_cpu_map_full_total",
		  "CPU charges dropped because the kernel map was full (raise --cpu-max-cgroups).",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_cpu_task_storage_failures_total",
		  "CPU charges dropped because task storage could not be allocated.",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_cpu_orphaned_total",
		  "Cgroups created and removed between two scans, charged to the root cgroup only.",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_cpu_cgroups", "Cgroups currently known to the CPU collector.",
		  METRIC_GAUGE },
		{ "hostmon_cgroup_cpu_series_dropped",
		  "Cgroups left out of this scrape by --cpu-max-series.", METRIC_GAUGE },
		{ "hostmon_cgroup_scan_errors_total", "Failed rescans of the cgroup hierarchy.",
		  METRIC_COUNTER },
	};
	double values[] = { (double)read_counter(st, CPU_COUNTER_MAP_FULL),
			    (double)read_counter(st, CPU_COUNTER_TASK_STORAGE_FAIL),
			    (double)st->orphaned_total,
			    (double)st->tree.count,
			    (double)dropped,
			    (double)st->walk_errors_total };
	metric_scalars_add(s, health, METRIC_DEFS_N(health), values);
	return 0;
}

/*
 * The task walk, then the two events that must charge a task between walks:
 * a cgroup move (what it used goes to the cgroup it leaves) and its release
 * (what it used since the last walk). The first walk sets every older task's
 * baseline, so only time used from now on is counted.
 */
static int attach(struct cgroup_cpu *st, char *err, size_t errlen)
{
	struct cgroup_cpu_bpf *skel = st->skel;
	int rc;

	skel->links.cpu_charge_tasks = bpf_program__attach_iter(skel->progs.cpu_charge_tasks, NULL);
	if (!skel->links.cpu_charge_tasks) {
		rc = -errno;
		snprintf(err, errlen, "cannot create the task walk (iter/task): %s",
			 strerror(errno));
		return rc;
	}
	skel->links.cpu_task_free = bpf_program__attach(skel->progs.cpu_task_free);
	if (!skel->links.cpu_task_free) {
		rc = -errno;
		snprintf(err, errlen, "cannot attach to sched_process_free (tp_btf): %s",
			 strerror(errno));
		return rc;
	}
	skel->links.cpu_cgroup_attach = bpf_program__attach(skel->progs.cpu_cgroup_attach);
	if (!skel->links.cpu_cgroup_attach)
		log_warn("cannot attach to cgroup_attach_task", "collector", "cgroup_cpu", "reason",
			 strerror(errno), "effect",
			 "time used just before a task moves cgroup is charged to the new one");
	rc = charge_tasks(st);
	if (rc)
		snprintf(err, errlen, "cannot walk the tasks: %s", strerror(-rc));
	return rc;
}

static void cpu_destroy(void *state)
{
	struct cgroup_cpu *st = state;
	if (!st)
		return;
	loop_timer_del(st->loop, st->refresh_timer);
	cgroup_cpu_bpf__destroy(st->skel);
	cpu_limits_free_tree(&st->tree);
	cg_tree_free(&st->tree);
	cg_names_free(&st->names);
	name_filter_free(&st->paths);
	free(st->entries);
	free(st);
}

static int cpu_init(const struct config *cfg, struct loop *loop, void **state, char *err,
		    size_t errlen)
{
	struct cgroup_cpu *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	st->loop = loop;
	st->max_series = cfg->cgroup_cpu.max_series;
	st->max_depth = cfg->cgroup_cpu.max_depth;
	rc = name_filter_init(&st->paths, cfg->cgroup_cpu.include, cfg->cgroup_cpu.exclude);
	if (rc) {
		snprintf(err, errlen, "invalid --cpu-include or --cpu-exclude expression");
		goto fail;
	}

	rc = cgroup_find_mounts("/proc/self/mountinfo", &st->mounts);
	if (rc) {
		snprintf(err, errlen, "cannot read /proc/self/mountinfo: %s", strerror(-rc));
		goto fail;
	}
	/* key by cgroup2 ids wherever cgroup2 is mounted (also on hybrid hosts) */
	const char *root = st->mounts.unified;
	if (!*root) {
		st->keyed_by_v1 = true;
		root = *st->mounts.cpuacct ? st->mounts.cpuacct : st->mounts.cpu;
	}
	if (!*root) {
		snprintf(err, errlen, "no cgroup2 or cgroup v1 cpuacct hierarchy is mounted");
		rc = -ENOENT;
		goto fail;
	}

	st->ncpus = libbpf_num_possible_cpus();
	if (st->ncpus <= 0) {
		rc = st->ncpus < 0 ? st->ncpus : -EINVAL;
		snprintf(err, errlen, "cannot count possible CPUs");
		goto fail;
	}
	st->skel = cgroup_cpu_bpf__open();
	if (!st->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	st->skel->rodata->key_by_v1_cpuacct = st->keyed_by_v1;
	st->skel->rodata->attach_time_ns = clock_monotonic_ns();
	bpf_map__set_max_entries(st->skel->maps.cgroup_cpu, (__u32)cfg->cgroup_cpu.max_cgroups);

	rc = cgroup_cpu_bpf__load(st->skel);
	if (rc) {
		snprintf(err, errlen, "cannot load the BPF programs: %s", strerror(-rc));
		goto fail;
	}
	st->map_fd = bpf_map__fd(st->skel->maps.cgroup_cpu);

	rc = cg_tree_init(&st->tree, root, on_removed, st);
	if (rc) {
		snprintf(err, errlen, "cannot scan cgroups under %s: %s", root, strerror(-rc));
		goto fail;
	}
	rc = cg_names_init(&st->names, cfg->cgroup.docker_data_root, cfg->cgroup.kubelet_log_dir);
	if (rc) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	cg_tree_set_names(&st->tree, &st->names);
	cpu_limits_refresh(&st->tree, st->mounts.cpu);

	rc = attach(st, err, errlen);
	if (rc)
		goto fail;

	st->refresh_timer = loop_timer_add(loop, cfg->cgroup.refresh_interval_ms,
					   cfg->cgroup.refresh_interval_ms, refresh_tick, st);
	if (!st->refresh_timer) {
		rc = -ENOMEM;
		goto fail;
	}
	/* loading parsed the kernel's BTF: give that memory back now rather than keep it resident
	 */
	malloc_trim(0);

	struct log_num ncg = { { 0 } };
	log_info("collector attached", "collector", "cgroup_cpu", "keyed_by",
		 st->keyed_by_v1 ? "cgroup v1 cpuacct" : "cgroup2", "root", root, "cgroups",
		 log_u64(&ncg, st->tree.count));
	*state = st;
	return 0;
fail: /* an empty err is reported as strerror(-rc) by the collector set */
	cpu_destroy(st);
	return rc;
}

static struct bpf_object *cpu_bpf_object(void *state)
{
	struct cgroup_cpu *st = state;
	return st->skel->obj;
}

const struct collector_ops cgroup_cpu_collector_ops = {
	.name = "cgroup_cpu",
	.description = "CPU time and run-queue wait per cgroup, counted in the kernel",
	.enabled_by_default = NULL, /* always wanted; fails clearly where BPF is unavailable */
	.init = cpu_init,
	.collect = cpu_collect,
	.bpf_object = cpu_bpf_object,
	.destroy = cpu_destroy,
};

/* The node of a path, known to the tree now (a new cgroup triggers one rate-limited rescan). */
static struct cg_node *node_of_path(struct cgroup_cpu *st, const char *path)
{
	char dir[CGROUP_PATH_MAX * 2];
	struct stat sb;

	snprintf(dir, sizeof(dir), "%s%s", st->tree.root_dir, strcmp(path, "/") ? path : "");
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return NULL;
	struct cg_node *n = cg_tree_find(&st->tree, (uint64_t)sb.st_ino);
	if (!n && cg_tree_unknown_rescan_due(&st->tree) && rescan(st) == 0)
		n = cg_tree_find(&st->tree, (uint64_t)sb.st_ino);
	return n;
}

struct cgroup_cpu *cgroup_cpu_running(const struct collector_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->items[i].ops == &cgroup_cpu_collector_ops && set->items[i].state)
			return set->items[i].state;
	return NULL;
}

int cgroup_cpu_usage(struct cgroup_cpu *st, const char *path, struct cgroup_cpu_usage *out)
{
	int rc = sync_kernel(st, false);

	if (rc)
		return rc;
	struct cg_node *n = node_of_path(st, path);
	if (!n)
		return -ENOENT;
	cg_tree_totals(&st->tree);
	const struct cpu_limit *lim = n->user;
	out->id = n->id;
	out->cpu_ns = n->total[V_CPU];
	out->limit_cores = lim ? lim->cores : 0;
	return 0;
}

int cgroup_cpu_find(struct cgroup_cpu *st, const char *name, char *path, size_t len)
{
	size_t count = 0;
	struct cg_node **order = cg_tree_breadth_first(&st->tree, &count);
	int rc = -ENOENT;

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < count && rc; i++) {
		const char *base = strrchr(order[i]->path, '/');
		if (base && strcmp(base + 1, name) == 0) {
			snprintf(path, len, "%s", order[i]->path);
			rc = 0;
		}
	}
	free(order);
	return rc;
}

const char *cgroup_cpu_root(const struct cgroup_cpu *st)
{
	return st->tree.root_dir;
}
