/* http_latency/state.h — the http_latency collector's state, shared by its loader/exporter
 * (http_latency.c) and its target tracking (targets.c); nothing outside the folder includes it. */
#ifndef HOSTMON_HTTP_LATENCY_STATE_H
#define HOSTMON_HTTP_LATENCY_STATE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/http_latency/http_latency.h"
#include "cgroup/tree.h"
#include "core/loop.h"
#include "http_latency/routes.h"
#include "http_latency/settings.h"
#include "lib/idmap.h"
#include "lib/namefilter.h"

/*
 * Internal API between http_latency.c (collector: load, attach, export) and
 * targets.c (which processes are targets, PHP USDT, hook lifetime).
 *
 * Targets live in the kernel's `targets` map. The kernel adds them on exec
 * and fork and removes them on exit, announcing each through a ring buffer;
 * latency_targets_event() then checks the process (cgroup filter, `php -S`
 * for PHP's CLI, USDT for php-fpm), keeps the PHP-FPM hooks attached exactly
 * while a PHP target exists (php_hooks.c), and the cgroup_skb programs attached to the cgroups
 * of HTTP-mode targets (sockets.c). latency_targets_scan() seeds the map from /proc at start and
 * again on a timer, in case ring buffer events were lost.
 */
struct http_latency_bpf;
struct bpf_link;
struct skb_cgroup;
struct php_pools;
struct metric_snapshot;

#define PHP_HOOKS_MAX 3 /* programs of the PHP-FPM hooks' largest tier */

/* The PHP-FPM hooks' tiers, cheapest for the rest of the host last (php_hooks.c). */
enum php_tier {
	PHP_TIER_SYSCALLS,    /* raw sys_enter/sys_exit: every process pays while attached */
	PHP_TIER_SOCK_LENGTH, /* tp_btf sock_recv_length/sock_send_length (6.3+) */
	PHP_TIER_SOCK_ITER,   /* fentry/fexit sock_read_iter, fentry sock_write_iter */
	PHP_TIERS
};

/* A histogram of a cgroup that cannot be named (created and removed between two scans). */
struct unnamed_hist {
	struct http_hist_key key; /* cgroup_id 0: they share one label set */
	uint64_t buckets[HTTP_MAX_BUCKETS + 1];
	uint64_t sum_ns;
};

struct unnamed_hists {
	struct unnamed_hist *v;
	size_t n, cap;
};

struct usdt_binary {
	uint64_t dev, ino;
	bool ok; /* both probes attached */
	struct bpf_link *startup, *shutdown;
};

struct http_latency {
	struct http_latency_bpf *skel;
	enum php_tier php_tier; /* the PHP-FPM hooks' tier, chosen at load */
	bool php_hooks_on;	/* attached: while a PHP target exists */
	struct bpf_link *php_links[PHP_HOOKS_MAX];
	struct skb_cgroup *skb_cgroups; /* the cgroups of HTTP-mode targets (sockets.c) */
	size_t nskb_cgroups;
	struct loop_timer *skb_detach_timer; /* pending: a cgroup waits out its grace period */
	uint64_t skb_attach_failures;
	struct ring_buffer *events;
	struct loop *loop;
	struct loop_watch *events_watch;
	struct loop_timer *scan_timer;
	struct latency_targets names;
	struct latency_buckets buckets;
	struct name_filter cgroups;
	bool php_usdt;
	struct usdt_binary *binaries;
	size_t nbinaries;
	size_t ntargets;
	__u64 *target_bits; /* the kernel's bitmap of target pids, mmap-ed */
	size_t target_words, target_bits_len;
	uint64_t hook_attach_failures;
	bool warned_exe_denied; /* said once that /proc/PID/exe of some processes is unreadable */
	int ncpus;
	/* cgroup names */
	bool have_tree;
	struct cg_tree tree;
	struct cg_names cg_names;  /* container, pod and namespace names of the tree */
	struct idmap names_seen;   /* id -> struct cg_label, kept after the cgroup is gone */
	struct http_routes routes; /* --http-routes, for the route labels */
	uint64_t max_routes;
	/* removed cgroups (retire.c) */
	struct idmap retiring;	   /* id -> its removal, until its kernel entries are deleted */
	uint64_t retention_ns;	   /* --http-removed-retention */
	uint64_t unnamed_grace_ns; /* an unnamed id may be new: two rescans before it is gone */
	struct unnamed_hists unnamed_retired; /* final values of deleted unnamed cgroups' entries */
	uint64_t cgroups_retired_total;
	struct php_pools *pools; /* PHP-FPM pools (phpfpm.c) */
};

/* http_latency.c: entries of the kernel's targets map for a host with ncpus possible CPUs */
uint32_t latency_targets_room(int ncpus);

int latency_targets_scan(struct http_latency *st);
int latency_targets_event(void *ctx, void *data, size_t size); /* ring_buffer callback */
void latency_targets_update_hooks(struct http_latency *st);
void latency_targets_free(struct http_latency *st);
void latency_targets_set_bit(struct http_latency *st, __u32 tgid, int on);

/* http_latency.c: forget a cgroup's labels (its series have left the page) */
void latency_label_forget(struct http_latency *st, uint64_t id);
/* http_latency.c: the cgroup label set of id into v[0..6] (cgroup, container_id, pod_uid,
 * container, pod, namespace, unit), valid until the next collect; -ENOENT when it has no name */
int latency_cgroup_labels(struct http_latency *st, uint64_t id, const char **v);

/*
 * phpfpm.c: PHP-FPM pools (docs/phpfpm.md). phpfpm_init() maps the kernel's php_pools after
 * load (phpfpm_free() undoes it; st->pools NULL is fine everywhere). phpfpm_attribute() names a
 * PHP-FPM target's pool from its process title: 1 when it set t->pool (the caller writes the
 * entry), 0 for none (the master; a worker whose title is not set yet is retried on a short
 * timer, armed by phpfpm_arm_retry()). phpfpm_rescan(), on the scan timer, tries again every
 * target without a pool and re-reads the pools' configurations. phpfpm_count_begin(),
 * phpfpm_count() per target and phpfpm_count_end() count each pool's workers over one walk of
 * the targets and hand the counts to the kernel. phpfpm_collect() adds the pool families;
 * phpfpm_pool_name() is a pool's name ("" for none).
 */
int phpfpm_init(struct http_latency *st);
void phpfpm_free(struct http_latency *st);
int phpfpm_attribute(struct http_latency *st, __u32 tgid, struct http_target *t);
void phpfpm_arm_retry(struct http_latency *st);
void phpfpm_rescan(struct http_latency *st);
void phpfpm_count_begin(struct http_latency *st);
void phpfpm_count(struct http_latency *st, const struct http_target *t);
void phpfpm_count_end(struct http_latency *st);
int phpfpm_collect(struct http_latency *st, struct metric_snapshot *snap);
const char *phpfpm_pool_name(const struct http_latency *st, __u16 pool);

/*
 * retire.c: latency_retire_mark() notes a cgroup removed (or, unnamed, never named);
 * latency_retire_unmark() takes back an unnamed mark once the cgroup got a name;
 * latency_retire_due(), at each collect, deletes the kernel entries (histograms, admitted routes,
 * route count) and labels of those marked longer than the retention, the final values of unnamed
 * ones kept in unnamed_retired. unnamed_hists_add() appends one histogram, cgroup id zeroed.
 */
void latency_retire_mark(struct http_latency *st, uint64_t id, bool unnamed);
void latency_retire_unmark(struct http_latency *st, uint64_t id);
int latency_retire_due(struct http_latency *st);
void latency_retire_free(struct http_latency *st);
int unnamed_hists_add(struct unnamed_hists *u, const struct http_hist_key *key,
		      const uint64_t *buckets, size_t nbuckets, uint64_t sum_ns);

/* http_latency.c: "node", "php", "nginx", "http" (the runtime label) */
const char *latency_runtime_name(__u8 runtime);

/* status.c: the targets for the status page (collector_ops.status) */
struct status_model;
int latency_status(void *state, struct status_model *m);

/*
 * php_hooks.c: php_hooks_choose() picks the tier before the object is loaded: the first of best,
 * best - 1, ... whose hooks attach here (an empty program attached for a moment; syscalls always
 * does), and loads only its programs; php_hooks_log() says once which; php_hooks_update()
 * attaches or detaches them (want: a PHP target exists), a failure counted and logged;
 * php_hooks_metrics() exports hostmon_http_latency_php_hooks_attached{tier}.
 */
void php_hooks_choose(struct http_latency *st, enum php_tier best);
const char *php_hooks_tier(const struct http_latency *st);
void php_hooks_log(const struct http_latency *st);
void php_hooks_update(struct http_latency *st, bool want);
void php_hooks_free(struct http_latency *st);
void php_hooks_metrics(const struct http_latency *st, struct metric_snapshot *s);

/* sockets.c: attach the cgroup_skb programs to the cgroups holding HTTP-mode targets (and
 * detach them from cgroups that hold none any more); free detaches all. */
void http_sockets_update(struct http_latency *st);
void http_sockets_free(struct http_latency *st);

#endif
