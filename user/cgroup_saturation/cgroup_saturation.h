/* cgroup_saturation/cgroup_saturation.h — the per-cgroup saturation collector: memory, OOM kills,
 * pressure stalls and I/O (kernel side: bpf/cgroup_saturation/cgroup_saturation.bpf.c). */
#ifndef HOSTMON_CGROUP_SATURATION_CGROUP_SATURATION_H
#define HOSTMON_CGROUP_SATURATION_CGROUP_SATURATION_H

#include "core/collector.h"

extern const struct collector_ops cgroup_saturation_collector_ops;

#endif
