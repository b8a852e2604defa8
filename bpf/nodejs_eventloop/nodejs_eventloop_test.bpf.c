// SPDX-License-Identifier: GPL-2.0
/* nodejs_eventloop/nodejs_eventloop_test.bpf.c — BPF_PROG_TEST_RUN wrapper around the event
 * loop's state machine (turns.bpf.h), for tests/bpf only: a loop state in an array stands for the
 * task storage, and the test reads this object's own el_cgroups. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "nodejs_eventloop_test.h"
#include "turns.bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct el_loop);
} test_loop SEC(".maps");

SEC("syscall")
int loop_step(struct el_test_step *ctx)
{
	__u32 zero = 0;
	struct el_loop *l = bpf_map_lookup_elem(&test_loop, &zero);
	if (!l)
		return 1;
	if (ctx->sleep_in_poll)
		el_poll_sleep(l, ctx->now_ns, ctx->cgroup_id);
	else
		el_wake(l, ctx->now_ns);
	return 0;
}
