/* cgroup/settings.c — the option rows of the cgroup naming shared by the per-cgroup collectors. */
#include "cgroup/settings.h"

#include <stddef.h>

static const struct option_def rows[] = {
	{ "cgroup-refresh-interval", OPT_DURATION,
	  offsetof(struct cgroup_settings, refresh_interval_ms), "10s", 100, 3600000, "DURATION",
	  "rescan of the cgroup hierarchy to forget removed cgroups" },
	{ "docker-data-root", OPT_STRING, offsetof(struct cgroup_settings, docker_data_root),
	  "/var/lib/docker", 0, 0, "DIR",
	  "docker's data root: containers/<id>/config.v2.json gives the container label" },
	{ "kubelet-log-dir", OPT_STRING, offsetof(struct cgroup_settings, kubelet_log_dir),
	  "/var/log", 0, 0, "DIR",
	  "the kubelet's log root: pods/ and containers/ give the pod, namespace and container "
	  "labels" },
};

const struct option_group cgroup_option_group = {
	.title = "cgroups (shared by cgroup_cpu and http_latency)",
	.options = rows,
	.noptions = sizeof(rows) / sizeof(rows[0]),
};
