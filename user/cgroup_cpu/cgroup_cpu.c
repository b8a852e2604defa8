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
#include "cgroup/view.h"
#include "cgroup_cpu/limits.h"
#include "core/log.h"
#include "exposition/family_table.h"
#include "lib/bpf_util.h"
#include "lib/clock.h"
#include "skel/cgroup_cpu.skel.h"

/* own[] slots of a node: the two __u64 of struct cpu_cgroup_stats, in order */
enum { V_CPU = 0, V_WAIT = 1, V_COUNT = 2 };
_Static_assert(sizeof(struct cpu_cgroup_stats) == V_COUNT * sizeof(__u64), "read as u64 slots");

struct cgroup_cpu {
	struct cgroup_cpu_bpf *skel;
	int ncpus;
	bool keyed_by_v1;
	struct cgroup_mounts mounts;
	struct cg_view view; /* tree, names, rescans, the cgroup_cpu map, export caps */
};

/* The task walk: cpu_charge_tasks on every task moves its growth since its last charge into the
 * map. */
static int charge_tasks(struct cgroup_cpu *st)
{
	return bpf_util_iter_run(st->skel->links.cpu_charge_tasks);
}

/* A cgroup is gone (its final values already taken from the map): its limit goes with it. */
static void on_removed(void *arg, struct cg_node *node)
{
	(void)arg;
	cpu_limits_free(node->user);
	node->user = NULL;
}

/* After every walk: limits of new cgroups, changed limits. */
static void on_rescanned(void *arg)
{
	struct cgroup_cpu *st = arg;
	cpu_limits_refresh(&st->view.tree, st->mounts.cpu);
}

/* The task walk first, so the map holds every task's growth up to now. */
static int sync_kernel(struct cgroup_cpu *st)
{
	int rc = charge_tasks(st);
	if (rc) {
		log_warn("task walk failed", "collector", "cgroup_cpu", "reason", strerror(-rc));
		return rc;
	}
	return cg_view_sync(&st->view);
}

static bool used_cpu(const struct cg_node *n, void *arg)
{
	(void)arg;
	return n->total[V_CPU] || n->total[V_WAIT]; /* never used CPU: not worth a series */
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

	int rc = sync_kernel(st);
	if (rc)
		return rc;

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

	size_t count = 0, dropped = 0;
	struct cg_node **order = cg_view_exported(&st->view, used_cpu, NULL, &count, &dropped);
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		struct cg_node *n = order[i];
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
			    (double)st->view.map.orphaned_total,
			    (double)st->view.tree.count,
			    (double)dropped,
			    (double)st->view.scan_errors_total };
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
	cpu_limits_free_tree(&st->view.tree);
	cg_view_free(&st->view);
	cgroup_cpu_bpf__destroy(st->skel);
	free(st);
}

static int cpu_init(const struct config *cfg, struct loop *loop, void **state, char *err,
		    size_t errlen)
{
	struct cgroup_cpu *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
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
	struct cg_view_settings vs = cgroup_view_settings(&cfg->cgroup, &cfg->cgroup_cpu);
	rc = cg_view_init(&st->view, "cgroup_cpu", root, &vs,
			  bpf_map__fd(st->skel->maps.cgroup_cpu), V_COUNT, loop, on_removed,
			  on_rescanned, st, err, errlen);
	if (rc)
		goto fail;
	rc = attach(st, err, errlen);
	if (rc)
		goto fail;
	/* loading parsed the kernel's BTF: give that memory back now rather than keep it resident
	 */
	malloc_trim(0);

	struct log_num ncg = { { 0 } };
	log_info("collector attached", "collector", "cgroup_cpu", "keyed_by",
		 st->keyed_by_v1 ? "cgroup v1 cpuacct" : "cgroup2", "root", root, "cgroups",
		 log_u64(&ncg, st->view.tree.count));
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

	snprintf(dir, sizeof(dir), "%s%s", st->view.tree.root_dir, strcmp(path, "/") ? path : "");
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return NULL;
	struct cg_node *n = cg_tree_find(&st->view.tree, (uint64_t)sb.st_ino);
	if (!n && cg_tree_unknown_rescan_due(&st->view.tree) && cg_view_rescan(&st->view) == 0)
		n = cg_tree_find(&st->view.tree, (uint64_t)sb.st_ino);
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
	int rc = sync_kernel(st);

	if (rc)
		return rc;
	struct cg_node *n = node_of_path(st, path);
	if (!n)
		return -ENOENT;
	cg_tree_totals(&st->view.tree);
	const struct cpu_limit *lim = n->user;
	out->id = n->id;
	out->cpu_ns = n->total[V_CPU];
	out->limit_cores = lim ? lim->cores : 0;
	return 0;
}

int cgroup_cpu_find(struct cgroup_cpu *st, const char *name, char *path, size_t len)
{
	size_t count = 0;
	struct cg_node **order = cg_tree_breadth_first(&st->view.tree, &count);
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
	return st->view.tree.root_dir;
}
