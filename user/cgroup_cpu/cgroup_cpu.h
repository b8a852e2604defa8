/* cgroup_cpu/cgroup_cpu.h — the per-cgroup CPU collector (kernel side:
 * bpf/cgroup_cpu/cgroup_cpu.bpf.c). */
#ifndef HOSTMON_CGROUP_CPU_CGROUP_CPU_H
#define HOSTMON_CGROUP_CPU_CGROUP_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "core/collector.h"

extern const struct collector_ops cgroup_cpu_collector_ops;

/*
 * API for the restart controller, through the typed handle of a running
 * cgroup_cpu collector (same thread as the collector):
 *   cgroup_cpu_running() is that handle when the set has a started cgroup_cpu
 *   collector, else NULL.
 *   cgroup_cpu_usage() reads the kernel map now and gives the CPU time of
 *   the cgroup at path (relative to the hierarchy root, as in the metric's
 *   cgroup label) and its descendants since hostmon started, the cgroup's
 *   id, and its CPU limit in cores (0: none). 0, -ENOENT when there is no
 *   such cgroup, or -errno.
 *   cgroup_cpu_find() finds the cgroup whose directory is named name
 *   (a systemd unit such as php8.2-fpm.service), the shallowest first, and
 *   writes its path. 0 or -ENOENT.
 *   cgroup_cpu_root() is the directory of the hierarchy the paths are in.
 */
struct cgroup_cpu;

struct cgroup_cpu_usage {
	uint64_t id;
	uint64_t cpu_ns;
	double limit_cores;
};

struct cgroup_cpu *cgroup_cpu_running(const struct collector_set *set);
int cgroup_cpu_usage(struct cgroup_cpu *cpu, const char *path, struct cgroup_cpu_usage *out);
int cgroup_cpu_find(struct cgroup_cpu *cpu, const char *name, char *path, size_t len);
const char *cgroup_cpu_root(const struct cgroup_cpu *cpu);

#endif
