// SPDX-License-Identifier: GPL-2.0
/* http_latency/http_latency.bpf.c — HTTP request latency of node and PHP servers, as histograms
 * built in the kernel. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "http_latency.h"
#include "lib/counters.bpf.h"
#include "maps.bpf.h"
#include "peek.bpf.h"
#include "php.bpf.h"
#include "skb.bpf.h"
#include "syscalls.bpf.h"
#include "targets.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Data path: sched_process_exec/fork/exit keep the `targets` map (tgid ->
 * runtime, mode) in step with processes whose executable name matches.
 * HTTP-mode targets (node, nginx, ...) are measured on the wire: user space
 * attaches the cgroup_skb programs to the cgroups that hold them, and each
 * request is timed from its first byte reaching the socket to the
 * response's first byte leaving it (skb.bpf.h). PHP-FPM workers are timed
 * per worker: USDT probes (status from the FastCGI output) or FastCGI
 * records, both on the raw sys_enter/sys_exit hooks, which user space
 * attaches only while a PHP target exists; they look the current tgid up
 * first and leave at once for every other process. Each request adds to a
 * per-CPU histogram keyed by cgroup, route, runtime, method and status.
 * Nothing per request goes to userspace.
 */

/* ---- syscall hooks ---- */

static __always_inline int on_enter(struct pt_regs *regs, long id, int direct)
{
	if (!is_read(id) && !is_write(id))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct http_target *t = current_target(tgid);
	if (!t || t->mode == HTTP_MODE_HTTP)
		return 0; /* HTTP mode is measured by the cgroup_skb programs */

	__u32 fd = (__u32)arg_of(regs, 1, direct);
	__u64 arg2 = arg_of(regs, 2, direct);
	if (is_read(id)) {
		if (t->mode == HTTP_MODE_PHP_USDT)
			return 0; /* USDT mode needs only the worker's writes */
		struct read_args *a = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0,
							   BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!a)
			return 0;
		a->ptr = arg2;
		a->fd = fd;
		a->kind = id == NR_READV ? READ_IOV : id == NR_RECVMSG ? READ_MSG : READ_BUF;
		a->mode = t->mode;
		a->pending = 1;
		return 0;
	}
	__u64 p = arg2, len = arg_of(regs, 3, direct);
	if (id == NR_WRITEV)
		p = first_iov(arg2, &len);
	else if (id == NR_SENDMSG)
		p = msg_first_iov(arg2, &len);
	php_on_write(t, pid_tgid, fd, p, len);
	return 0;
}

static __always_inline int on_exit(long id, long ret)
{
	if (!is_read(id))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (!maybe_target(tgid))
		return 0;
	/* only a target's sys_enter stored arguments: no second lookup of the target */
	struct read_args *ap = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0, 0);
	if (!ap || !ap->pending)
		return 0;
	struct read_args a = *ap;
	ap->pending = 0;
	if (ret <= 0)
		return 0;

	__u64 p = a.ptr, len = (__u64)ret;
	if (a.kind != READ_BUF) {
		__u64 first = 0;
		p = a.kind == READ_IOV ? first_iov(a.ptr, &first) : msg_first_iov(a.ptr, &first);
		if (first < len)
			len = first;
	}
	__u8 b[HTTP_PEEK] = {};
	__u32 n = peek(b, p, len);
	if (a.mode == HTTP_MODE_PHP_FCGI)
		php_on_read(pid_tgid, a.fd, b, n, p, len);
	return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(http_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(regs, id, 1);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(http_sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_enter(regs, id, 0);
}

/* tp_btf: regs is a BTF pointer, read directly; raw_tp: through a probe read */
SEC("tp_btf/sys_exit")
int BPF_PROG(http_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit((long)SYSCALL_NR(regs), ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(http_sys_exit_raw, struct pt_regs *regs, long ret)
{
	struct pt_regs *r = regs;
	return on_exit((long)BPF_CORE_READ(r, SYSCALL_NR_FIELD), ret);
}

/* ---- HTTP mode: the targets' cgroups (attached by user space) ---- */

SEC("cgroup_skb/ingress")
int http_skb_ingress(struct __sk_buff *skb)
{
	skb_ingress(skb);
	return 1; /* observe only: every packet passes */
}

SEC("cgroup_skb/egress")
int http_skb_egress(struct __sk_buff *skb)
{
	skb_egress(skb);
	return 1;
}

/* ---- PHP USDT ---- */

SEC("usdt")
int BPF_USDT(php_request_startup, void *file, void *uri, void *method)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct http_target *t = current_target(tgid);
	if (!t || t->mode != HTTP_MODE_PHP_USDT)
		return 0;
	struct http_php_req r = { .start_ns = bpf_ktime_get_ns(),
				  .method = (__u8)php_method((__u64)method),
				  .route = php_route((__u64)uri) };
	if (bpf_map_update_elem(&php_reqs, &id, &r, BPF_ANY))
		counter_inc(&http_counters, HTTP_UNPAIRED_STATE_FULL);
	return 0;
}

SEC("usdt")
int BPF_USDT(php_request_shutdown, void *file, void *uri, void *method)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct http_target *t = bpf_map_lookup_elem(&targets, &tgid);
	if (!t || t->mode != HTTP_MODE_PHP_USDT)
		return 0;
	struct http_php_req *r = bpf_map_lookup_elem(&php_reqs, &id);
	if (!r) {
		counter_inc(&http_counters, HTTP_UNPAIRED_NO_START);
		return 0;
	}
	php_end(t, id, r);
	return 0;
}

/* ---- targets: exec, fork, exit ---- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(http_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(p, bprm);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(http_exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(p, bprm);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(http_fork, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(http_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(http_exit, struct task_struct *p)
{
	on_process_exit(p);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(http_exit_raw, struct task_struct *p)
{
	on_process_exit(p);
	return 0;
}
