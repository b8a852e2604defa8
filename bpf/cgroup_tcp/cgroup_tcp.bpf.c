// SPDX-License-Identifier: GPL-2.0
/* cgroup_tcp/cgroup_tcp.bpf.c — TCP trouble counted per cgroup of the socket: retransmitted
 * segments, resets sent and received, failed outgoing connects, and the time from SYN sent to
 * established by remote port. Every program runs on a TCP event that is itself rare (a
 * retransmission, a reset, a state change), never per packet. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "cgroup_tcp.h"
#include "lib/counters.bpf.h"
#include "lib/histogram.bpf.h"
#include "lib/maps.bpf.h"

char LICENSE[] SEC("license") = "GPL";

#define AF_INET	    2
#define AF_INET6    10
#define IPPROTO_TCP 6

/* Set before load: the connect histogram's upper bounds in ns (ascending), and how many. */
const volatile __u64 connect_bounds_ns[TCP_MAX_BOUNDS] = {};
const volatile __u32 connect_nbounds = 0;
/* Set before load: whether tcp_retransmit_skb passes the attempt's error as a third argument. */
const volatile bool retransmit_passes_err = false;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCP_DEFAULT_MAX_CGROUPS);
	__type(key, __u64);
	__type(value, struct tcp_cgroup_stats);
} tcp_cgroups SEC(".maps");

/* Entries are made as connects happen: no preallocation of the whole table. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TCP_DEFAULT_MAX_CONNECT_HISTS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tcp_connect_key);
	__type(value, struct tcp_connect_hist);
} tcp_connects SEC(".maps");

/* When an outgoing connect sent its SYN (CLOCK_MONOTONIC ns), freed with the socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} syn_sent_at SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TCP_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} tcp_counters SEC(".maps");

static const struct tcp_cgroup_stats zero_stats;
static const struct tcp_connect_hist zero_hist;

/*
 * The cgroup2 id of a full socket's owner (the cgroup of the task that made it). 0 for what is not
 * a full TCP socket: a time-wait or request mini socket has no cgroup data (reading it would read
 * past the mini socket).
 */
static __always_inline __u64 socket_cgroup(const struct sock *sk)
{
	if (!sk)
		return 0;
	__u8 state = sk->__sk_common.skc_state;
	if (state == TCP_TIME_WAIT || state == TCP_NEW_SYN_RECV)
		return 0;
	struct cgroup *cgrp = sk->sk_cgrp_data.cgroup;
	return cgrp ? cgrp->kn->id : 0;
}

static __always_inline struct tcp_cgroup_stats *stats_of(const struct sock *sk)
{
	__u64 cgid = socket_cgroup(sk);
	struct tcp_cgroup_stats *st;

	if (!cgid)
		return NULL;
	st = map_lookup_or_try_init(&tcp_cgroups, &cgid, &zero_stats);
	if (!st)
		counter_inc(&tcp_counters, TCP_COUNTER_MAP_FULL);
	return st;
}

/* A retransmitted skb: as many segments as it carries (GSO), as TCP_MIB_RETRANSSEGS counts them. */
static __always_inline void count_retransmit(const struct sock *sk, const struct sk_buff *skb)
{
	struct tcp_cgroup_stats *st = stats_of(sk);
	const struct tcp_skb_cb *cb;
	__u16 segs;

	if (!st)
		return;
	cb = (const struct tcp_skb_cb *)&skb->cb[0];
	segs = BPF_CORE_READ(cb, tcp_gso_segs);
	__sync_fetch_and_add(&st->retransmits, segs ? segs : 1);
}

/*
 * Newer kernels (6.18 here) fire the tracepoint also for attempts that failed, with their error as
 * a third argument; older ones (6.1, 6.12) fire only for retransmissions that went out and have no
 * third argument. Only those that went out (error 0) are counted on both, which is RetransSegs
 * minus TCPRetransFail. The collector says which kind of kernel this is before load; on the older
 * ones the branch reading the third argument is dead code the verifier never walks.
 */
SEC("tp_btf/tcp_retransmit_skb")
int BPF_PROG(tcp_retransmit, const struct sock *sk, const struct sk_buff *skb)
{
	if (retransmit_passes_err && ((volatile __u64 *)ctx)[2] != 0)
		return 0;
	count_retransmit(sk, skb);
	return 0;
}

/* A reset sent from a socket (none is attributed when no socket exists: a SYN to a closed port). */
SEC("tp_btf/tcp_send_reset")
int BPF_PROG(tcp_reset_sent, const struct sock *sk)
{
	struct tcp_cgroup_stats *st = stats_of(sk);

	if (st)
		__sync_fetch_and_add(&st->resets_sent, 1);
	return 0;
}

SEC("tp_btf/tcp_receive_reset")
int BPF_PROG(tcp_reset_received, struct sock *sk)
{
	struct tcp_cgroup_stats *st = stats_of(sk);

	if (st)
		__sync_fetch_and_add(&st->resets_received, 1);
	return 0;
}

static __always_inline void record_connect(const struct sock *sk, __u64 ns)
{
	struct tcp_connect_key key = {};
	struct tcp_connect_hist *h;
	__u32 b;

	key.cgroup_id = socket_cgroup(sk);
	if (!key.cgroup_id)
		return;
	key.remote_port = __builtin_bswap16(sk->__sk_common.skc_dport);
	h = map_lookup_or_try_init(&tcp_connects, &key, &zero_hist);
	if (!h) {
		counter_inc(&tcp_counters, TCP_COUNTER_HISTS_FULL);
		return;
	}
	b = hist_bucket_le(connect_bounds_ns, connect_nbounds, TCP_MAX_BOUNDS, ns);
	if (b > TCP_MAX_BOUNDS) /* for the verifier: hist_bucket_le never returns more */
		return;
	__sync_fetch_and_add(&h->buckets[b], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

/*
 * Outgoing connects, from the socket's state changes: SYN sent starts the clock; established
 * ends it in the histogram; closed straight from SYN sent (refused, timed out, unreachable) is a
 * failed connect. Every other transition returns at the first compare.
 */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(tcp_state_change, const struct sock *sk, const int oldstate, const int newstate)
{
	__u64 *started;

	if (oldstate != TCP_SYN_SENT && newstate != TCP_SYN_SENT)
		return 0;
	if (sk->sk_protocol != IPPROTO_TCP)
		return 0;
	if (newstate == TCP_SYN_SENT) {
		started = bpf_sk_storage_get(&syn_sent_at, (void *)sk, 0,
					     BPF_SK_STORAGE_GET_F_CREATE);
		if (!started) {
			counter_inc(&tcp_counters, TCP_COUNTER_SOCK_STORAGE_FAIL);
			return 0;
		}
		*started = bpf_ktime_get_ns();
		return 0;
	}
	if (newstate == TCP_ESTABLISHED) {
		started = bpf_sk_storage_get(&syn_sent_at, (void *)sk, 0, 0);
		if (started && *started) {
			record_connect(sk, bpf_ktime_get_ns() - *started);
			*started = 0;
		}
		return 0;
	}
	if (newstate == TCP_CLOSE) {
		struct tcp_cgroup_stats *st = stats_of(sk);
		if (st)
			__sync_fetch_and_add(&st->connect_failures, 1);
	}
	return 0;
}
