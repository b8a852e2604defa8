// SPDX-License-Identifier: GPL-2.0
/* hook_floor/hook_floor.bpf.c — empty programs on raw sys_enter/sys_exit: what the hooks alone cost
 * every syscall of every process (bench/http_latency.py compares the http_latency collector with
 * it). */
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
