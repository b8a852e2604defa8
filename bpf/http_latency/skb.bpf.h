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

/*
 * The packet's first SKB_HEAD bytes, read with one helper call: the IP and TCP headers and, for
 * the usual header sizes, the payload bytes a request or status line is recognised by. Also the
 * buffer a request target is read into (HTTP_ROUTE_LEN bytes) once the headers are parsed.
 */
#define SKB_HEAD 128
_Static_assert(SKB_HEAD >= HTTP_ROUTE_LEN && (SKB_HEAD & (SKB_HEAD - 1)) == 0,
	       "SKB_HEAD: a power of two that holds HTTP_ROUTE_LEN");

#define SKB_PEEK_BUF 32
_Static_assert(SKB_PEEK_BUF >= HTTP_PEEK && (SKB_PEEK_BUF & (SKB_PEEK_BUF - 1)) == 0,
	       "SKB_PEEK_BUF: a power of two that holds HTTP_PEEK");

#define TCP_FIN		0x01
#define TCP_RST		0x04
#define PF_EXITING_FLAG 0x00000004 /* include/linux/sched.h */

struct tcp_seg {
	__u32 payload; /* offset of the TCP payload in the packet */
	__u32 seq;
	__u32 have; /* bytes of the packet in head */
	__u8 flags;
};

/*
 * Reads len bytes (1..max, max a power of two) at off into buf; 0 or -errno. The length is
 * masked where the helper gets it: clang may otherwise pass a spilled copy whose range the
 * verifier lost, and the barrier keeps clang from dropping a mask it can prove changes nothing.
 */
#define skb_load(skb, off, buf, len, max)                                       \
	({                                                                      \
		__u32 __n = (len);                                              \
		asm volatile("" : "+r"(__n));                                   \
		bpf_skb_load_bytes(skb, off, buf, ((__n - 1) & ((max)-1)) + 1); \
	})

/* The TCP segment in skb (IPv4 or IPv6 without extension headers), its head in head; 0 when it
 * is one. */
static __always_inline int tcp_seg_of(struct __sk_buff *skb, __u8 *head, struct tcp_seg *seg)
{
	__u32 len = skb->len, off;

	seg->have = len < SKB_HEAD ? len : SKB_HEAD;
	if (seg->have < 40 || skb_load(skb, 0, head, seg->have, SKB_HEAD))
		return -1;
	if ((head[0] >> 4) == 4) {
		if (head[9] != 6) /* IPPROTO_TCP */
			return -1;
		off = (head[0] & 0xf) * 4;
	} else if ((head[0] >> 4) == 6) {
		if (head[6] != 6)
			return -1;
		off = 40;
	} else {
		return -1;
	}
	if (off + 14 > seg->have)
		return -1;
	const __u8 *th = head + (off & 63); /* off <= 60 */
	seg->seq = ((__u32)th[4] << 24) | ((__u32)th[5] << 16) | ((__u32)th[6] << 8) | th[7];
	seg->flags = th[13];
	seg->payload = off + (th[12] >> 4) * 4;
	return 0;
}

/*
 * The payload's first bytes, for the request and status line recognisers: a pointer into head
 * where it holds HTTP_PEEK bytes of payload (no copy: head is zeroed before the read, so every
 * byte the recognisers may look at is initialised), else read into b (SKB_PEEK_BUF bytes).
 * *n: how many payload bytes there are, at most HTTP_PEEK; NULL when none can be read.
 */
static __always_inline const __u8 *skb_peek(struct __sk_buff *skb, const __u8 *head,
					    const struct tcp_seg *seg, __u8 *b, __u32 *n)
{
	__u32 len = skb->len, off = seg->payload;
	if (off >= len)
		return NULL;
	__u32 avail = len - off;
	*n = avail < HTTP_PEEK ? avail : HTTP_PEEK;
	if (off <= SKB_HEAD - HTTP_PEEK && off + *n <= seg->have)
		return head + (off & (SKB_HEAD - 1));
	if (skb_load(skb, off, b, *n, SKB_PEEK_BUF))
		return NULL;
	return b;
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

/*
 * The route of the request line in the payload at off (its first n bytes in b): the request
 * target read into in and admitted under the cgroup's cap. A connection whose request starts with
 * the same bytes as its last one (the HTTP_ROUTE_LEN read, compared word by word) reuses that
 * request's route without making it again.
 */
static __always_inline __u64 skb_route(struct __sk_buff *skb, struct http_flow *f, __u32 off,
				       const __u8 *b, __u32 n, struct http_route_input *in)
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
	__u32 len = skb->len, start = off + at;
	if (start >= len)
		return HTTP_ROUTE_NONE;
	__u32 avail = len - start;
	if (avail > HTTP_ROUTE_LEN)
		avail = HTTP_ROUTE_LEN;
	if (skb_load(skb, start, in->path, avail, HTTP_ROUTE_BUF))
		return HTTP_ROUTE_NONE;
	/* a keep-alive client asking again for what it asked last: that request's route */
	const __u64 *words = (const __u64 *)in->path;
	int same = f->route != HTTP_ROUTE_NONE && f->last_len == avail;
	for (__u32 i = 0; i < HTTP_ROUTE_LEN / 8; i++) {
		same &= words[i] == f->last_target[i];
		f->last_target[i] = words[i];
	}
	f->last_len = avail;
	if (same)
		return f->route;
	in->len = avail;
	return http_route_of(in, bpf_skb_cgroup_id(skb));
}

/* A request line in the segment starts the socket's request; 1 when it did. */
static __always_inline int request_start(struct __sk_buff *skb, __u8 *head,
					 const struct tcp_seg *seg)
{
	/*
	 * The payload's first bytes, where head lacks them, are read into the request target's
	 * buffer: skb_route() is done with them before it reads the target there. A buffer of
	 * their own made this program, http_route_of() and its bpf_loop() callback 544 bytes of
	 * stack together, which 6.1's verifier refuses (more than 512).
	 */
	struct http_route_input in = {};
	__u32 n = 0;
	const __u8 *b = skb_peek(skb, head, seg, in.path, &n);
	if (!b)
		return 0;
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
	f->route = skb_route(skb, f, seg->payload, b, n, &in);
	if (!f->runtime) {
		/* once per connection: the cgroup's label, which egress needs at every response */
		__u64 cg = bpf_skb_cgroup_id(skb);
		struct http_skb_cgroup *c = bpf_map_lookup_elem(&skb_cgroups, &cg);
		f->runtime = c && c->runtime ? c->runtime : HTTP_RUNTIME_HTTP;
	}
	f->pending = 1;
	return 1;
}

/*
 * When the response's first byte leaves: TCP stamps every segment it sends with its own clock
 * (CLOCK_MONOTONIC, as bpf_ktime_get_ns(), read once per transmit by TCP itself; the departure
 * time when TCP paces), so egress reads that stamp instead of paying a clock read of its own
 * (the program went from 235-254 to 204-209 ns per run on the VM it was measured on, where
 * reading the clock is slow). A stamp that cannot be TCP's (none, before the request started, or an
 * hour after it: a realtime stamp from another path) gives way to the clock.
 */
#define SENT_AT_MAX_NS (3600ull * 1000000000ull)

static __always_inline __u64 sent_at(const struct __sk_buff *skb, __u64 start_ns)
{
	__u64 t = skb->tstamp;
	if (t >= start_ns && t - start_ns < SENT_AT_MAX_NS)
		return t;
	return bpf_ktime_get_ns();
}

/* A final status line in the segment ends the socket's request and records it. */
static __always_inline void response_start(struct __sk_buff *skb, const __u8 *head,
					   const struct tcp_seg *seg)
{
	__u8 buf[SKB_PEEK_BUF];
	__u32 n = 0;
	const __u8 *b = skb_peek(skb, head, seg, buf, &n);
	if (!b)
		return;
	int status = http_parse_status(b, n);
	if (status < 200)
		return; /* not a status line, or 1xx: the final response is still to come */
	struct http_flow *f = flow_of(skb, 0);
	if (!f || !f->pending)
		return;
	record(bpf_skb_cgroup_id(skb), f->runtime, f->method, (__u16)status, f->route,
	       sent_at(skb, f->start_ns) - f->start_ns);
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
	__u8 head[SKB_HEAD] = {};
	struct tcp_seg seg;
	if (tcp_seg_of(skb, head, &seg))
		return;
	int started = seg.payload < skb->len && request_start(skb, head, &seg);
	/* a FIN with the request itself is a client that half-closes and still waits */
	if ((seg.flags & TCP_RST) || ((seg.flags & TCP_FIN) && !started))
		flow_end(skb, HTTP_UNPAIRED_CLOSED);
}

static __always_inline void skb_egress(struct __sk_buff *skb)
{
	__u8 head[SKB_HEAD] = {};
	struct tcp_seg seg;
	if (tcp_seg_of(skb, head, &seg))
		return;
	if (seg.payload < skb->len)
		response_start(skb, head, &seg);
	if (seg.flags & (TCP_FIN | TCP_RST))
		flow_end(skb, current_exiting() ? HTTP_UNPAIRED_EXIT : HTTP_UNPAIRED_CLOSED);
}

#endif
