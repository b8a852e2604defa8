// SPDX-License-Identifier: GPL-2.0
/* hook_floor/hook_floor.bpf.c — empty programs on the hooks hostmon's collectors use, so a
 * benchmark can measure what the hooks alone cost beside a collector on the same events:
 * raw sys_enter/sys_exit, paid by every syscall of every process; sock_recv_length and
 * sock_send_length, paid by every socket receive and send; cgroup_skb ingress/egress, paid
 * by every packet of the cgroup they are attached to; sched_switch, paid by every context switch;
 * sched_process_free, paid by every task's release; sched_process_exec, paid by every exec (the
 * nodejs_eventloop collector's); an iter/task walk, paid per task walked; the
 * TCP tracepoints cgroup_tcp uses (retransmit, resets sent and received, socket state changes),
 * paid per such event; sched_process_exit and mark_victim, the OOM hooks of cgroup_saturation;
 * and PHP's request__startup/__shutdown USDT probes, paid per PHP request.
 * bench/hook_floor_bench loads only the programs of the mode it runs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_sys_enter, struct pt_regs *regs, long id)
{
	return 0;
}

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret)
{
	return 0;
}

/* the PHP-FPM hooks' sock_length tier: every socket receive and send (6.3+; "?": loaded only in
 * that mode, so older kernels load the rest) */
SEC("?tp_btf/sock_recv_length")
int BPF_PROG(floor_sock_recv, struct sock *sk, int ret, int flags)
{
	return 0;
}

SEC("?tp_btf/sock_send_length")
int BPF_PROG(floor_sock_send, struct sock *sk, int ret, int flags)
{
	return 0;
}

/* 1: let the packet through */
SEC("cgroup_skb/ingress")
int floor_skb_ingress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int floor_skb_egress(struct __sk_buff *skb)
{
	return 1;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(floor_sched_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}

SEC("tp_btf/sched_process_free")
int BPF_PROG(floor_task_free, struct task_struct *task)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	return 0;
}

SEC("iter/task")
int floor_task_walk(struct bpf_iter__task *ctx)
{
	return 0;
}

SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(floor_tcp_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	return 0;
}

SEC("tp_btf/tcp_send_reset")
int BPF_PROG(floor_tcp_reset_sent, const struct sock *sk)
{
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(floor_tcp_reset_received, struct sock *sk)
{
	return 0;
}

SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(floor_tcp_state_change, const struct sock *sk, const int oldstate, const int newstate)
{
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_task_exit, struct task_struct *task)
{
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(floor_oom_victim, struct task_struct *task)
{
	return 0;
}

/* attached like http_latency's php_request_startup/_shutdown (libbpf's USDT attach needs
 * usdt.bpf.h's maps), but reading no argument */
SEC("usdt")
int floor_php_startup(struct pt_regs *ctx)
{
	return 0;
}

SEC("usdt")
int floor_php_shutdown(struct pt_regs *ctx)
{
	return 0;
}
