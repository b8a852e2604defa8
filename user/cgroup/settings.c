/* cgroup/settings.c — the option rows of the cgroup naming shared by the per-cgroup collectors. */
#include "cgroup/settings.h"

#include <stddef.h>

static const struct option_def rows[] = {
	{ "cgroup-refresh-interval", OPT_DURATION,
	  offsetof(struct cgroup_settings, refresh_interval_ms), "10s", 100, 3600000, "DURATION",
	  "rescan of the cgroup hierarchy to forget removed cgroups" },
};

const struct option_group cgroup_option_group = {
	.title = "cgroups (shared by cgroup_cpu and http_latency)",
	.options = rows,
	.noptions = sizeof(rows) / sizeof(rows[0]),
};
