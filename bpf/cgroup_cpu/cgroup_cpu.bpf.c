// SPDX-License-Identifier: GPL-2.0
/* cgroup_cpu/cgroup_cpu.bpf.c — charges CPU time and run-queue wait to cgroups from the scheduler's
 * own accounting.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cgroup_cpu.h"
#include "lib/counters.bpf.h"
#include "lib/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set before load: key by the cpuacct v1 hierarchy's cgroup when no cgroup2 is mounted. */
const volatile bool key_by_v1_cpuacct = false;
/* Set before attach: tasks started before this (CLOCK_MONOTONIC ns) have an unknown history. */
const volatile __u64 attach_time_ns = 0;

/* What was already charged for a task: its scheduler totals and cgroup when last seen. */
struct task_seen {
	__u64 sum_exec_runtime;
	__u64 run_delay;
	__u64 cgroup_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct task_seen);
} task_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, CPU_DEFAULT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct cpu_cgroup_stats);
} cgroup_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CPU_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} cpu_counters SEC(".maps");

/* A new cgroup's first value. In .rodata, not on the stack: a stack copy would be written on every
 * charge, where only the first charge of a cgroup needs it. */
static const struct cpu_cgroup_stats cgroup_cpu_zero = {};

/*
 * Fields are read by direct dereference of the BTF-typed current task (CO-RE
 * relocated through vmlinux.h's preserve_access_index): on the hottest hook in
 * the kernel this avoids one bpf_probe_read_kernel call per pointer hop.
 */
static __always_inline __u64 task_cgroup_id(struct task_struct *task)
{
	if (key_by_v1_cpuacct) {
		/* CO-RE: the enum value differs between kernels and may not exist at all */
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuacct_cgrp_id)) {
			int id = bpf_core_enum_value(enum cgroup_subsys_id, cpuacct_cgrp_id);
			return task->cgroups->subsys[id]->cgroup->kn->id;
		}
		return 0;
	}
	return task->cgroups->dfl_cgrp->kn->id;
}

static __always_inline __u64 task_run_delay(struct task_struct *task)
{
	/* sched_info exists with CONFIG_SCHED_INFO; without it run-queue wait stays 0 */
	if (bpf_core_field_exists(task->sched_info))
		return task->sched_info.run_delay;
	return 0;
}

/*
 * Charges the growth of the task's own scheduler totals since it was last
 * seen. sum_exec_runtime is what cpu.stat usage_usec sums, so the numbers
 * match the kernel's exactly (wall-clock deltas drift under steal time);
 * sched_info.run_delay is the run-queue wait /proc/PID/schedstat shows.
 * to_previous charges the cgroup the task was in when last seen: used when
 * the task has just been moved, so time used before the move stays there.
 */
static __always_inline void charge_task(struct task_struct *task, bool to_previous)
{
	struct task_seen *seen;
	struct cpu_cgroup_stats *stats;
	__u64 runtime, delay, cpu_delta, wait_delta, cgid, now_cgid;

	if (!task || task->pid == 0) /* the idle task is not CPU use */
		return;
	seen = bpf_task_storage_get(&task_seen, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!seen) {
		counter_inc(&cpu_counters, CPU_COUNTER_TASK_STORAGE_FAIL);
		return;
	}
	runtime = task->se.sum_exec_runtime;
	delay = task_run_delay(task);
	now_cgid = task_cgroup_id(task);
	if (seen->sum_exec_runtime == 0 && seen->run_delay == 0 &&
	    task->start_time < attach_time_ns) {
		/* first sight of a task older than us: its history before attach is not ours */
		seen->sum_exec_runtime = runtime;
		seen->run_delay = delay;
		seen->cgroup_id = now_cgid;
		return;
	}
	cpu_delta = runtime > seen->sum_exec_runtime ? runtime - seen->sum_exec_runtime : 0;
	wait_delta = delay > seen->run_delay ? delay - seen->run_delay : 0;
	cgid = to_previous && seen->cgroup_id ? seen->cgroup_id : now_cgid;
	seen->sum_exec_runtime = runtime;
	seen->run_delay = delay;
	seen->cgroup_id = now_cgid;
	if (!cpu_delta && !wait_delta)
		return;

	stats = map_lookup_or_try_init(&cgroup_cpu, &cgid, &cgroup_cpu_zero);
	if (!stats) {
		counter_inc(&cpu_counters, CPU_COUNTER_MAP_FULL);
		return;
	}
	/* per-CPU values: no other CPU writes this copy */
	stats->cpu_ns += cpu_delta;
	stats->runq_wait_ns += wait_delta;
}

/* At sched_switch the outgoing task is still current, so both twins use the BTF current task. */
SEC("tp_btf/sched_switch")
int BPF_PROG(cpu_switch_btf)
{
	charge_task(bpf_get_current_task_btf(), false);
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(cpu_switch_raw)
{
	charge_task(bpf_get_current_task_btf(), false);
	return 0;
}

/* A task alone on a CPU may not switch for seconds: a low-rate per-CPU clock charges it too. */
SEC("perf_event")
int cpu_tick(struct bpf_perf_event_data *ctx)
{
	charge_task(bpf_get_current_task_btf(), false);
	return 0;
}

/*
 * A task moved to another cgroup: charge what it used up to now to the one it
 * leaves. Only the tp_btf form gives the task as a BTF pointer (task storage
 * needs one); with the raw_tp twin such time goes to the new cgroup.
 */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(cpu_cgroup_attach, struct cgroup *dst_cgrp, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	charge_task(task, true);
	return 0;
}
