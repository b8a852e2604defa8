/* cgroup_cpu/settings.c — the option rows of the cgroup_cpu collector. */
#include "cgroup_cpu/settings.h"

#include <stddef.h>

#define OFF(field) offsetof(struct cgroup_cpu_settings, field)

static const struct option_def rows[] = {
	{ "cpu-max-cgroups", OPT_U64, OFF(max_cgroups), "16384", 64, 1u << 22, "N",
	  "cgroups the kernel map holds; charges beyond it are counted as dropped" },
	{ "cpu-max-series", OPT_U64, OFF(max_series), "10000", 1, 1u << 24, "N",
	  "cgroups exported per scrape, shallowest first; the rest are counted" },
	{ "cpu-max-depth", OPT_U64, OFF(max_depth), "0", 0, 64, "N",
	  "export cgroups at most this deep (/system.slice is 1); 0 means any depth" },
	{ "cpu-include", OPT_REGEX, OFF(include), NULL, 0, 0, "REGEX",
	  "export only cgroups whose path matches (POSIX extended regex)" },
	{ "cpu-exclude", OPT_REGEX, OFF(exclude), NULL, 0, 0, "REGEX",
	  "do not export cgroups whose path matches" },
};

const struct option_group cgroup_cpu_option_group = {
	.title = "cgroup_cpu collector (CPU per cgroup; the caps bound every per-cgroup collector)",
	.options = rows,
	.noptions = sizeof(rows) / sizeof(rows[0]),
};

struct cg_view_settings cgroup_view_settings(const struct cgroup_settings *cgroup,
					     const struct cgroup_cpu_settings *caps)
{
	return (struct cg_view_settings){
		.max_series = caps->max_series,
		.max_depth = caps->max_depth,
		.include = caps->include,
		.exclude = caps->exclude,
		.refresh_ms = cgroup->refresh_interval_ms,
		.docker_root = cgroup->docker_data_root,
		.kubelet_logs = cgroup->kubelet_log_dir,
	};
}
