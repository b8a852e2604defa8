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
 * The payload bytes a request is read from: the method and its space (at most 11 bytes) and the
 * HTTP_ROUTE_LEN bytes of target after them, in one read. A multiple of 8, so a connection's last
 * request can be kept and compared word by word.
 */
#define SKB_REQUEST_PEEK 112
_Static_assert(SKB_REQUEST_PEEK >= 11 + HTTP_ROUTE_LEN && SKB_REQUEST_PEEK % 8 == 0 &&
		       SKB_REQUEST_PEEK <= HTTP_ROUTE_BUF,
	       "SKB_REQUEST_PEEK: the method, its space and the target, in the route buffer");
_Static_assert(SKB_REQUEST_PEEK / 8 == sizeof(((struct http_flow *)0)->last_request) / 8,
	       "http_flow keeps SKB_REQUEST_PEEK bytes");

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

/*
 * The TCP segment in skb (IPv4 or IPv6 without extension headers); 0 when it is one. Its headers
 * are read in place, without a helper call or a copy: a cgroup_skb program's data starts at the
 * network header, and both hooks run where the IP and TCP headers are in the skb's linear part
 * (egress: TCP wrote them there; ingress: tcp_v4_rcv() and tcp_v6_rcv() pulled them in before
 * the socket's filter runs). A packet without them there is not a segment this reads.
 */
static __always_inline int tcp_seg_of(struct __sk_buff *skb, struct tcp_seg *seg)
{
	const __u8 *p = (const __u8 *)(long)skb->data;
	const __u8 *end = (const __u8 *)(long)skb->data_end;
	__u32 off;

	if (p + 40 > end)
		return -1;
	if ((p[0] >> 4) == 4) {
		if (p[9] != 6) /* IPPROTO_TCP */
			return -1;
		off = (p[0] & 0xf) * 4;
	} else if ((p[0] >> 4) == 6) {
		if (p[6] != 6)
			return -1;
		off = 40;
	} else {
		return -1;
	}
	const __u8 *th = p + (off & 63); /* off <= 60 */
	if (th + 14 > end)
		return -1;
	seg->seq = ((__u32)th[4] << 24) | ((__u32)th[5] << 16) | ((__u32)th[6] << 8) | th[7];
	seg->flags = th[13];
	seg->payload = off + (th[12] >> 4) * 4;
	return 0;
}

/*
 * The payload's first bytes, up to want (1..max, max a power of two), read into b: how many, 0
 * when there are none or they cannot be read. The payload is usually in the skb's pages (TCP
 * sends from them), so it is read with the helper.
 */
static __always_inline __u32 skb_payload(struct __sk_buff *skb, const struct tcp_seg *seg, __u8 *b,
					 __u32 want, __u32 max)
{
	__u32 len = skb->len, off = seg->payload;
	if (off >= len)
		return 0;
	__u32 n = len - off < want ? len - off : want;
	if (skb_load(skb, off, b, n, max))
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

/*
 * The route of the request whose first n payload bytes are in in->path, its target starting at
 * at: admitted under the cgroup's cap. A connection whose request starts with the same bytes as
 * its last one (the SKB_REQUEST_PEEK read, compared word by word: a keep-alive client asking
 * again for what it asked last) reuses that request's route without making it again.
 */
static __always_inline __u64 skb_route(struct __sk_buff *skb, struct http_flow *f, __u32 at,
				       __u32 n, struct http_route_input *in)
{
	const __u64 *words = (const __u64 *)in->path;
	/* the differences OR-ed into one word: a flag per word would be a verifier state per
	 * combination of them */
	__u64 diff = f->last_len ^ n;
	for (__u32 i = 0; i < SKB_REQUEST_PEEK / 8; i++)
		diff |= words[i] ^ f->last_request[i];
	if (!diff && f->route != HTTP_ROUTE_NONE)
		return f->route;
	for (__u32 i = 0; i < SKB_REQUEST_PEEK / 8; i++)
		f->last_request[i] = words[i];
	f->last_len = n;
	/* the target to the buffer's start (at <= 11: each word is read before it is written over)
	 */
	__u32 from = at & 15;
	for (__u32 i = 0; i < HTTP_ROUTE_LEN / 8; i++) {
		__u64 w;
		__builtin_memcpy(&w, in->path + from + i * 8, 8);
		__builtin_memcpy(in->path + i * 8, &w, 8);
	}
	in->len = n - at < HTTP_ROUTE_LEN ? n - at : HTTP_ROUTE_LEN;
	return http_route_of(in, bpf_skb_cgroup_id(skb));
}

/* A request line in the segment starts the socket's request; 1 when it did. */
static __always_inline int request_start(struct __sk_buff *skb, const struct tcp_seg *seg)
{
	/* the method, the target and the bytes after it, in one read into the route's buffer */
	struct http_route_input in = {};
	__u32 n = skb_payload(skb, seg, in.path, SKB_REQUEST_PEEK, HTTP_ROUTE_BUF);
	if (!n)
		return 0;
	int method = http_parse_method(in.path, n);
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
	__u32 at = 0;
	for (__u32 i = 3; i < 11; i++) {
		if (in.path[i] == ' ') {
			at = i + 1;
			break;
		}
	}
	/* http_parse_method() found the space and a target byte after it, within n */
	f->route = at && at < n ? skb_route(skb, f, at, n, &in) : HTTP_ROUTE_NONE;
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
static __always_inline void response_start(struct __sk_buff *skb, const struct tcp_seg *seg)
{
	__u8 buf[SKB_PEEK_BUF] = {};
	__u32 n = skb_payload(skb, seg, buf, HTTP_PEEK, SKB_PEEK_BUF);
	if (!n)
		return;
	int status = http_parse_status(buf, n);
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
