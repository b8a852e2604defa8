/* cgroup_saturation/cgroup_saturation.h — structs and sizes shared by
 * bpf/cgroup_saturation/cgroup_saturation.bpf.c and the saturation collector. */
#ifndef HOSTMON_BPF_CGROUP_SATURATION_CGROUP_SATURATION_H
#define HOSTMON_BPF_CGROUP_SATURATION_CGROUP_SATURATION_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/*
 * API:
 *   oom_kills (hash shared by all CPUs): cgroup id -> __u64, the processes
 *   the OOM killer chose as victims while they were members of that cgroup
 *   (not including descendants: the collector sums the tree). Its size is
 *   set by the collector before load; a kill that finds it full is counted
 *   in sat_counters.
 *   sat_counters (per-CPU array, SAT_COUNTER_MAX slots): health counters.
 */

#define SAT_DEFAULT_MAX_CGROUPS 16384

enum sat_counter {
	SAT_COUNTER_MAP_FULL = 0, /* OOM kills not counted: oom_kills was full */
	SAT_COUNTER_MAX = 1,
};

#endif
