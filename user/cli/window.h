/* cli/window.h — what happened per cgroup between two scrapes of the daemon's page: CPU,
 * throttling, run-queue wait, memory, OOM kills, node's event-loop utilisation and request latency,
 * joined by cgroup. */
#ifndef HOSTMON_CLI_WINDOW_H
#define HOSTMON_CLI_WINDOW_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "exposition/expo_parse.h"
#include "exposition/metrics.h"

/*
 * API:
 *   window_compute() reads two parsed pages (before may be NULL: the
 *   window starts at zero) taken seconds apart into w: one row per cgroup
 *   on either family (the root cgroup "/" only as w->host_cores), rates per
 *   second of the window (a cgroup with neither a CPU series nor a request
 *   in the window is left out), HTTP histograms merged over runtime, method,
 *   status and route with their bucket deltas, and p50/p90/p99 from them.
 *   Counters that went down count from zero (a restarted daemon). With a
 *   filter, only cgroups whose name or path match are kept (and only
 *   their HTTP series count in w->split). With split_label (e.g.
 *   "status_code"), w->split holds the kept rows' HTTP deltas by that
 *   label's value. 0, -EINVAL (err says why) or -ENOMEM. window_free()
 *   accepts a zeroed window.
 *
 *   cgroup_best_name() writes the name a person knows a cgroup by: the
 *   pod (namespace/pod/container) or container labels when the page has
 *   them, a container's short id ("ctr:0123456789ab") for its own cgroup,
 *   a systemd unit (the last path element ending in .service, .scope,
 *   .slice or .socket), else the path. A row's name has control bytes
 *   replaced by '?' (it is shown on a terminal); its path is kept as is.
 */
#define WINDOW_MAX_BOUNDS EXPO_PARSE_MAX_BOUNDS

#define CPU_FAMILY	 "hostmon_cgroup_cpu_seconds_total"
#define WAIT_FAMILY	 "hostmon_cgroup_cpu_runqueue_wait_seconds_total"
#define THROTTLED_FAMILY "hostmon_cgroup_cpu_throttled_seconds_total"
#define LIMIT_FAMILY	 "hostmon_cgroup_cpu_limit_cores"
#define WSS_FAMILY	 "hostmon_cgroup_memory_working_set_bytes"
#define MEM_LIMIT_FAMILY "hostmon_cgroup_memory_limit_bytes"
#define OOM_FAMILY	 "hostmon_cgroup_oom_kills_total"
#define PHP_SAT_FAMILY	 "hostmon_phpfpm_saturated_seconds_total"
#define HTTP_FAMILY	 "hostmon_http_server_request_duration_seconds"
#define TARGETS_GAUGE	 "hostmon_http_latency_target_processes"
#define ELU_FAMILY	 "hostmon_nodejs_eventloop_utilization"

struct latency {
	uint64_t buckets[WINDOW_MAX_BOUNDS + 1]; /* deltas, NON-cumulative */
	uint64_t count, errors_5xx;
	double sum;
};

/* p50/p90/p99; beyond: past the last bound (the value is that bound, shown as ">10s") */
struct quantiles {
	double p50, p90, p99;
	bool beyond50, beyond90, beyond99;
};

struct cgroup_row {
	char *path, *name;
	bool has_cpu, has_limit, has_throttled;
	double cpu_seconds, wait_seconds, throttled_seconds; /* deltas */
	double limit_cores;
	/* memory (cgroup_saturation): working set and limit now, OOM kills in the window */
	bool has_wss, has_mem_limit, has_oom;
	double wss_bytes, mem_limit_bytes, oom_kills;
	/* PHP-FPM (http_latency): time every worker of a pool was busy, summed over its pools */
	bool has_php;
	double php_saturated_seconds;
	/* node's event loops (nodejs_eventloop): busy share, as the daemon's latest window says */
	bool has_elu;
	double eventloop_utilization;
	struct latency http;
	/* derived by window_compute(); NaN where there is nothing to show */
	/* wait per task-second of demand: of each second its tasks were runnable (running or
	 * queued), the ms they spent queued; not diluted by threads that slept */
	double wait_ms_per_task_s;
	double cores, limit_ratio, throttled_ratio, wait_ms_per_s, mem_limit_ratio;
	double req_per_s, error_ratio;
	double php_saturated_ratio;
	struct quantiles q;
	unsigned unusual; /* enum unusual bits, set by the caller */
};

struct split_row {
	char *value;
	struct latency http;
};

struct window {
	double seconds;
	size_t nbounds;
	double bounds[WINDOW_MAX_BOUNDS];
	struct cgroup_row *rows;
	size_t nrows, cap;
	struct split_row *split;
	size_t nsplit, split_cap;
	bool has_host;
	double host_cores;
	double http_targets; /* NaN when the page has no http_latency collector */
	bool has_cpu_family, has_http_family;
};

struct window_filter {
	bool active;
	regex_t re;
};

int window_compute(struct window *w, const struct metric_snapshot *before,
		   const struct metric_snapshot *after, double seconds,
		   const struct window_filter *filter, const char *split_label, char *err,
		   size_t errlen);
void window_free(struct window *w);
bool window_filter_pass(const struct window_filter *f, const struct cgroup_row *r);

void cgroup_best_name(const char *path, const char *container_id, const char *pod,
		      const char *container, const char *ns, char *out, size_t len);

/* The quantiles of a merged latency (NaN without requests). */
void latency_quantiles(const struct window *w, const struct latency *l, struct quantiles *q);

#endif
