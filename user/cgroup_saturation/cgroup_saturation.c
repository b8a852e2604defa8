/* cgroup_saturation/cgroup_saturation.c — the per-cgroup saturation collector: what a service is
 * short of besides CPU time. Memory, pressure stalls and I/O come from each cgroup's own files at
 * scrape time; OOM kills are counted in the kernel at the victim
 * (bpf/cgroup_saturation/cgroup_saturation.bpf.c), so they outlive the victim's cgroup. */
#include "cgroup_saturation/cgroup_saturation.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/cgroup_saturation/cgroup_saturation.h" /* shared with the BPF program */
#include "cgroup/view.h"
#include "cgroup_cpu/settings.h"
#include "cgroup_saturation/files.h"
#include "core/log.h"
#include "exposition/family_table.h"
#include "lib/bpf_util.h"
#include "skel/cgroup_saturation.skel.h"

enum { V_OOM = 0 };

struct cgroup_saturation {
	struct cgroup_saturation_bpf *skel;
	int ncpus;
	bool keyed_by_v1, oom_at_exit;
	struct cgroup_mounts mounts;
	struct sat_mounts files;
	struct cg_view view; /* tree, names, rescans, the oom_kills map, the CPU collector's caps */
	uint64_t read_errors_total;
	char *buf; /* SAT_BUF_LEN: one cgroup file at a time */
};

/* A file that is there but unreadable or not what the kernel writes: counted, logged the first
 * time; the cgroup's family is left out of this scrape. */
static void read_failed(struct cgroup_saturation *st, const struct cg_node *n, const char *what,
			int rc)
{
	if (st->read_errors_total++ == 0)
		log_warn("cannot read a cgroup's files", "collector", "cgroup_saturation", "cgroup",
			 n->path, "files", what, "reason", strerror(-rc));
}

#define NLABELS 7
static const char *const labels[] = { "cgroup",	   "container_id", "pod_uid",  "container", "pod",
				      "namespace", "unit",	   "resource", "kind" };
static const char *const io_labels[] = { "cgroup", "container_id", "pod_uid", "container",
					 "pod",	   "namespace",	   "unit",    "direction" };

static const struct metric_def per_cgroup[] = {
	{ "hostmon_cgroup_memory_usage_bytes",
	  "Memory charged to the cgroup and its descendants, page cache included (cgroup2 "
	  "memory.current, v1 memory.usage_in_bytes).",
	  METRIC_GAUGE, NLABELS, labels },
	{ "hostmon_cgroup_memory_working_set_bytes",
	  "Memory usage minus inactive file pages, as the kubelet computes the working set it "
	  "evicts and OOM-kills by.",
	  METRIC_GAUGE, NLABELS, labels },
	{ "hostmon_cgroup_memory_limit_bytes",
	  "Memory limit of the cgroup (cgroup2 memory.max, v1 memory.limit_in_bytes), where one is "
	  "set.",
	  METRIC_GAUGE, NLABELS, labels },
	{ "hostmon_cgroup_oom_kills_total",
	  "Processes the OOM killer killed while they were in the cgroup or its descendants, "
	  "counted in the kernel at the victim since hostmon started.",
	  METRIC_COUNTER, NLABELS, labels },
	{ "hostmon_cgroup_pressure_stall_seconds_total",
	  "Time tasks of the cgroup were stalled on a resource (PSI): some = at least one task, "
	  "full = all non-idle tasks at once.",
	  METRIC_COUNTER, NLABELS + 2, labels },
	{ "hostmon_cgroup_io_bytes_total",
	  "Bytes the cgroup and its descendants read from and wrote to block devices (cgroup2 "
	  "io.stat, v1 blkio throttle statistics).",
	  METRIC_COUNTER, NLABELS + 1, io_labels },
	{ "hostmon_cgroup_io_operations_total",
	  "Block I/O operations the cgroup and its descendants issued, by direction.",
	  METRIC_COUNTER, NLABELS + 1, io_labels },
};
enum { F_USAGE, F_WSS, F_LIMIT, F_OOM, F_PSI, F_IO_BYTES, F_IO_OPS, F_COUNT };

static void export_node(struct cgroup_saturation *st, const struct cg_node *n,
			struct metric_family **f)
{
	static const char *const res_names[SAT_RES_COUNT] = { "cpu", "memory", "io" };
	const char *v[NLABELS + 2] = { n->path, n->container_id, n->pod_uid, n->container,
				       n->pod,	n->namespace,	 n->unit };
	struct sat_memory mem;
	struct sat_pressure psi;
	struct sat_io io;
	int rc;

	metric_add(f[F_OOM], v, (double)n->total[V_OOM]);
	rc = sat_read_memory(&st->files, n->path, st->buf, SAT_BUF_LEN, &mem);
	if (rc == 0) {
		metric_add(f[F_USAGE], v, (double)mem.usage);
		metric_add(f[F_WSS], v, (double)mem.working_set);
		if (mem.has_limit)
			metric_add(f[F_LIMIT], v, (double)mem.limit);
	} else if (rc != -ENOENT) {
		read_failed(st, n, "memory", rc);
	}
	rc = sat_read_pressure(&st->files, n->path, st->buf, SAT_BUF_LEN, &psi);
	if (rc == 0) {
		for (int r = 0; r < SAT_RES_COUNT; r++) {
			const struct sat_stall *s = &psi.res[r];
			v[NLABELS] = res_names[r];
			v[NLABELS + 1] = "some";
			if (s->has_some)
				metric_add(f[F_PSI], v, (double)s->some_us / 1e6);
			v[NLABELS + 1] = "full";
			if (s->has_full)
				metric_add(f[F_PSI], v, (double)s->full_us / 1e6);
		}
	} else if (rc != -ENOENT) {
		read_failed(st, n, "pressure", rc);
	}
	rc = sat_read_io(&st->files, n->path, st->buf, SAT_BUF_LEN, &io);
	if (rc == 0) {
		v[NLABELS] = "read";
		metric_add(f[F_IO_BYTES], v, (double)io.read_bytes);
		metric_add(f[F_IO_OPS], v, (double)io.read_ops);
		v[NLABELS] = "write";
		metric_add(f[F_IO_BYTES], v, (double)io.write_bytes);
		metric_add(f[F_IO_OPS], v, (double)io.write_ops);
	} else if (rc != -ENOENT) {
		read_failed(st, n, "io", rc);
	}
}

static int sat_collect(void *state, struct metric_snapshot *s)
{
	struct cgroup_saturation *st = state;
	int rc = cg_view_sync(&st->view);
	if (rc)
		return rc;

	struct metric_family *f[F_COUNT];
	metric_families_get(s, per_cgroup, F_COUNT, f);
	size_t count = 0, dropped = 0;
	struct cg_node **order = cg_view_exported(&st->view, NULL, NULL, &count, &dropped);
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++)
		export_node(st, order[i], f);
	free(order);

	static const struct metric_def health[] = {
		{ "hostmon_cgroup_saturation_map_full_total",
		  "OOM kills not counted because the kernel map was full (raise "
		  "--cpu-max-cgroups).",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_saturation_orphaned_total",
		  "Cgroups with OOM kills created and removed between two scans, counted at the "
		  "root cgroup only.",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_saturation_read_errors_total",
		  "Cgroup memory, pressure or I/O files that could not be read or parsed.",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_saturation_series_dropped",
		  "Cgroups left out of this scrape by --cpu-max-series.", METRIC_GAUGE },
		{ "hostmon_cgroup_saturation_scan_errors_total",
		  "Failed rescans of the cgroup hierarchy by this collector.", METRIC_COUNTER },
	};
	double values[] = {
		(double)bpf_util_percpu_sum(bpf_map__fd(st->skel->maps.sat_counters),
					    SAT_COUNTER_MAP_FULL, st->ncpus),
		(double)st->view.map.orphaned_total,
		(double)st->read_errors_total,
		(double)dropped,
		(double)st->view.scan_errors_total,
	};
	metric_scalars_add(s, health, METRIC_DEFS_N(health), values);
	return 0;
}

/* Whether this kernel's mark_victim tracepoint passes the victim's task_struct (Debian
 * 12's 6.1.192, 6.12 and 6.18 do) rather than its pid only (older kernels). */
static bool mark_victim_passes_task(void)
{
	bool is_ptr[1] = { false };
	return bpf_util_tracepoint_args("mark_victim", is_ptr, 1) >= 1 && is_ptr[0];
}

static void sat_destroy(void *state)
{
	struct cgroup_saturation *st = state;
	if (!st)
		return;
	cg_view_free(&st->view);
	cgroup_saturation_bpf__destroy(st->skel);
	free(st->buf);
	free(st);
}

static int load(struct cgroup_saturation *st, const struct config *cfg, char *err, size_t errlen)
{
	int rc;

	st->skel = cgroup_saturation_bpf__open();
	if (!st->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return rc;
	}
	st->skel->rodata->key_by_v1_memory = st->keyed_by_v1;
	bpf_map__set_max_entries(st->skel->maps.oom_kills, (__u32)cfg->cgroup_cpu.max_cgroups);
	/* one of the two OOM hooks, by what this kernel's tracepoint passes */
	st->oom_at_exit = !mark_victim_passes_task();
	bpf_program__set_autoload(st->skel->progs.sat_oom_victim, !st->oom_at_exit);
	bpf_program__set_autoload(st->skel->progs.sat_oom_victim_exit, st->oom_at_exit);
	rc = cgroup_saturation_bpf__load(st->skel);
	if (rc) {
		snprintf(err, errlen, "cannot load the BPF programs: %s", strerror(-rc));
		return rc;
	}
	struct bpf_program *prog = st->oom_at_exit ? st->skel->progs.sat_oom_victim_exit
						   : st->skel->progs.sat_oom_victim;
	struct bpf_link *link = bpf_program__attach(prog);
	if (!link) {
		rc = -errno;
		snprintf(err, errlen, "cannot attach to %s (tp_btf): %s",
			 st->oom_at_exit ? "sched_process_exit" : "mark_victim", strerror(errno));
		return rc;
	}
	if (st->oom_at_exit)
		st->skel->links.sat_oom_victim_exit = link;
	else
		st->skel->links.sat_oom_victim = link;
	return 0;
}

static int sat_init(const struct config *cfg, struct loop *loop, void **state, char *err,
		    size_t errlen)
{
	struct cgroup_saturation *st = calloc(1, sizeof(*st));
	int rc;

	if (!st)
		return -ENOMEM;
	st->buf = malloc(SAT_BUF_LEN);
	if (!st->buf) {
		rc = -ENOMEM;
		goto fail;
	}
	rc = cgroup_find_mounts("/proc/self/mountinfo", &st->mounts);
	if (rc) {
		snprintf(err, errlen, "cannot read /proc/self/mountinfo: %s", strerror(-rc));
		goto fail;
	}
	/* the cgroup label is the cgroup2 path wherever cgroup2 is mounted (hybrid hosts too) */
	const char *root = st->mounts.unified;
	if (!*root) {
		st->keyed_by_v1 = true;
		root = st->mounts.memory;
	}
	if (!*root) {
		snprintf(err, errlen, "no cgroup2 or cgroup v1 memory hierarchy is mounted");
		rc = -ENOENT;
		goto fail;
	}
	st->files = (struct sat_mounts){ st->mounts.unified, st->mounts.memory, st->mounts.blkio };
	st->ncpus = libbpf_num_possible_cpus();
	if (st->ncpus <= 0) {
		rc = st->ncpus < 0 ? st->ncpus : -EINVAL;
		snprintf(err, errlen, "cannot count possible CPUs");
		goto fail;
	}
	rc = load(st, cfg, err, errlen);
	if (rc)
		goto fail;
	struct cg_view_settings vs = cgroup_view_settings(&cfg->cgroup, &cfg->cgroup_cpu);
	rc = cg_view_init(&st->view, "cgroup_saturation", root, &vs,
			  bpf_map__fd(st->skel->maps.oom_kills), 1, loop, NULL, NULL, st, err,
			  errlen);
	if (rc)
		goto fail;
	malloc_trim(0); /* loading parsed the kernel's BTF: give that memory back */
	log_info("collector attached", "collector", "cgroup_saturation", "root", root, "oom_hook",
		 st->oom_at_exit ? "sched_process_exit" : "mark_victim", "v1_memory",
		 *st->mounts.memory ? st->mounts.memory : "none", "v1_blkio",
		 *st->mounts.blkio ? st->mounts.blkio : "none");
	*state = st;
	return 0;
fail:
	sat_destroy(st);
	return rc;
}

static struct bpf_object *sat_bpf_object(void *state)
{
	struct cgroup_saturation *st = state;
	return st->skel->obj;
}

const struct collector_ops cgroup_saturation_collector_ops = {
	.name = "cgroup_saturation",
	.description = "memory, OOM kills, pressure stalls and I/O per cgroup",
	.enabled_by_default = NULL,
	.init = sat_init,
	.collect = sat_collect,
	.bpf_object = sat_bpf_object,
	.destroy = sat_destroy,
};
