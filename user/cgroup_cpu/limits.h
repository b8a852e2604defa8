/* cgroup_cpu/limits.h — CPU limits (quota/period) and throttled time read from a cgroup's own
 * files. */
#ifndef HOSTMON_CGROUP_CPU_LIMITS_H
#define HOSTMON_CGROUP_CPU_LIMITS_H

#include <stdint.h>

#include "cgroup/tree.h"

/*
 * API:
 *   cpu_limits_refresh() reads every node's limit: cgroup2 cpu.max under
 *   the tree's root, else the cgroup v1 cpu hierarchy (cpu.cfs_quota_us /
 *   cpu.cfs_period_us) at the same path under v1_cpu_dir (may be "").
 *   A node with a limit gets a struct cpu_limit in node->user; one without
 *   has NULL there. cpu_limits_read_throttled() reads the throttled time of
 *   a limited cgroup now (cgroup2 throttled_usec, v1 throttled_time), in ns.
 *   cpu_limits_parse_max() parses a cgroup2 cpu.max line (for tests).
 */
struct cpu_limit {
	double cores;
	char *stat_path;      /* the cpu.stat holding the throttled time */
	uint64_t ns_per_unit; /* 1000 for throttled_usec, 1 for throttled_time */
	const char *stat_key;
};

void cpu_limits_refresh(struct cg_tree *t, const char *v1_cpu_dir);
int cpu_limits_read_throttled(const struct cpu_limit *l, uint64_t *ns);
int cpu_limits_parse_max(const char *text, double *cores); /* 0, -ENOENT for "max", -EINVAL */
void cpu_limits_free(struct cpu_limit *l);
void cpu_limits_free_tree(struct cg_tree *t);

#endif
