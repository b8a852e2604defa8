// SPDX-License-Identifier: GPL-2.0
/* hook_floor/hook_floor.bpf.c — empty programs on the hooks the http_latency collector uses, so a
 * benchmark can measure what the hooks alone cost (bench/http_latency.py compares the collector
 * with them): raw sys_enter/sys_exit, paid by every syscall of every process, and cgroup_skb
 * ingress/egress, paid by every packet of the cgroup they are attached to.
 * bench/hook_floor_bench loads only the pair of the mode it runs. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

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
