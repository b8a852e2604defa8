/* nodejs_eventloop/nodejs_eventloop.h — structs and sizes shared by
 * bpf/nodejs_eventloop/nodejs_eventloop.bpf.c and the event-loop collector. */
#ifndef HOSTMON_BPF_NODEJS_EVENTLOOP_NODEJS_EVENTLOOP_H
#define HOSTMON_BPF_NODEJS_EVENTLOOP_NODEJS_EVENTLOOP_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/*
 * API:
 *   el_loops (task storage): the loop threads to measure. User space marks
 *     one by creating its entry (key: a pidfd of the process, whose task is
 *     the main thread), zeroed (EL_STATE_UNKNOWN), and reads it back with
 *     the same key. The kernel moves it to EL_STATE_IDLE when the thread
 *     goes to sleep inside an epoll wait syscall, and to EL_STATE_BUSY when
 *     it runs again; the storage goes with the task when it exits.
 *     seq is odd while the kernel writes the other fields: a reader keeps a
 *     copy whose seq is even and that a second read repeats.
 *   el_cgroups (hash, no prealloc, shared, atomic adds): cgroup2 id of the
 *     loop thread at the end of the turn -> struct el_hist, the finished
 *     turns' busy time in buckets with Prometheus `le` bounds (the rodata
 *     array turn_bounds_ns, turn_nbounds long; bucket turn_nbounds is +Inf)
 *     and their sum.
 *   el_pid_bits (array of __u64, bit pid % 64 of word pid / 64): set for the
 *     pids of marked loops, the test before the task-storage lookup.
 *   el_counters (per-CPU array): health counters.
 *   loops_marked (.bss): how many entries user space made; 0 lets every
 *     switch leave at the first instruction.
 *   el_execs (ring buffer of struct el_exec): a process exec'd a program
 *     with one of the node names (rodata el_names), for user space to mark
 *     it at once rather than at its next /proc scan.
 */

#define EL_MAX_BOUNDS  24
#define EL_MAX_CGROUPS 4096
#define EL_MAX_NAMES   8 /* node executable names (the node ones of --http-targets) */
#define EL_NAME_LEN    16

enum el_state {
	EL_STATE_UNKNOWN = 0, /* marked, not yet seen polling */
	EL_STATE_IDLE = 1,    /* asleep in the poll since since_ns */
	EL_STATE_BUSY = 2,    /* running its turn since since_ns */
};

struct el_loop {
	__u64 seq;
	__u64 since_ns;	 /* CLOCK_MONOTONIC ns the current state began */
	__u64 busy_ns;	 /* busy time of the finished turns */
	__u64 turns;	 /* finished turns */
	__u64 cgroup_id; /* cgroup2 id at the last poll */
	__u32 state;	 /* enum el_state */
	__u32 pad;
};

struct el_hist {
	__u64 buckets[EL_MAX_BOUNDS + 1];
	__u64 sum_ns;
};

enum el_counter {
	EL_COUNTER_HISTS_FULL = 0, /* turns not counted: el_cgroups was full */
	EL_COUNTER_MAX = 1,
};

struct el_exec {
	__u32 tgid;
};

_Static_assert(sizeof(struct el_loop) == 48, "el_loop layout is shared");
_Static_assert(sizeof(struct el_hist) == (EL_MAX_BOUNDS + 2) * 8, "el_hist layout is shared");

#endif
