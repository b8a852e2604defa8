/* cgroup_tcp/cgroup_tcp.h — structs and sizes shared by bpf/cgroup_tcp/cgroup_tcp.bpf.c and the TCP
 * collector. */
#ifndef HOSTMON_BPF_CGROUP_TCP_CGROUP_TCP_H
#define HOSTMON_BPF_CGROUP_TCP_CGROUP_TCP_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/*
 * API:
 *   tcp_cgroups (hash shared by all CPUs, atomic adds): cgroup id of the
 *     socket -> struct tcp_cgroup_stats (not including descendants: the
 *     collector sums the tree). Sized by the collector before load.
 *   tcp_connects (hash, no prealloc, shared, atomic adds): struct
 *     tcp_connect_key (cgroup id, remote port) -> struct tcp_connect_hist,
 *     the time from SYN sent to established of outgoing connections, in
 *     buckets with Prometheus `le` bounds (the bounds are the rodata array
 *     connect_bounds_ns, nbounds long; bucket nbounds is +Inf) and their
 *     sum. TCP_DEFAULT_MAX_CONNECT_HISTS entries.
 *   tcp_counters (per-CPU array): health counters.
 */

#define TCP_DEFAULT_MAX_CGROUPS	      16384
#define TCP_DEFAULT_MAX_CONNECT_HISTS 4096
#define TCP_MAX_BOUNDS		      24

struct tcp_cgroup_stats {
	__u64 retransmits;	/* segments retransmitted that went out */
	__u64 resets_sent;	/* RSTs sent by the cgroup's sockets */
	__u64 resets_received;	/* RSTs received by them (connection reset by peer) */
	__u64 connect_failures; /* outgoing connects that went from SYN sent to closed */
};

struct tcp_connect_key {
	__u64 cgroup_id;
	__u16 remote_port; /* host order */
	__u16 pad[3];
};

struct tcp_connect_hist {
	__u64 buckets[TCP_MAX_BOUNDS + 1];
	__u64 sum_ns;
};

enum tcp_counter {
	TCP_COUNTER_MAP_FULL = 0,	   /* events dropped: tcp_cgroups was full */
	TCP_COUNTER_HISTS_FULL = 1,	   /* connects not timed: tcp_connects was full */
	TCP_COUNTER_SOCK_STORAGE_FAIL = 2, /* connects not timed: no socket storage */
	TCP_COUNTER_MAX = 3,
};

_Static_assert(sizeof(struct tcp_cgroup_stats) == 32, "tcp_cgroup_stats layout is shared");
_Static_assert(sizeof(struct tcp_connect_key) == 16, "tcp_connect_key layout is shared");
_Static_assert(sizeof(struct tcp_connect_hist) == (TCP_MAX_BOUNDS + 2) * 8,
	       "tcp_connect_hist layout is shared");

#endif
