/* http_latency/conn.bpf.h — HTTP mode: a request line read on a connection, the status line written
 * on it, the connection closed. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_CONN_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_CONN_BPF_H

/*
 * API:
 *   http_on_read(tgid, fd, b, n): the first n bytes read on fd are in b; a
 *     request line starts the request of the connection (tgid, fd).
 *   http_on_write(t, tgid, fd, p, len): a write of len bytes at user address
 *     p; a final status line (>= 200) ends the connection's request and
 *     records it.
 *   http_on_close(tgid, fd): forgets the connection; a request still
 *     waiting is counted HTTP_UNPAIRED_CLOSED.
 *   A connection's entry in conns stays from its first request to its
 *   close(): each request and response then only writes fields in place,
 *   where an insert and a delete per request would cost two hash updates.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "lib/counters.bpf.h"
#include "maps.bpf.h"
#include "peek.bpf.h"
#include "record.bpf.h"
#include "request.bpf.h"

/* The current process's start time: a pid reused by a later process does not pair with it. */
static __always_inline __u64 process_start_ns(void)
{
	return bpf_get_current_task_btf()->group_leader->start_time;
}

static __always_inline void http_on_read(__u32 tgid, __u32 fd, const __u8 *b, __u32 n)
{
	int method = http_parse_method(b, n);
	if (method < 0)
		return;
	struct http_conn_key key = { .tgid = tgid, .fd = fd };
	__u64 proc_start = process_start_ns();
	struct http_conn *c = bpf_map_lookup_elem(&conns, &key);
	if (c) {
		if (c->pending && c->proc_start_ns == proc_start) {
			/* documented policy: the first unanswered request is measured */
			counter_inc(&http_counters, HTTP_UNPAIRED_PIPELINED);
			return;
		}
		if (c->pending)
			counter_inc(&http_counters, HTTP_UNPAIRED_STALE);
		c->start_ns = bpf_ktime_get_ns();
		c->proc_start_ns = proc_start;
		c->method = (__u8)method;
		c->pending = 1;
		return;
	}
	struct http_conn nc = { .start_ns = bpf_ktime_get_ns(),
				.proc_start_ns = proc_start,
				.method = (__u8)method,
				.pending = 1 };
	if (bpf_map_update_elem(&conns, &key, &nc, BPF_ANY))
		counter_inc(&http_counters, HTTP_UNPAIRED_STATE_FULL);
}

static __always_inline void http_on_write(const struct http_target *t, __u32 tgid, __u32 fd,
					  __u64 p, __u64 len)
{
	struct http_conn_key key = { .tgid = tgid, .fd = fd };
	struct http_conn *c = bpf_map_lookup_elem(&conns, &key);
	if (!c || !c->pending)
		return;
	__u8 b[HTTP_PEEK] = {};
	int status = http_parse_status(b, peek(b, p, len));
	if (status < 200)
		return; /* not a status line, or 1xx: the final response is still to come */
	__u64 now = bpf_ktime_get_ns();
	if (c->proc_start_ns != process_start_ns())
		counter_inc(&http_counters, HTTP_UNPAIRED_STALE);
	else
		record(t->runtime, c->method, (__u16)status, now - c->start_ns);
	c->pending = 0;
}

static __always_inline void http_on_close(__u32 tgid, __u32 fd)
{
	struct http_conn_key key = { .tgid = tgid, .fd = fd };
	struct http_conn *c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return;
	if (c->pending)
		counter_inc(&http_counters, HTTP_UNPAIRED_CLOSED);
	bpf_map_delete_elem(&conns, &key);
}

#endif
