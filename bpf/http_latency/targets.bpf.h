/* http_latency/targets.bpf.h — which processes are targets: exec of a configured executable name,
 * fork of a target, exit. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_TARGETS_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_TARGETS_BPF_H

/*
 * API:
 *   maybe_target(tgid): 0 when tgid is certainly not a target (its bit in
 *     target_bits is clear), 1 when it may be one (the targets hash decides).
 *   current_target(tgid): the target entry of tgid, or NULL; the cheap test
 *     first.
 *   on_exec(p, bprm), on_fork(parent, child), on_process_exit(p): keep
 *     targets and target_bits in step with the processes, and tell user
 *     space through http_events (struct http_event). p, parent and child
 *     are tp_btf's BTF pointers, read directly (CO-RE relocated).
 *     on_exec returns 1 when a target became another program.
 */

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "lib/counters.bpf.h"
#include "lib/exec_name.bpf.h"
#include "lib/pid_bits.bpf.h"
#include "maps.bpf.h"
#include "settings.bpf.h"

_Static_assert(HTTP_MAX_NAMES == EXEC_MAX_NAMES && HTTP_NAME_LEN == EXEC_NAME_LEN,
	       "the settings' name arrays are what exec_name_match() reads");

static __always_inline int maybe_target(__u32 tgid)
{
	return pid_bit_maybe(&target_bits, tgid);
}

static __always_inline void set_target_bit(__u32 tgid, int on)
{
	__u32 word = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(&target_bits, &word);
	if (!w)
		return;
	if (on)
		__sync_fetch_and_or(w, 1ull << (tgid & 63));
	else
		__sync_fetch_and_and(w, ~(1ull << (tgid & 63)));
}

static __always_inline struct http_target *current_target(__u32 tgid)
{
	if (!maybe_target(tgid))
		return NULL;
	return bpf_map_lookup_elem(&targets, &tgid);
}

static __always_inline void emit(__u32 tgid, __u8 kind, __u8 runtime)
{
	struct http_event *e = bpf_ringbuf_reserve(&http_events, sizeof(*e), 0);
	if (!e)
		return; /* userspace also rescans /proc periodically */
	e->tgid = tgid;
	e->kind = kind;
	e->runtime = runtime;
	e->pad[0] = e->pad[1] = 0;
	bpf_ringbuf_submit(e, 0);
}

/* Which configured name matches the new program's name, or -1 (lib/exec_name.bpf.h). */
static __always_inline int match_name(void)
{
	return exec_name_match(target_names, target_prefix, target_name_len, ntargets_names);
}

/* 1 when a target became another program (it is no target any more), else 0. */
static __always_inline int on_exec(struct task_struct *p, struct linux_binprm *bprm)
{
	__u32 tgid = p->tgid;
	int k = match_name();
	if (k < 0 || k >= HTTP_MAX_NAMES) {
		if (bpf_map_delete_elem(&targets, &tgid) == 0) {
			set_target_bit(tgid, 0);
			emit(tgid, HTTP_EVENT_EXIT, 0);
			return 1;
		}
		return 0;
	}
	struct http_target t = { .runtime = target_runtime[k], .mode = target_mode[k] };
	if (bpf_map_update_elem(&targets, &tgid, &t, BPF_ANY)) {
		counter_inc(&http_counters, HTTP_COUNTER_TARGETS_FULL);
		return 0;
	}
	set_target_bit(tgid, 1);
	emit(tgid, HTTP_EVENT_NEW, t.runtime);
	return 0;
}

static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	if (ctgid == ptgid)
		return; /* a new thread, not a new process */
	struct http_target *t = bpf_map_lookup_elem(&targets, &ptgid);
	if (!t)
		return;
	struct http_target copy = *t;
	if (bpf_map_update_elem(&targets, &ctgid, &copy, BPF_ANY)) {
		counter_inc(&http_counters, HTTP_COUNTER_TARGETS_FULL);
		return;
	}
	set_target_bit(ctgid, 1);
	emit(ctgid, HTTP_EVENT_NEW, copy.runtime);
}

static __always_inline void on_process_exit(struct task_struct *p)
{
	__u32 pid = p->pid, tgid = p->tgid;
	if (pid != tgid)
		return;
	if (bpf_map_delete_elem(&targets, &tgid) == 0) {
		set_target_bit(tgid, 0);
		emit(tgid, HTTP_EVENT_EXIT, 0);
	}
}

#endif
