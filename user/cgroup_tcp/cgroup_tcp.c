/* cgroup_tcp/cgroup_tcp.c — the per-cgroup TCP collector: loads bpf/cgroup_tcp/cgroup_tcp.bpf.c,
 * sums its per-cgroup counters over the tree and exports them with the connect-latency histograms
 * of each cgroup's sockets by remote port. */
#include "cgroup_tcp/cgroup_tcp.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/cgroup_tcp/cgroup_tcp.h" /* shared with the BPF program */
#include "cgroup/kernel_map.h"
#include "cgroup/view.h"
#include "cgroup_cpu/settings.h"
#include "core/log.h"
#include "exposition/family_table.h"
#include "lib/bpf_util.h"
#include "lib/idmap.h"
#include "skel/cgroup_tcp.skel.h"

/* own[] slots of a node: the four __u64 of struct tcp_cgroup_stats, in order */
enum { V_RETRANS = 0, V_RST_SENT = 1, V_RST_RECV = 2, V_CONN_FAIL = 3, V_COUNT = 4 };
_Static_assert(sizeof(struct tcp_cgroup_stats) == V_COUNT * sizeof(__u64), "read as u64 slots");
_Static_assert(V_COUNT <= CG_NVALUES, "the tree holds them");

/* Connect latency bounds, seconds: loopback and LAN connects take well under a millisecond, a
 * lost SYN costs the 1 s initial retransmission timeout, a second one 3 s. */
static const double connect_bounds[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
					 0.05,	 0.1,	  0.25,	  0.5,	 1,	 2.5,	5,    10 };
#define NBOUNDS (sizeof(connect_bounds) / sizeof(connect_bounds[0]))
_Static_assert(NBOUNDS <= TCP_MAX_BOUNDS, "the kernel histogram holds them");

struct connect_entry {
	struct tcp_connect_key key;
	struct tcp_connect_hist hist;
};

struct cgroup_tcp {
	struct cgroup_tcp_bpf *skel;
	int ncpus;
	struct cg_view
		view; /* tree, names, rescans, the tcp_cgroups map, the CPU collector's caps */
	struct connect_entry *connects; /* the last complete read of tcp_connects */
	size_t nconnects;
	/* cgroup id -> its first entry in connects (sorted by cgroup id, then port) */
	struct idmap with_connects;
};

static int by_cgroup_then_port(const void *a, const void *b)
{
	const struct tcp_connect_key *x = &((const struct connect_entry *)a)->key,
				     *y = &((const struct connect_entry *)b)->key;

	if (x->cgroup_id != y->cgroup_id)
		return x->cgroup_id < y->cgroup_id ? -1 : 1;
	return (int)x->remote_port - (int)y->remote_port;
}

/* Reads every connect histogram; entries of cgroups the tree no longer knows after a walk are
 * deleted (their cgroup was removed: its series go with it). */
static int read_connects(struct cgroup_tcp *st, uint64_t generation_before)
{
	void *recs;
	size_t n;
	int rc = cg_hash_read_all(
		bpf_map__fd(st->skel->maps.tcp_connects), sizeof(struct tcp_connect_key),
		offsetof(struct connect_entry, hist), sizeof(struct connect_entry), &st->view.tree,
		st->view.tree.generation != generation_before, &recs, &n);
	if (rc)
		return rc;
	struct connect_entry *out = recs;
	if (n)
		qsort(out, n, sizeof(*out), by_cgroup_then_port);
	free(st->connects);
	st->connects = out;
	st->nconnects = n;
	idmap_free(&st->with_connects);
	for (size_t i = 0; i < n; i++)
		if ((i == 0 || out[i - 1].key.cgroup_id != out[i].key.cgroup_id) &&
		    idmap_put(&st->with_connects, out[i].key.cgroup_id, &out[i]))
			return -ENOMEM;
	return 0;
}

#define NLABELS 7
static const char *const labels[] = { "cgroup", "container_id", "pod_uid", "container",
				      "pod",	"namespace",	"unit",	   "direction" };
static const char *const port_labels[] = { "cgroup", "container_id", "pod_uid", "container",
					   "pod",    "namespace",    "unit",	"remote_port" };

static void export_connects(const struct cgroup_tcp *st, struct metric_family *f,
			    const struct cg_node *n)
{
	const char *v[NLABELS + 1] = { n->path, n->container_id, n->pod_uid, n->container,
				       n->pod,	n->namespace,	 n->unit };
	const struct connect_entry *first = idmap_get(&st->with_connects, n->id);
	char port[8];

	if (!first)
		return;
	/* the cgroup's entries are one run of the sorted array */
	for (const struct connect_entry *e = first;
	     e < st->connects + st->nconnects && e->key.cgroup_id == n->id; e++) {
		snprintf(port, sizeof(port), "%u", e->key.remote_port);
		v[NLABELS] = port;
		/* copied with memcpy: __u64 and uint64_t have one representation */
		metric_add_histogram(f, v, (const uint64_t *)e->hist.buckets,
				     (double)e->hist.sum_ns / 1e9);
	}
}

static int tcp_collect(void *state, struct metric_snapshot *s)
{
	struct cgroup_tcp *st = state;
	uint64_t generation = st->view.tree.generation;
	int rc = cg_view_sync(&st->view);
	if (rc == 0)
		rc = read_connects(st, generation);
	if (rc)
		return rc;

	static const struct metric_def per_cgroup[] = {
		{ "hostmon_cgroup_tcp_retransmits_total",
		  "TCP segments retransmitted by sockets of the cgroup and its descendants that "
		  "went "
		  "out (RetransSegs minus TCPRetransFail), since hostmon started.",
		  METRIC_COUNTER, NLABELS, labels },
		{ "hostmon_cgroup_tcp_resets_total",
		  "TCP resets sent by, or received by (connection reset by peer), sockets of the "
		  "cgroup and its descendants.",
		  METRIC_COUNTER, NLABELS + 1, labels },
		{ "hostmon_cgroup_tcp_connect_failures_total",
		  "Outgoing TCP connects of the cgroup and its descendants that closed before they "
		  "were established (refused, timed out, unreachable).",
		  METRIC_COUNTER, NLABELS, labels },
	};
	struct metric_family *f[METRIC_DEFS_N(per_cgroup)];
	metric_families_get(s, per_cgroup, METRIC_DEFS_N(per_cgroup), f);
	struct metric_family *hist = metric_histogram_get(
		s, "hostmon_cgroup_tcp_connect_duration_seconds",
		"Time from an outgoing TCP connect's SYN to the connection established, by remote "
		"port, for sockets of the cgroup itself.",
		NLABELS + 1, port_labels, NBOUNDS, connect_bounds);

	size_t count = 0, dropped = 0;
	/* every cgroup within the caps, trouble or not, as the other per-cgroup families: a counter
	 * series that starts at 0 lets increase() and rate() see its first events */
	struct cg_node **order = cg_view_exported(&st->view, NULL, NULL, &count, &dropped);
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct cg_node *n = order[i];
		const char *v[NLABELS + 1] = { n->path, n->container_id, n->pod_uid, n->container,
					       n->pod,	n->namespace,	 n->unit };
		metric_add(f[0], v, (double)n->total[V_RETRANS]);
		v[NLABELS] = "sent";
		metric_add(f[1], v, (double)n->total[V_RST_SENT]);
		v[NLABELS] = "received";
		metric_add(f[1], v, (double)n->total[V_RST_RECV]);
		metric_add(f[2], v, (double)n->total[V_CONN_FAIL]);
		export_connects(st, hist, n);
	}
	free(order);

	static const struct metric_def health[] = {
		{ "hostmon_cgroup_tcp_map_full_total",
		  "TCP events not counted because the kernel map was full (raise "
		  "--cpu-max-cgroups).",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_tcp_connect_histograms_full_total",
		  "Outgoing connects not timed because every (cgroup, remote port) histogram slot "
		  "was "
		  "taken.",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_tcp_socket_storage_failures_total",
		  "Outgoing connects not timed because socket storage could not be allocated.",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_tcp_orphaned_total",
		  "Cgroups with TCP events created and removed between two scans, counted at the "
		  "root "
		  "only.",
		  METRIC_COUNTER },
		{ "hostmon_cgroup_tcp_series_dropped",
		  "Cgroups left out of this scrape by --cpu-max-series.", METRIC_GAUGE },
	};
	int cfd = bpf_map__fd(st->skel->maps.tcp_counters);
	double values[] = {
		(double)bpf_util_percpu_sum(cfd, TCP_COUNTER_MAP_FULL, st->ncpus),
		(double)bpf_util_percpu_sum(cfd, TCP_COUNTER_HISTS_FULL, st->ncpus),
		(double)bpf_util_percpu_sum(cfd, TCP_COUNTER_SOCK_STORAGE_FAIL, st->ncpus),
		(double)st->view.map.orphaned_total,
		(double)dropped,
	};
	metric_scalars_add(s, health, METRIC_DEFS_N(health), values);
	return 0;
}

static void tcp_destroy(void *state)
{
	struct cgroup_tcp *st = state;
	if (!st)
		return;
	cg_view_free(&st->view);
	cgroup_tcp_bpf__destroy(st->skel);
	idmap_free(&st->with_connects);
	free(st->connects);
	free(st);
}

static int load(struct cgroup_tcp *st, const struct config *cfg, char *err, size_t errlen)
{
	int rc;

	st->skel = cgroup_tcp_bpf__open();
	if (!st->skel) {
		rc = -errno;
		snprintf(err, errlen, "cannot open the BPF object: %s", strerror(errno));
		return rc;
	}
	for (size_t i = 0; i < NBOUNDS; i++)
		st->skel->rodata->connect_bounds_ns[i] = (__u64)(connect_bounds[i] * 1e9 + 0.5);
	st->skel->rodata->connect_nbounds = NBOUNDS;
	bpf_map__set_max_entries(st->skel->maps.tcp_cgroups, (__u32)cfg->cgroup_cpu.max_cgroups);
	bool is_ptr[3];
	st->skel->rodata->retransmit_passes_err =
		bpf_util_tracepoint_args("tcp_retransmit_skb", is_ptr, 3) >= 3;
	rc = cgroup_tcp_bpf__load(st->skel);
	if (rc) {
		snprintf(err, errlen, "cannot load the BPF programs: %s", strerror(-rc));
		return rc;
	}
	rc = cgroup_tcp_bpf__attach(st->skel);
	if (rc) {
		snprintf(err, errlen, "cannot attach to the TCP tracepoints (tp_btf): %s",
			 strerror(-rc));
		return rc;
	}
	return 0;
}

static int tcp_init(const struct config *cfg, struct loop *loop, void **state, char *err,
		    size_t errlen)
{
	struct cgroup_tcp *st = calloc(1, sizeof(*st));
	struct cgroup_mounts mounts;
	int rc;

	if (!st)
		return -ENOMEM;
	rc = cgroup_find_mounts("/proc/self/mountinfo", &mounts);
	if (rc) {
		snprintf(err, errlen, "cannot read /proc/self/mountinfo: %s", strerror(-rc));
		goto fail;
	}
	/* a socket carries its owner's cgroup2 cgroup: without cgroup2 every socket is the root's
	 */
	if (!*mounts.unified) {
		snprintf(err, errlen, "no cgroup2 hierarchy is mounted: sockets name no cgroup");
		rc = -ENOENT;
		goto fail;
	}
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
	rc = cg_view_init(&st->view, "cgroup_tcp", mounts.unified, &vs,
			  bpf_map__fd(st->skel->maps.tcp_cgroups), V_COUNT, loop, NULL, NULL, st,
			  err, errlen);
	if (rc)
		goto fail;
	rc = cg_view_forget_in(&st->view, bpf_map__fd(st->skel->maps.tcp_connects),
			       sizeof(struct tcp_connect_key));
	if (rc)
		goto fail;
	malloc_trim(0); /* loading parsed the kernel's BTF: give that memory back */
	log_info("collector attached", "collector", "cgroup_tcp", "root", mounts.unified);
	*state = st;
	return 0;
fail:
	tcp_destroy(st);
	return rc;
}

static struct bpf_object *tcp_bpf_object(void *state)
{
	struct cgroup_tcp *st = state;
	return st->skel->obj;
}

const struct collector_ops cgroup_tcp_collector_ops = {
	.name = "cgroup_tcp",
	.description = "TCP retransmits, resets, failed connects and connect latency per cgroup",
	.enabled_by_default = NULL,
	.init = tcp_init,
	.collect = tcp_collect,
	.bpf_object = tcp_bpf_object,
	.destroy = tcp_destroy,
};
