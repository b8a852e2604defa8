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
 *   starting a final status line (>= 200; 1xx are interim): the socket's
 *   next response, its send stamp and status kept in the socket's state.
 *   The request is recorded under the socket's cgroup by ingress, at the
 *   socket's next segment after its response (the client's ACK, its next
 *   request or its FIN), or by egress at the server's FIN or RST: the state's
 *   two halves are each written by one side only (http_latency.h).
 *   Direction tells the roles apart: a target's own outgoing HTTP calls send
 *   request lines and receive status lines, which match neither case.
 *
 *   The segment's sequence number is kept with the request: the same segment
 *   seen again (a retransmit, or the programs attached at two levels of one
 *   hierarchy) is not a second request. A request line while one is
 *   unanswered is counted pipelined and not measured (the first is). The
 *   client's FIN while one waits counts it closed; the server's FIN or RST
 *   counts it as the process's exit when the sending task is exiting (the
 *   kernel closes a killed server's sockets in its context), else closed.
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
 * HTTP_ROUTE_LEN bytes of target after them, in one read. A multiple of 8, so they hash word by
 * word.
 */
#define SKB_REQUEST_PEEK 112
_Static_assert(SKB_REQUEST_PEEK >= 11 + HTTP_ROUTE_LEN && SKB_REQUEST_PEEK % 8 == 0 &&
		       SKB_REQUEST_PEEK <= HTTP_ROUTE_BUF,
	       "SKB_REQUEST_PEEK: the method, its space and the target, in the route buffer");

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
 * the last one measured on it (a keep-alive client asking again for what it asked last) reuses
 * that request's route without making it again.
 */
static __always_inline __u64 skb_route(struct __sk_buff *skb, struct http_flow_in *f, __u32 at,
				       __u32 n, struct http_route_input *in)
{
	__u64 h = http_route_bytes_hash((const __u64 *)in->path, SKB_REQUEST_PEEK / 8, n);
	/* a route folded into "other" is made again, so each such request is counted folded */
	if (h == f->last_hash && n == f->last_len && f->route > HTTP_ROUTE_OTHER)
		return f->route;
	f->last_hash = h;
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

#define READ_ONCE_U32(x)     (*(volatile __u32 *)&(x))
#define WRITE_ONCE_U32(x, v) (*(volatile __u32 *)&(x) = (v))
#define compiler_barrier()   asm volatile("" ::: "memory")

/*
 * The measured request, once its response has been sent (out->answered is past the response it
 * waits for): recorded, from its start to that response's send stamp. On the receive side, at
 * the socket's next segment (the client's ACK of the response, its next request or its FIN), so
 * the sending CPU never reads what the receiving CPU wrote; the server's own FIN or RST also
 * ends it (egress), as no segment may follow. The slot is read between two readings of the
 * count: egress writes a socket's responses one at a time (under the socket's lock), each slot
 * before the count that publishes it, so a slot is unchanged while the count stays below the
 * response that reuses it. When it did not (more responses sent meanwhile: pipelining), or the
 * stamp is older than the start (a response that crossed the request), the request counts
 * pipelined instead. 1 when the request was answered (recorded or not).
 */
static __always_inline int collect(struct __sk_buff *skb, struct http_flow *f)
{
	struct http_flow_in *in = &f->in;
	if (!in->measuring)
		return 0;
	__u32 answered = READ_ONCE_U32(f->out.answered);
	if ((__s32)(answered - in->waits_for) <= 0)
		return 0; /* not answered yet */
	__u32 i = in->waits_for % HTTP_FLOW_RESPONSES;
	compiler_barrier();
	__u64 end = f->out.end_ns[i];
	__u16 status = f->out.status[i];
	compiler_barrier();
	__u32 now = READ_ONCE_U32(f->out.answered);
	in->measuring = 0;
	/* response waits_for + HTTP_FLOW_RESPONSES reuses the slot once the count has reached it */
	if (now - in->waits_for >= HTTP_FLOW_RESPONSES || end < in->start_ns) {
		counter_inc(&http_counters, HTTP_UNPAIRED_PIPELINED);
		return 1;
	}
	record(bpf_skb_cgroup_id(skb), in->runtime, in->method, status, in->route,
	       end - in->start_ns);
	return 1;
}

/*
 * A request line in the segment: counted, and measured when no request before it on the socket
 * is unanswered (HTTP/1.x answers in order, so the request is answered by response `requests`).
 * A request line while one is unanswered is pipelined: counted, not measured (the first is).
 * 1 when the segment was a request line.
 */
static __always_inline int request_start(struct __sk_buff *skb, struct http_flow *f,
					 const struct tcp_seg *seg, struct http_route_input *in,
					 __u32 n, int method)
{
	struct http_flow_in *r = &f->in;
	if (r->requests && r->seq == seg->seq)
		return 1; /* the same segment again */
	r->seq = seg->seq;
	__u32 answered = READ_ONCE_U32(f->out.answered);
	/* responses to requests never seen (pipelined in one segment with the first) come first */
	if ((__s32)(answered - r->requests) > 0)
		r->requests = answered;
	if (r->requests != answered) {
		r->requests++;
		counter_inc(&http_counters, HTTP_UNPAIRED_PIPELINED);
		return 1;
	}
	r->start_ns = bpf_ktime_get_ns();
	r->method = (__u8)method;
	__u32 at = 0;
	for (__u32 i = 3; i < 11; i++) {
		if (in->path[i] == ' ') {
			at = i + 1;
			break;
		}
	}
	/* http_parse_method() found the space and a target byte after it, within n */
	r->route = at && at < n ? skb_route(skb, r, at, n, in) : HTTP_ROUTE_NONE;
	if (!r->runtime) {
		/* once per connection: the cgroup's label */
		__u64 cg = bpf_skb_cgroup_id(skb);
		struct http_skb_cgroup *c = bpf_map_lookup_elem(&skb_cgroups, &cg);
		r->runtime = c && c->runtime ? c->runtime : HTTP_RUNTIME_HTTP;
	}
	r->waits_for = r->requests++;
	r->measuring = 1;
	return 1;
}

/*
 * When the response's first byte leaves: TCP stamps every segment it sends with its own clock
 * (CLOCK_MONOTONIC, as bpf_ktime_get_ns(), read once per transmit by TCP itself; the departure
 * time when TCP paces), so egress reads that stamp instead of paying a clock read of its own
 * (the program went from 235-254 to 204-209 ns per run on the VM it was measured on, where
 * reading the clock is slow). A stamp that cannot be TCP's (none, or not near the tick-granular
 * clock: a realtime stamp from another path) gives way to the clock.
 */
#define SENT_AT_EARLY_NS (100ull * 1000000ull)	   /* the coarse clock lags by up to a tick */
#define SENT_AT_MAX_NS	 (3600ull * 1000000000ull) /* pacing may stamp the future */

static __always_inline __u64 sent_at(const struct __sk_buff *skb)
{
	__u64 t = skb->tstamp, coarse = bpf_ktime_get_coarse_ns();
	if (t + SENT_AT_EARLY_NS >= coarse && t < coarse + SENT_AT_MAX_NS)
		return t;
	return bpf_ktime_get_ns();
}

/*
 * A final status line in the segment: the socket's next response, kept for the receive side to
 * pair with its request. Egress writes only its own half of the socket's state and reads none of
 * the other's.
 */
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
	if (!f)
		return; /* no request was ever seen on the socket */
	__u32 i = f->out.answered;
	f->out.end_ns[i % HTTP_FLOW_RESPONSES] = sent_at(skb);
	f->out.status[i % HTTP_FLOW_RESPONSES] = (__u16)status;
	compiler_barrier();
	WRITE_ONCE_U32(f->out.answered, i + 1);
}

static __always_inline int current_exiting(void)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	return (BPF_CORE_READ(t, flags) & PF_EXITING_FLAG) != 0;
}

/*
 * The connection ends (FIN or RST): a measured request answered but not yet recorded is recorded,
 * one still unanswered counted by reason. (Both sides may end the same request at once, the
 * server's FIN crossing the client's: a window of a few instructions at a connection's end, in
 * which it could be counted twice.)
 */
static __always_inline void flow_end(struct __sk_buff *skb, struct http_flow *f, __u32 reason)
{
	if (!f || collect(skb, f) || !f->in.measuring)
		return;
	f->in.measuring = 0;
	counter_inc(&http_counters, reason);
}

static __always_inline void skb_ingress(struct __sk_buff *skb)
{
	struct tcp_seg seg;
	if (tcp_seg_of(skb, &seg))
		return;
	/* the method, the target and the bytes after it, in one read into the route's buffer */
	struct http_route_input in;
	int method = -1;
	__u32 n = 0;
	if (seg.payload < skb->len) {
		__builtin_memset(&in, 0, sizeof(in)); /* segments without payload skip it */
		n = skb_payload(skb, &seg, in.path, SKB_REQUEST_PEEK, HTTP_ROUTE_BUF);
		method = n ? http_parse_method(in.path, n) : -1;
	}
	struct http_flow *f = flow_of(skb, method >= 0);
	if (!f) {
		if (method >= 0)
			counter_inc(&http_counters, HTTP_UNPAIRED_STATE_FULL);
		return;
	}
	/* any segment after a response tells it was sent: the measured request is recorded first */
	collect(skb, f);
	int started = method >= 0 && request_start(skb, f, &seg, &in, n, method);
	/* a FIN with the request itself is a client that half-closes and still waits */
	if ((seg.flags & TCP_RST) || ((seg.flags & TCP_FIN) && !started))
		flow_end(skb, f, HTTP_UNPAIRED_CLOSED);
}

static __always_inline void skb_egress(struct __sk_buff *skb)
{
	struct tcp_seg seg;
	if (tcp_seg_of(skb, &seg))
		return;
	if (seg.payload < skb->len)
		response_start(skb, &seg);
	if (seg.flags & (TCP_FIN | TCP_RST))
		flow_end(skb, flow_of(skb, 0),
			 current_exiting() ? HTTP_UNPAIRED_EXIT : HTTP_UNPAIRED_CLOSED);
}

#endif
