// SPDX-License-Identifier: GPL-2.0
/* cgroup_cpu/cgroup_cpu.bpf.c — charges CPU time and run-queue wait to cgroups from the scheduler's
 * own per-task totals, read when the collector asks and when a task moves or is freed; nothing
 * runs on the scheduler's hot path.
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
/* Set before load: tasks started before this (CLOCK_MONOTONIC ns) have an unknown history. */
const volatile __u64 attach_time_ns = 0;

/*
 * What was already charged for a task: its scheduler totals and cgroup when last charged. The
 * lock serialises the three places that charge a task (the collector's walk, a cgroup move, the
 * task's release), so a delta is taken once however they interleave.
 */
struct task_seen {
	struct bpf_spin_lock lock;
	__u32 known; /* 0 until the first charge set the baseline */
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

/* One value per cgroup shared by all CPUs: charges are rare (per walk, move, release), so the
 * map's size does not grow with the CPU count and atomic adds cost nothing that matters. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
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

/* A new cgroup's first value: in .rodata, written only when a cgroup is first charged. */
static const struct cpu_cgroup_stats cgroup_cpu_zero = {};

/*
 * The cgroup a task is charged to. Fields are read by direct dereference of
 * BTF-typed pointers (CO-RE relocated through vmlinux.h's preserve_access_index).
 */
static __always_inline struct cgroup *task_cgroup(struct task_struct *task)
{
	if (key_by_v1_cpuacct) {
		/* CO-RE: the enum value differs between kernels and may not exist at all */
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, cpuacct_cgrp_id)) {
			int id = bpf_core_enum_value(enum cgroup_subsys_id, cpuacct_cgrp_id);
			return task->cgroups->subsys[id]->cgroup;
		}
		return NULL;
	}
	return task->cgroups->dfl_cgrp;
}

static __always_inline __u64 task_run_delay(struct task_struct *task)
{
	/* sched_info exists with CONFIG_SCHED_INFO; without it run-queue wait stays 0 */
	if (bpf_core_field_exists(task->sched_info))
		return task->sched_info.run_delay;
	return 0;
}

/*
 * Adds a charge to a cgroup's entry, made on first use when may_create. A cgroup being removed
 * gets no new entry: the collector takes a removed cgroup's final values and deletes its entry,
 * and a task released after that must not leave behind an entry nobody deletes.
 */
static __always_inline void charge_cgroup(__u64 cgid, bool may_create, __u64 cpu_delta,
					  __u64 wait_delta)
{
	struct cpu_cgroup_stats *stats;

	if (!cgid || (!cpu_delta && !wait_delta))
		return;
	stats = may_create ? map_lookup_or_try_init(&cgroup_cpu, &cgid, &cgroup_cpu_zero)
			   : bpf_map_lookup_elem(&cgroup_cpu, &cgid);
	if (!stats) {
		if (may_create)
			counter_inc(&cpu_counters, CPU_COUNTER_MAP_FULL);
		return;
	}
	/* shared by all CPUs: a walk, a move and a release may charge one cgroup at once */
	__sync_fetch_and_add(&stats->cpu_ns, cpu_delta);
	__sync_fetch_and_add(&stats->runq_wait_ns, wait_delta);
}

/*
 * Charges the growth of the task's own scheduler totals since it was last
 * charged. sum_exec_runtime is what cpu.stat usage_usec sums, so the numbers
 * match the kernel's exactly; sched_info.run_delay is the run-queue wait
 * /proc/PID/schedstat shows. to_previous charges the cgroup the task was in
 * when last charged: used when the task has just been moved, so time used
 * before the move stays there. create: give the task storage on first sight
 * (not for a task being freed: its storage goes with it).
 */
static __always_inline void charge_task(struct task_struct *task, bool to_previous, bool create)
{
	struct task_seen *seen;
	struct cgroup *cgrp;
	__u64 runtime, delay, cpu_delta, wait_delta, cgid, charged_cgid;
	bool older = task->start_time < attach_time_ns, may_create;

	if (task->pid == 0) /* an idle task is not CPU use */
		return;
	runtime = task->se.sum_exec_runtime;
	delay = task_run_delay(task);
	cgrp = task_cgroup(task);
	if (!cgrp)
		return;
	cgid = cgrp->kn->id;
	may_create = cgrp->self.flags & CSS_ONLINE; /* cleared when the cgroup is removed */
	seen = bpf_task_storage_get(&task_seen, task, 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
	if (!seen) {
		if (create) {
			counter_inc(&cpu_counters, CPU_COUNTER_TASK_STORAGE_FAIL);
			return;
		}
		/* released without ever being charged: all of its life is ours if it began after us
		 */
		if (!older)
			charge_cgroup(cgid, may_create, runtime, delay);
		return;
	}
	/* most tasks did not run since the last walk: nothing to charge, no lock to take (an
	 * unlocked look is enough, since a racing charge only ever moves the baseline forward) */
	if (seen->known && seen->sum_exec_runtime == runtime && seen->run_delay == delay &&
	    seen->cgroup_id == cgid)
		return;
	bpf_spin_lock(&seen->lock);
	if (!seen->known && older) {
		/* first sight of a task older than us: its history before attach is not ours */
		cpu_delta = wait_delta = 0;
	} else {
		cpu_delta = runtime > seen->sum_exec_runtime ? runtime - seen->sum_exec_runtime : 0;
		wait_delta = delay > seen->run_delay ? delay - seen->run_delay : 0;
	}
	charged_cgid = cgid;
	if (to_previous && seen->known && seen->cgroup_id) {
		/* the cgroup it leaves is alive: the move happened while the task was in it */
		charged_cgid = seen->cgroup_id;
		may_create = true;
	}
	seen->known = 1;
	if (runtime > seen->sum_exec_runtime)
		seen->sum_exec_runtime = runtime;
	if (delay > seen->run_delay)
		seen->run_delay = delay;
	seen->cgroup_id = cgid;
	bpf_spin_unlock(&seen->lock);
	charge_cgroup(charged_cgid, may_create, cpu_delta, wait_delta);
}

/* The collector's walk: every task's growth since its last charge, just before the map is read. */
SEC("iter/task")
int cpu_charge_tasks(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;

	if (task)
		charge_task(task, false, true);
	return 0;
}

/* A task moved to another cgroup: what it used up to now goes to the one it leaves. */
SEC("tp_btf/cgroup_attach_task")
int BPF_PROG(cpu_cgroup_attach, struct cgroup *dst_cgrp, const char *path, struct task_struct *task,
	     bool threadgroup)
{
	charge_task(task, true, true);
	return 0;
}

/* A task's last charge, when its memory is released: the time since the last walk is not lost. */
SEC("tp_btf/sched_process_free")
int BPF_PROG(cpu_task_free, struct task_struct *task)
{
	charge_task(task, false, false);
	return 0;
}
