/* http_latency/php.bpf.h — PHP-FPM requests per worker: USDT or FastCGI start, status and end from
 * the FastCGI records the worker writes. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PHP_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_PHP_BPF_H

/*
 * API:
 *   A worker thread's request is its task storage in php_reqs (struct
 *   http_php_req, active while one is in flight), so it goes with the
 *   thread: nothing to sweep, no pid reuse to mistake, nothing to size.
 *   php_on_read(mode, fd, b, n, p, got): the current worker thread (its
 *     target in mode) read got bytes at user address p on fd, the first n
 *     of them in b: FCGI_BEGIN_REQUEST starts a request (FastCGI mode), the
 *     FCGI_PARAMS body that follows gives its route from REQUEST_URI (both
 *     modes: in USDT mode it is kept for the startup probe, whose own
 *     request_uri is the script, /index.php, behind a front controller) and
 *     its method (FastCGI mode).
 *   php_on_write(t, fd, p, len): the worker wrote FastCGI records: the
 *     first FCGI_STDOUT gives the status, FCGI_END_REQUEST ends the request
 *     (FastCGI mode; in USDT mode the shutdown probe ends it).
 *   php_usdt_start(method, uri), php_usdt_end(): php:request__startup and
 *     __shutdown in the current thread (user strings method and uri); they
 *     do nothing unless its process is a target in USDT mode. The route is
 *     REQUEST_URI's when the request's FCGI_PARAMS were read, else uri's.
 *   php_task_gone(task): task ends (or execs another program) with its
 *     request unanswered: counted HTTP_UNPAIRED_EXIT.
 *   php_end(t, r): records the worker's request r and ends it.
 *   Every start and end also counts the worker's pool (phpfpm.bpf.h).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "lib/counters.bpf.h"
#include "maps.bpf.h"
#include "peek.bpf.h"
#include "phpfpm.bpf.h"
#include "record.bpf.h"
#include "request.bpf.h"
#include "route_cap.bpf.h"
#include "targets.bpf.h"

/* The current thread's request state; created only when a request starts. */
static __always_inline struct http_php_req *php_req(int create)
{
	return bpf_task_storage_get(&php_reqs, bpf_get_current_task_btf(), 0,
				    create ? BPF_LOCAL_STORAGE_GET_F_CREATE : 0);
}

static __always_inline void php_end(const struct http_target *t, struct http_php_req *r)
{
	record(bpf_get_current_cgroup_id(), t->runtime, r->method, r->status ? r->status : 200,
	       r->route, bpf_ktime_get_ns() - r->start_ns);
	phpfpm_end(r);
	r->active = 0;
	r->params_next = 0;
	r->route = HTTP_ROUTE_NONE; /* USDT mode: the next request's params give its own */
}

/* A new request of the current thread: its state, reset, or NULL (counted) without room. */
static __always_inline struct http_php_req *php_begin(__u32 fd)
{
	struct http_php_req *r = php_req(1);
	if (!r) {
		counter_inc(&http_counters, HTTP_UNPAIRED_STATE_FULL);
		return NULL;
	}
	phpfpm_end(r); /* a request replaced leaves its pool */
	/* the request's fields; the route memo stays */
	__builtin_memset(r, 0, __builtin_offsetof(struct http_php_req, memo_hash));
	r->start_ns = bpf_ktime_get_ns();
	r->fd = fd;
	r->active = 1;
	r->pool = phpfpm_start();
	return r;
}

/*
 * The route of the in->len URI bytes in in (zero past them) under the current cgroup's cap: the
 * thread's last one when the same bytes come again in the same cgroup (a worker serving one
 * endpoint over and over makes its route once), else made and kept. A route folded into
 * "other" is not kept, so every request folded is counted so.
 */
static __always_inline __u64 php_route_memo(struct http_php_req *r, struct http_route_input *in)
{
	__u64 cg = bpf_get_current_cgroup_id();
	__u64 h = http_route_bytes_hash((const __u64 *)in->path, HTTP_ROUTE_LEN / 8, in->len);
	if (r->memo_route > HTTP_ROUTE_OTHER && r->memo_hash == h && r->memo_cgroup == cg)
		return r->memo_route;
	__u64 route = http_route_of(in, cg);
	r->memo_hash = h;
	r->memo_cgroup = cg;
	r->memo_route = route;
	return route;
}

/*
 * A worker writes FastCGI records: the first FCGI_STDOUT gives the status, an
 * FCGI_END_REQUEST ends the request (FastCGI mode). php-fpm writes them with
 * write(2), several records in one buffer: walk at most 8 headers.
 */
static __always_inline void php_on_write(const struct http_target *t, __u32 fd, __u64 p, __u64 len)
{
	struct http_php_req *r = php_req(0);
	if (!r || !r->active)
		return;
	if (t->mode == HTTP_MODE_PHP_FCGI && r->fd != fd)
		return;
	__u64 off = 0;
	for (int i = 0; i < 8; i++) {
		__u8 b[HTTP_PEEK] = {};
		__u32 clen, pad;
		if (off >= len)
			return;
		__u32 n = peek(b, p + off, len - off);
		int type = fcgi_parse_header(b, n, &clen, &pad);
		if (type < 0)
			return;
		if (type == FCGI_STDOUT && r->status == 0) {
			int s = fcgi_parse_stdout_status(b, n);
			r->status = s > 0 ? (__u16)s : 200;
		}
		if (type == FCGI_END_REQUEST && t->mode == HTTP_MODE_PHP_FCGI) {
			php_end(t, r);
			return;
		}
		off += FCGI_HEADER_LEN + clen + pad;
	}
}

/*
 * One pair of an FCGI_PARAMS body's walk (its state: the CPU's struct php_params_window, ctx
 * points at a pointer to it); 1 once the walk is over (both found, the body ended, a fault). A
 * callback of bpf_loop(): a loop here, inlined, is more than the verifier will walk once the
 * window's refills multiply its paths.
 */
static long php_params_step(__u32 i, void *ctx)
{
	struct php_params_window *k = *(struct php_params_window **)ctx;
	__u64 off = k->off;

	(void)i;
	if (off >= k->len)
		return 1;
	/* a window from this pair on when the part of it looked at may not be in this one */
	if (off + PHP_PAIR_LOOK > k->base + k->have && k->base + k->have < k->len) {
		__u64 n = k->len - off < PHP_PARAMS_WINDOW ? k->len - off : PHP_PARAMS_WINDOW;
		asm volatile("" : "+r"(n)); /* keep the mask below: the verifier needs it */
		if (bpf_probe_read_user(k->b, ((n - 1) & (PHP_PARAMS_WINDOW - 1)) + 1,
					(const void *)(k->p + off)))
			return 1;
		k->base = off;
		k->have = n;
	}
	__u64 o = off - k->base;
	if (o >= PHP_PARAMS_WINDOW)
		return 1; /* not reached (off < base + have): bounds the index for the verifier */
	const __u8 *b = k->b + o;
	__u64 avail = k->have - o;
	if (avail < 2)
		return 1;
	__u32 nlen, vlen, at;
	/* lengths: one byte, or four with the high bit set */
	if (b[0] & 0x80) {
		if (avail < 8)
			return 1;
		nlen = ((__u32)(b[0] & 0x7f) << 24) | ((__u32)b[1] << 16) | ((__u32)b[2] << 8) |
		       b[3];
		if (b[4] & 0x80)
			vlen = ((__u32)(b[4] & 0x7f) << 24) | ((__u32)b[5] << 16) |
			       ((__u32)b[6] << 8) | b[7];
		else
			vlen = b[4];
		at = b[4] & 0x80 ? 8 : 5;
	} else {
		nlen = b[0];
		if (b[1] & 0x80) {
			if (avail < 5)
				return 1;
			vlen = ((__u32)(b[1] & 0x7f) << 24) | ((__u32)b[2] << 16) |
			       ((__u32)b[3] << 8) | b[4];
		} else {
			vlen = b[1];
		}
		at = b[1] & 0x80 ? 5 : 2;
	}
	/* both names start "REQUEST_": METHOD (14 bytes) or URI (11) */
	const __u8 *name = b + at;
	if ((nlen == 14 || nlen == 11) && avail >= at + nlen && name[0] == 'R' && name[1] == 'E' &&
	    name[2] == 'Q' && name[7] == '_') {
		if (nlen == 14 && name[8] == 'M' && name[13] == 'D') {
			__u64 vn = vlen < 8 ? vlen : 8;
			if (vn > avail - at - 14)
				vn = avail - at - 14;
			k->method = vn >= 3 && vn < 8
					    ? (__u8)http_known_method(name + 14, (__u32)vn)
					    : HTTP_METHOD_OTHER;
			k->method_seen = 1;
		} else if (nlen == 11 && name[8] == 'U' && name[10] == 'I') {
			k->uri = k->p + off + at + 11;
			k->uri_len = vlen;
		}
	}
	k->off = off + at + nlen + vlen;
	return k->method_seen && k->uri;
}

/*
 * REQUEST_METHOD and REQUEST_URI from an FCGI_PARAMS body at user address p: at most 16 pairs
 * are looked at. The body is copied into the CPU's params window (maps.bpf.h) a window at a
 * time and the pairs are walked there: one user read for all the pairs a window holds, not one
 * per pair and one more per candidate name. The URI's route is made after the walk, once.
 */
static __always_inline void php_params(struct http_php_req *r, __u64 p, __u64 len)
{
	__u32 zero = 0;
	struct php_params_window *k = bpf_map_lookup_elem(&php_params_buf, &zero);

	if (!k)
		return;
	k->p = p;
	k->len = len;
	k->base = k->have = k->off = k->uri = 0;
	k->uri_len = 0;
	k->method_seen = 0;
	bpf_loop(16, php_params_step, &k, 0);
	if (k->method_seen)
		r->method = k->method;
	__u64 uri = k->uri;
	__u32 n = k->uri_len < HTTP_ROUTE_LEN ? k->uri_len : HTTP_ROUTE_LEN;
	if (uri && n) {
		struct http_route_input in = {};
		/* masked for the verifier (1..HTTP_ROUTE_BUF); the barrier keeps clang from
		 * dropping a mask it can prove changes nothing */
		asm volatile("" : "+r"(n));
		if (bpf_probe_read_user(in.path, ((n - 1) & (HTTP_ROUTE_BUF - 1)) + 1,
					(const void *)uri) == 0) {
			in.len = n;
			r->route = php_route_memo(r, &in);
		}
	}
}

/* USDT mode: a FastCGI request arrives before its startup probe; its params are read for the
 * route only, into the thread's state while no request is in flight there. */
static __always_inline void php_usdt_arrived(struct http_php_req *r, __u32 fd)
{
	if (!r)
		r = php_req(1);
	if (!r || r->active)
		return; /* no room (the startup probe counts it), or a request that never ended */
	r->fd = fd;
	r->route = HTTP_ROUTE_NONE;
	r->params_next = 0;
}

static __always_inline void php_on_read(__u8 mode, __u32 fd, const __u8 *b, __u32 n, __u64 p,
					__u64 got)
{
	struct http_php_req *r = php_req(0);
	__u32 clen, pad;

	/* the request whose params are read: in flight (FastCGI mode), or arrived and not yet
	 * started by the probe (USDT mode) */
	int usdt = mode == HTTP_MODE_PHP_USDT;
	struct http_php_req *q = r && r->active != usdt ? r : NULL;
	if (q && q->params_next && q->fd == fd) {
		q->params_next = 0;
		php_params(q, p, got < q->params_len ? got : q->params_len);
		return;
	}
	int type = fcgi_parse_header(b, n, &clen, &pad);
	if (type == FCGI_BEGIN_REQUEST) {
		if (usdt) {
			php_usdt_arrived(r, fd);
			return;
		}
		/* a request still here never ended */
		if (q)
			counter_inc(&http_counters, HTTP_UNPAIRED_NO_START);
		php_begin(fd);
	} else if (type == FCGI_PARAMS && q && q->fd == fd && clen && n == FCGI_HEADER_LEN) {
		q->params_next = 1;
		q->params_len = clen;
	}
}

static __always_inline int php_method(__u64 str)
{
	__u8 v[HTTP_PEEK] = {};
	long n = bpf_probe_read_user_str(v, 9, (const void *)str);
	if (n < 4 || n > 8)
		return HTTP_METHOD_OTHER;
	return http_known_method(v, (__u32)n - 1);
}

static __always_inline __u64 php_route(struct http_php_req *r, __u64 str)
{
	struct http_route_input in = {};
	long n = bpf_probe_read_user_str(in.path, HTTP_ROUTE_LEN + 1, (const void *)str);
	if (n <= 1)
		return HTTP_ROUTE_NONE;
	in.len = (__u32)n - 1;
	return php_route_memo(r, &in);
}

/* The current process, when it is a PHP-FPM target measured through USDT. */
static __always_inline struct http_target *php_usdt_target(void)
{
	struct http_target *t = current_target(bpf_get_current_pid_tgid() >> 32);
	return t && t->mode == HTTP_MODE_PHP_USDT ? t : NULL;
}

static __always_inline void php_usdt_start(__u64 method, __u64 uri)
{
	if (!php_usdt_target())
		return;
	/* REQUEST_URI of the params read since the last request ended (php_on_read) */
	struct http_php_req *r = php_req(0);
	__u64 route = r && !r->active ? r->route : HTTP_ROUTE_NONE;
	/* a request still in flight is replaced: php-fpm starts one only after the last ended */
	r = php_begin(0);
	if (!r)
		return;
	r->method = (__u8)php_method(method);
	r->route = route != HTTP_ROUTE_NONE ? route : php_route(r, uri);
}

static __always_inline void php_usdt_end(void)
{
	struct http_target *t = php_usdt_target();
	if (!t)
		return;
	struct http_php_req *r = php_req(0);
	if (!r || !r->active) {
		counter_inc(&http_counters, HTTP_UNPAIRED_NO_START);
		return;
	}
	php_end(t, r);
}

/* Runs for every task that exits: a lookup without create finds nothing for all but PHP workers
 * that once had a request, so no target check is needed first (and a thread that outlives its
 * process's leader, whose exit removed the target, is still counted). */
static __always_inline void php_task_gone(struct task_struct *task)
{
	struct http_php_req *r = bpf_task_storage_get(&php_reqs, task, 0, 0);
	if (r && r->active) {
		phpfpm_end(r);
		r->active = 0;
		counter_inc(&http_counters, HTTP_UNPAIRED_EXIT);
	}
}

#endif
