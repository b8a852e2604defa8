/* cgroup/settings.h — settings of the cgroup naming shared by the per-cgroup collectors. */
#ifndef HOSTMON_CGROUP_SETTINGS_H
#define HOSTMON_CGROUP_SETTINGS_H

#include <stdint.h>

#include "config/options.h"

struct cgroup_settings {
	uint64_t refresh_interval_ms; /* rescan of the hierarchy for removed cgroups */
	char *docker_data_root;	      /* containers/<id>/config.v2.json name docker's containers */
	char *kubelet_log_dir; /* pods/ and containers/ name Kubernetes pods and containers */
};

extern const struct option_group cgroup_option_group;

#endif
