/* http_latency/targets.bpf.h — which processes are targets: exec of a configured executable name,
 * fork of a target, exit. Part of bpf/http_latency/http_latency.bpf.c (uses its maps and helpers).
 */
#ifndef HOSTMON_BPF_HTTP_LATENCY_TARGETS_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_TARGETS_BPF_H

/* Which configured name matches the executable's file name at kernel address filename. */
static __always_inline int match_name(const char *filename)
{
	char path[64] = {};
	long n = bpf_probe_read_kernel_str(path, sizeof(path), filename);
	if (n <= 0)
		return -1;
	__u32 base = 0;
	for (__u32 i = 0; i < sizeof(path); i++) {
		if (path[i] == '\0')
			break;
		if (path[i] == '/')
			base = i + 1;
	}
	for (__u32 k = 0; k < HTTP_MAX_NAMES; k++) {
		if (k >= ntargets_names)
			break;
		int match = 1;
		for (__u32 j = 0; j < HTTP_NAME_LEN; j++) {
			char want = target_names[k][j];
			__u32 at = base + j;
			char have = at < sizeof(path) ? path[at & (sizeof(path) - 1)] : 0;
			if (want == '\0') {
				match = have == '\0' || target_prefix[k];
				break;
			}
			if (have != want) {
				match = 0;
				break;
			}
		}
		if (match)
			return (int)k;
	}
	return -1;
}

static __always_inline void on_exec(struct task_struct *p, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	int k = match_name(BPF_CORE_READ(bprm, filename));
	if (k < 0 || k >= HTTP_MAX_NAMES) {
		if (bpf_map_delete_elem(&targets, &tgid) == 0) {
			set_target_bit(tgid, 0);
			emit(tgid, HTTP_EVENT_EXIT, 0); /* a target became another program */
		}
		return;
	}
	struct http_target t = { .runtime = target_runtime[k], .mode = target_mode[k] };
	if (bpf_map_update_elem(&targets, &tgid, &t, BPF_ANY)) {
		count(HTTP_COUNTER_TARGETS_FULL);
		return;
	}
	set_target_bit(tgid, 1);
	emit(tgid, HTTP_EVENT_NEW, t.runtime);
}

static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	if (ctgid == ptgid)
		return; /* a new thread, not a new process */
	struct http_target *t = bpf_map_lookup_elem(&targets, &ptgid);
	if (!t)
		return;
	struct http_target copy = *t;
	if (bpf_map_update_elem(&targets, &ctgid, &copy, BPF_ANY)) {
		count(HTTP_COUNTER_TARGETS_FULL);
		return;
	}
	set_target_bit(ctgid, 1);
	emit(ctgid, HTTP_EVENT_NEW, copy.runtime);
}

static __always_inline void on_process_exit(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid), tgid = BPF_CORE_READ(p, tgid);
	if (pid != tgid)
		return;
	if (bpf_map_delete_elem(&targets, &tgid) == 0) {
		set_target_bit(tgid, 0);
		emit(tgid, HTTP_EVENT_EXIT, 0);
	}
}

#endif
