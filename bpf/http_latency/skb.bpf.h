/* http_latency/skb.bpf.h — HTTP mode on the wire of the targets' cgroups: a request's first byte
 * reaching its TCP socket, the response's first byte leaving it. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_SKB_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_SKB_BPF_H

/*
 * API:
 *   skb_ingress(skb), skb_egress(skb): the cgroup_skb programs' logic for a
 *   packet delivered to / sent from a socket of a cgroup they are attached
 *   to (user space attaches them to the cgroups that hold HTTP-mode targets,
 *   so no other process pays anything). Always let the packet through.
 *
 *   Ingress, a TCP segment whose payload starts a request line: the socket's
 *   request starts now — when the bytes reached the socket, before the
 *   server accepted the connection or read them, so accept-queue and
 *   socket-queue waits are inside the measurement. Egress, a segment
 *   starting a final status line (>= 200; 1xx are interim) while a request
 *   waits: it ends there and is recorded under the socket's cgroup.
 *   Direction tells the roles apart: a target's own outgoing HTTP calls send
 *   request lines and receive status lines, which match neither case.
 *
 *   The segment's sequence number is kept with the request: the same segment
 *   seen again (a retransmit, or the programs attached at two levels of one
 *   hierarchy) is not a second request. A request line while one is waiting
 *   is counted pipelined and not measured (the first is). The client's FIN
 *   while one waits counts it closed; the server's FIN or RST counts it
 *   as the process's exit when the sending task is exiting (the kernel
 *   closes a killed server's sockets in its context), else closed.
 */

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "lib/counters.bpf.h"
#include "maps.bpf.h"
#include "record.bpf.h"
#include "request.bpf.h"
#include "route_cap.bpf.h"

#define HTTP_ROUTE_BUF 128
_Static_assert(HTTP_ROUTE_BUF >= HTTP_ROUTE_LEN && (HTTP_ROUTE_BUF & (HTTP_ROUTE_BUF - 1)) == 0,
	       "HTTP_ROUTE_BUF: a power of two that holds HTTP_ROUTE_LEN");

#define SKB_PEEK_BUF 32
_Static_assert(SKB_PEEK_BUF >= HTTP_PEEK && (SKB_PEEK_BUF & (SKB_PEEK_BUF - 1)) == 0,
	       "SKB_PEEK_BUF: a power of two that holds HTTP_PEEK");

#define TCP_FIN		0x01
#define TCP_RST		0x04
#define PF_EXITING_FLAG 0x00000004 /* include/linux/sched.h */

struct tcp_seg {
	__u32 payload; /* offset of the TCP payload in the packet */
	__u32 seq;
	__u8 flags;
};

/* The TCP segment in skb (IPv4 or IPv6 without extension headers); 0 when it is one. */
static __always_inline int tcp_seg_of(struct __sk_buff *skb, struct tcp_seg *seg)
{
	__u8 ip[10];
	__u32 off;

	if (bpf_skb_load_bytes(skb, 0, ip, sizeof(ip)))
		return -1;
	if ((ip[0] >> 4) == 4) {
		if (ip[9] != 6) /* IPPROTO_TCP */
			return -1;
		off = (ip[0] & 0xf) * 4;
	} else if ((ip[0] >> 4) == 6) {
		if (ip[6] != 6)
			return -1;
		off = 40;
	} else {
		return -1;
	}
	__u8 th[14];
	if (bpf_skb_load_bytes(skb, off, th, sizeof(th)))
		return -1;
	seg->seq = ((__u32)th[4] << 24) | ((__u32)th[5] << 16) | ((__u32)th[6] << 8) | th[7];
	seg->flags = th[13];
	seg->payload = off + (th[12] >> 4) * 4;
	return 0;
}

/* Up to HTTP_PEEK payload bytes into b (SKB_PEEK_BUF bytes long); how many. */
static __always_inline __u32 skb_peek(struct __sk_buff *skb, __u32 off, __u8 *b)
{
	__u32 len = skb->len;
	if (off >= len)
		return 0;
	__u32 n = len - off;
	if (n > HTTP_PEEK)
		n = HTTP_PEEK;
	asm volatile("" : "+r"(n)); /* masked for the verifier, as in skb_route() */
	if (bpf_skb_load_bytes(skb, off, b, ((n - 1) & (SKB_PEEK_BUF - 1)) + 1))
		return 0;
	return n;
}

static __always_inline struct http_flow *flow_of(struct __sk_buff *skb, int create)
{
	struct bpf_sock *sk = skb->sk;
	if (!sk)
		return NULL;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return NULL;
	return bpf_sk_storage_get(&flows, sk, 0, create ? BPF_SK_STORAGE_GET_F_CREATE : 0);
}

/* The request target of the request line in the payload at off: its route. */
static __always_inline __u64 skb_route(struct __sk_buff *skb, __u64 cgroup_id, __u32 off,
				       const __u8 *b, __u32 n)
{
	__u32 at = 0;
	for (__u32 i = 0; i < 11; i++) {
		if (i >= n)
			return HTTP_ROUTE_NONE;
		if (b[i] == ' ') {
			at = i + 1;
			break;
		}
	}
	if (!at)
		return HTTP_ROUTE_NONE;
	/* a power of two above HTTP_ROUTE_LEN: the length is masked to it for the verifier */
	__u8 path[HTTP_ROUTE_BUF] = {};
	__u32 len = skb->len, start = off + at;
	if (start >= len)
		return HTTP_ROUTE_NONE;
	__u32 avail = len - start;
	if (avail > HTTP_ROUTE_LEN)
		avail = HTTP_ROUTE_LEN;
	/* masked where the helper gets it: clang may pass a spilled copy of avail whose range the
	 * verifier lost, but not of ((avail - 1) & mask) + 1 (1..HTTP_ROUTE_BUF); the barrier keeps
	 * clang from dropping the mask it can prove is a no-op */
	asm volatile("" : "+r"(avail));
	if (avail == 0 ||
	    bpf_skb_load_bytes(skb, start, path, ((avail - 1) & (HTTP_ROUTE_BUF - 1)) + 1))
		return HTTP_ROUTE_NONE;
	return route_of(cgroup_id, path, avail);
}

/* A request line in the segment starts the socket's request; 1 when it did. */
static __always_inline int request_start(struct __sk_buff *skb, const struct tcp_seg *seg)
{
	__u8 b[SKB_PEEK_BUF] = {};
	__u32 n = skb_peek(skb, seg->payload, b);
	int method = http_parse_method(b, n);
	if (method < 0)
		return 0;
	struct http_flow *f = flow_of(skb, 1);
	if (!f) {
		counter_inc(&http_counters, HTTP_UNPAIRED_STATE_FULL);
		return 0;
	}
	if (f->pending) {
		if (f->seq != seg->seq)
			counter_inc(&http_counters, HTTP_UNPAIRED_PIPELINED);
		return 0;
	}
	f->start_ns = bpf_ktime_get_ns();
	f->seq = seg->seq;
	f->method = (__u8)method;
	f->route = skb_route(skb, bpf_skb_cgroup_id(skb), seg->payload, b, n);
	f->pending = 1;
	return 1;
}

/* A final status line in the segment ends the socket's request and records it. */
static __always_inline void response_start(struct __sk_buff *skb, const struct tcp_seg *seg)
{
	__u8 b[SKB_PEEK_BUF] = {};
	int status = http_parse_status(b, skb_peek(skb, seg->payload, b));
	if (status < 200)
		return; /* not a status line, or 1xx: the final response is still to come */
	struct http_flow *f = flow_of(skb, 0);
	if (!f || !f->pending)
		return;
	__u64 cg = bpf_skb_cgroup_id(skb);
	struct http_skb_cgroup *c = bpf_map_lookup_elem(&skb_cgroups, &cg);
	record(cg, c ? c->runtime : 0, f->method, (__u16)status, f->route,
	       bpf_ktime_get_ns() - f->start_ns);
	f->pending = 0;
}

static __always_inline int current_exiting(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	return (BPF_CORE_READ(t, flags) & PF_EXITING_FLAG) != 0;
}

/* The connection ends (FIN or RST) with a request waiting: counted, by reason. */
static __always_inline void flow_end(struct __sk_buff *skb, __u32 reason)
{
	struct http_flow *f = flow_of(skb, 0);
	if (f && f->pending) {
		f->pending = 0;
		counter_inc(&http_counters, reason);
	}
}

static __always_inline void skb_ingress(struct __sk_buff *skb)
{
	struct tcp_seg seg;
	if (tcp_seg_of(skb, &seg))
		return;
	int started = seg.payload < skb->len && request_start(skb, &seg);
	/* a FIN with the request itself is a client that half-closes and still waits */
	if ((seg.flags & TCP_RST) || ((seg.flags & TCP_FIN) && !started))
		flow_end(skb, HTTP_UNPAIRED_CLOSED);
}

static __always_inline void skb_egress(struct __sk_buff *skb)
{
	struct tcp_seg seg;
	if (tcp_seg_of(skb, &seg))
		return;
	if (seg.payload < skb->len)
		response_start(skb, &seg);
	if (seg.flags & (TCP_FIN | TCP_RST))
		flow_end(skb, current_exiting() ? HTTP_UNPAIRED_EXIT : HTTP_UNPAIRED_CLOSED);
}

#endif
