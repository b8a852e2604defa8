// SPDX-License-Identifier: GPL-2.0
/* cgroup_saturation/cgroup_saturation.bpf.c — counts OOM kills at the victim, in the cgroup the
 * victim was in, so the count outlives the victim and its cgroup's own files. Runs only when the
 * OOM killer picks a victim (or, on kernels whose tracepoint names only a pid, when a process
 * exits). */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cgroup_saturation.h"
#include "lib/counters.bpf.h"
#include "lib/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* Set before load: key by the memory v1 hierarchy's cgroup when no cgroup2 is mounted. */
const volatile bool key_by_v1_memory = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SAT_DEFAULT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, __u64);
} oom_kills SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SAT_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} sat_counters SEC(".maps");

/* A process, by what pid reuse cannot repeat: its tgid and its leader's start time. */
struct process_key {
	__u32 tgid;
	__u32 pad;
	__u64 start_time;
};

/* Victims already counted by the exit fallback: two threads of one victim may both see the group
 * dead. Touched only for OOM victims. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 256);
	__type(key, struct process_key);
	__type(value, __u8);
} oom_counted SEC(".maps");

static const __u64 zero;

static __always_inline struct cgroup *victim_cgroup(struct task_struct *task)
{
	if (key_by_v1_memory) {
		/* CO-RE: the enum value differs between kernels and may not exist at all */
		if (bpf_core_enum_value_exists(enum cgroup_subsys_id, memory_cgrp_id)) {
			int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
			return task->cgroups->subsys[id]->cgroup;
		}
		return NULL;
	}
	return task->cgroups->dfl_cgrp;
}

static __always_inline void count_oom_kill(struct task_struct *task)
{
	struct cgroup *cgrp = victim_cgroup(task);
	__u64 cgid, *kills;

	if (!cgrp)
		return;
	cgid = cgrp->kn->id;
	kills = map_lookup_or_try_init(&oom_kills, &cgid, &zero);
	if (!kills) {
		counter_inc(&sat_counters, SAT_COUNTER_MAP_FULL);
		return;
	}
	__sync_fetch_and_add(kills, 1);
}

/* The OOM killer marked its victim (once per victim, as the kernel's own oom_kill counts):
 * kernels whose tracepoint passes the victim's task_struct. */
SEC("tp_btf/mark_victim")
int BPF_PROG(sat_oom_victim, struct task_struct *task)
{
	count_oom_kill(task);
	return 0;
}

/*
 * Kernels whose mark_victim passes only a pid (older ones; Debian 12's 6.1.192 passes the task):
 * the victim is known at its exit instead, by the OOM mark on its signal_struct (oom_mm, set only
 * by mark_oom_victim), when its last thread exits (live already dropped to 0 when
 * sched_process_exit fires).
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(sat_oom_victim_exit, struct task_struct *task)
{
	struct signal_struct *sig = task->signal;
	struct process_key key = {};
	__u8 one = 1;

	if (!sig || !sig->oom_mm || sig->live.counter)
		return 0;
	key.tgid = task->tgid;
	key.start_time = task->group_leader->start_time;
	if (bpf_map_update_elem(&oom_counted, &key, &one, BPF_NOEXIST))
		return 0; /* another thread of this victim counted it */
	count_oom_kill(task);
	return 0;
}
