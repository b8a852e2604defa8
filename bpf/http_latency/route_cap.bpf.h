/* http_latency/route_cap.bpf.h — a request's route admitted under its cgroup's cap of distinct
 * routes, and remembered for its label. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_ROUTE_CAP_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_ROUTE_CAP_BPF_H

/*
 * API:
 *   route_key_of(path, len, &pattern): the key alone (route.bpf.h with the
 *     configured patterns), before admission.
 *   http_route_of(in, cgroup_id): the route key a request with the target
 *     in->path[0..in->len) is counted under (path points at HTTP_ROUTE_LEN
 *     bytes; what follows len is not kept): its key (route.bpf.h) when the
 *     cgroup already has it or has fewer than route_cap routes, else
 *     HTTP_ROUTE_OTHER, counted in HTTP_COUNTER_ROUTES_FOLDED. A route's
 *     first path is kept in routes for user space to name it.
 *   http_route_bytes_hash(words, nwords, n): what a caller keeps beside
 *     the last route it made, to know the same bytes again.
 *   The cap is kept where the keys are made, so a client sending 10,000
 *   distinct paths costs at most route_cap histograms per cgroup; two CPUs
 *   admitting the same cgroup's new routes at once may pass it by one each.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "lib/counters.bpf.h"
#include "lib/maps.bpf.h"
#include "maps.bpf.h"
#include "route.bpf.h"
#include "settings.bpf.h"

static const __u32 route_count_zero;

static __always_inline __u64 route_admit(__u64 cgroup_id, __u64 key, const __u8 *path, __u32 len,
					 __u8 pattern)
{
	struct http_route_seen_key sk = { .cgroup_id = cgroup_id, .route = key };
	__u8 one = 1;

	if (bpf_map_lookup_elem(&route_seen, &sk))
		return key;
	__u32 *n = map_lookup_or_try_init(&route_count, &cgroup_id, &route_count_zero);
	if (!n || *n >= route_cap || bpf_map_update_elem(&route_seen, &sk, &one, BPF_NOEXIST)) {
		counter_inc(&http_counters, HTTP_COUNTER_ROUTES_FOLDED);
		return HTTP_ROUTE_OTHER;
	}
	__sync_fetch_and_add(n, 1);
	if (!bpf_map_lookup_elem(&routes, &key)) {
		/* built in a per-CPU scratch slot: beside the packet buffers it would not fit the
		 * stack, and only a route's first request gets here */
		__u32 zero = 0;
		struct http_route *r = bpf_map_lookup_elem(&route_scratch, &zero);
		if (r) {
			r->pattern = pattern;
			r->len = (__u8)(len < HTTP_ROUTE_LEN ? len : HTTP_ROUTE_LEN);
			__builtin_memcpy(r->path, path, HTTP_ROUTE_LEN);
			/* the caller's buffer may hold other bytes past len */
			for (__u32 i = 0; i < HTTP_ROUTE_LEN; i++)
				if (i >= r->len)
					r->path[i] = 0;
			bpf_map_update_elem(&routes, &key, r, BPF_NOEXIST);
		}
	}
	return key;
}

/* The key of path under the configured patterns (*pattern: which, 0 for none). */
static __always_inline __u64 route_key_of(const __u8 *path, __u32 len, __u8 *pattern)
{
	__u32 n = nroute_patterns < HTTP_MAX_ROUTE_PATTERNS ? nroute_patterns
							    : HTTP_MAX_ROUTE_PATTERNS;
	__u32 zero = 0;
	struct http_route_scratch *segs = bpf_map_lookup_elem(&route_segs, &zero);
	if (!segs)
		return HTTP_ROUTE_NONE;
	return http_route_key(path, len, route_patterns, n, segs, pattern);
}

/*
 * A hash of the first nwords words at words and of n, how many of their bytes were read (the rest
 * are zero): a route made from bytes with the same hash before is theirs, so a caller that keeps
 * the last one (a connection, a worker thread) need not make it again. Each step is a bijection
 * of the running value: inputs that differ in one word never collide.
 */
static __always_inline __u64 http_route_bytes_hash(const __u64 *words, __u32 nwords, __u32 n)
{
	__u64 h = n;
	for (__u32 i = 0; i < nwords; i++)
		h = (h ^ words[i]) * 0x9e3779b97f4a7c15ULL;
	return h;
}

/* A request target handed to http_route_of() (HTTP_ROUTE_BUF: a power of two, see skb_load()). */
struct http_route_input {
	__u8 path[HTTP_ROUTE_BUF];
	__u32 len;
	__u32 pad;
};

/*
 * The route of in->path under its cgroup's cap. A global function, so the verifier checks it
 * once on its own: inlined into each caller (the packet path, the PHP probe, the FastCGI params
 * walk) it was walked once per state its caller arrives with, past the verifier's limit.
 */
__attribute__((noinline)) __u64 http_route_of(struct http_route_input *in, __u64 cgroup_id)
{
	if (!in)
		return HTTP_ROUTE_NONE;
	__u32 len = in->len < HTTP_ROUTE_LEN ? in->len : HTTP_ROUTE_LEN;
	__u8 pattern = 0;
	__u64 key = route_key_of(in->path, len, &pattern);
	return route_admit(cgroup_id, key, in->path, len, pattern);
}

#endif
