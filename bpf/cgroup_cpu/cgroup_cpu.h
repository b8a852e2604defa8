/* cgroup_cpu/cgroup_cpu.h — structs and sizes shared by bpf/cgroup_cpu/cgroup_cpu.bpf.c and the CPU
 * collector. */
#ifndef HOSTMON_BPF_CGROUP_CPU_CGROUP_CPU_H
#define HOSTMON_BPF_CGROUP_CPU_CGROUP_CPU_H

/* The fixed-width types: vmlinux.h's in a BPF program, the UAPI ones in user space. */
#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/*
 * API:
 *   cgroup_cpu (per-CPU hash): cgroup id -> struct cpu_cgroup_stats, the
 *   nanoseconds of CPU time and of run-queue wait charged to tasks while
 *   they were members of that cgroup (not including descendants: the
 *   collector sums the tree). Its size is set by the collector before
 *   load; an update that finds it full is counted in cpu_counters.
 *   cpu_counters (per-CPU array, CPU_COUNTER_MAX slots): health counters.
 */

#define CPU_DEFAULT_MAX_CGROUPS 16384

struct cpu_cgroup_stats {
	__u64 cpu_ns;
	__u64 runq_wait_ns;
};

enum cpu_counter {
	CPU_COUNTER_MAP_FULL = 0,	   /* charges dropped: cgroup_cpu was full */
	CPU_COUNTER_TASK_STORAGE_FAIL = 1, /* charges dropped: no task storage */
	CPU_COUNTER_MAX = 2,
};

_Static_assert(sizeof(struct cpu_cgroup_stats) == 16, "cpu_cgroup_stats layout is shared");

#endif
