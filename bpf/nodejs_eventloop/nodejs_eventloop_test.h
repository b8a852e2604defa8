/* nodejs_eventloop/nodejs_eventloop_test.h — the context of the test wrapper in
 * nodejs_eventloop_test.bpf.c, shared with tests/bpf/nodejs_eventloop. */
#ifndef HOSTMON_BPF_NODEJS_EVENTLOOP_NODEJS_EVENTLOOP_TEST_H
#define HOSTMON_BPF_NODEJS_EVENTLOOP_NODEJS_EVENTLOOP_TEST_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/* One context switch of the loop thread: asleep in its poll, or running again. */
struct el_test_step {
	__u64 now_ns;
	__u64 cgroup_id;
	__u32 sleep_in_poll; /* 1: el_poll_sleep, 0: el_wake */
	__u32 pad;
};

_Static_assert(sizeof(struct el_test_step) == 24, "el_test_step layout is shared");

#endif
