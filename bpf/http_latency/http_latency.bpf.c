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
#include "php_sock.bpf.h"
#include "php_sock_length.bpf.h"
#include "php_syscalls.bpf.h"
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
 * records, both seen on the hooks of one tier (fentry/fexit on the socket
 * read/write path where the kernel has them, else the socket length
 * tracepoints, else raw sys_enter/sys_exit),
 * which user space attaches only while a PHP target exists; they look the
 * current tgid up first and leave at once for every other process
 * (php_io.bpf.h, php_sock.bpf.h, php_sock_length.bpf.h, php_syscalls.bpf.h). A
 * worker's request is its thread's task storage. Each request adds to a
 * histogram, shared by all CPUs, keyed by cgroup, route, runtime, method and
 * status.
 * Nothing per request goes to userspace.
 */

/* ---- PHP-FPM hooks: one tier of three, chosen by user space at load ---- */

/*
 * Tier "sock_iter", where the kernel has fentry/fexit: the socket read/write path that php-fpm's
 * FastCGI reads and writes take, so no other syscall of any process runs anything. Not loaded
 * unless user space asks ("?": autoload off), so kernels without fentry load the object too.
 */
SEC("?fentry/sock_read_iter")
int BPF_PROG(php_sock_read, struct kiocb *iocb, struct iov_iter *to)
{
	php_sock_read_start(iocb, to);
	return 0;
}

SEC("?fexit/sock_read_iter")
int BPF_PROG(php_sock_read_exit, struct kiocb *iocb, struct iov_iter *to, long ret)
{
	php_sock_read_end(ret);
	return 0;
}

SEC("?fentry/sock_write_iter")
int BPF_PROG(php_sock_write, struct kiocb *iocb, struct iov_iter *from)
{
	php_sock_write_start(iocb, from);
	return 0;
}

/*
 * Tier "sock_length", kernels without fentry that have the socket length tracepoints (6.3+): they
 * fire for every socket receive and send once it is done, so again no other syscall runs anything.
 * Not loaded unless user space asks: older kernels have no such tracepoints.
 */
SEC("?tp_btf/sock_recv_length")
int BPF_PROG(php_sock_recv, struct sock *sk, int ret, int flags)
{
	php_sock_recv_length(sk, ret, flags);
	return 0;
}

SEC("?tp_btf/sock_send_length")
int BPF_PROG(php_sock_send, struct sock *sk, int ret, int flags)
{
	php_sock_send_length(sk, ret);
	return 0;
}

/*
 * Tier "syscalls", every kernel the object loads on: raw sys_enter/sys_exit, which every process
 * pays the tracepoint's plumbing for while they are attached. tp_btf only: the object needs
 * kernel BTF and bpf_loop() (5.17) anyway, and every kernel with both has tp_btf; a raw_tp twin
 * would need the same kernel, so it would be no fallback. regs is a BTF pointer, read directly.
 */
SEC("tp_btf/sys_enter")
int BPF_PROG(http_sys_enter, struct pt_regs *regs, long id)
{
	php_sys_enter(id, (__u32)ARG1(regs), ARG2(regs), ARG3(regs));
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(http_sys_exit, struct pt_regs *regs, long ret)
{
	php_sys_exit((long)SYSCALL_NR(regs), ret);
	return 0;
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
	php_usdt_start((__u64)method, (__u64)uri);
	return 0;
}

SEC("usdt")
int BPF_USDT(php_request_shutdown, void *file, void *uri, void *method)
{
	php_usdt_end();
	return 0;
}

/* ---- targets: exec, fork, exit ---- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(http_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (on_exec(p, bprm))
		php_task_gone(p); /* a target became another program */
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(http_fork, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

/* every thread that exits: a PHP worker's request in flight is counted here */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(http_exit, struct task_struct *p)
{
	php_task_gone(p);
	on_process_exit(p);
	return 0;
}
