/* cgroup_cpu/settings.h — the cgroup_cpu collector's settings: map size, export limits. */
#ifndef HOSTMON_CGROUP_CPU_SETTINGS_H
#define HOSTMON_CGROUP_CPU_SETTINGS_H

#include <stdint.h>

#include "cgroup/settings.h"
#include "cgroup/view.h"
#include "config/options.h"

struct cgroup_cpu_settings {
	uint64_t max_cgroups; /* kernel map size */
	uint64_t max_series;  /* exported cgroups per scrape */
	uint64_t max_depth;   /* 0: any depth */
	char *include;	      /* POSIX extended regex on the cgroup path, or NULL */
	char *exclude;
};

extern const struct option_group cgroup_cpu_option_group;

/* The view every per-cgroup collector keeps: the shared cgroup settings and these caps, so every
 * per-cgroup family exports the same cgroups. */
struct cg_view_settings cgroup_view_settings(const struct cgroup_settings *cgroup,
					     const struct cgroup_cpu_settings *caps);

#endif
