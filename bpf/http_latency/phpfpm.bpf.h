/* http_latency/phpfpm.bpf.h — PHP-FPM pool saturation: requests in flight per pool and the time
 * all of a pool's workers were busy, kept at each request's start and end. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PHPFPM_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_PHPFPM_BPF_H

/*
 * API:
 *   php_pools: struct http_php_pool by pool index (phpfpm.h), mmap-ed by user
 *     space, which writes each pool's workers in place.
 *   phpfpm_start(): a request of the current process starts: its pool (the
 *     pool index of its target entry) has one more in flight; the start
 *     that makes every worker busy opens a saturated interval. Returns the
 *     pool to keep in the request (0: none; counted in slot 0's requests).
 *   phpfpm_end(r): r's request ends or is abandoned: one fewer in flight in
 *     r->pool, and an end that leaves a worker free closes the open interval
 *     into saturated_ns. r->pool is 0 afterwards, so a second end does nothing.
 *   Atomic exchanges, not a lock: the USDT programs are kprobe programs,
 *   which may not take a bpf_spin_lock. in_flight's fetch-add result says
 *   which start or end crossed the line; the interval's start is claimed by
 *   compare-and-swap and taken by exchange, so two CPUs never close it twice.
 *   (lib/atomics.bpf.h: the fetching atomics, kernel 5.12.)
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "lib/atomics.bpf.h"
#include "phpfpm.h"
#include "targets.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, HTTP_PHP_MAX_POOLS);
	__type(key, __u32);
	__type(value, struct http_php_pool);
} php_pools SEC(".maps");

/* user space writes it at any time: read it once, from memory */
static __always_inline __u64 phpfpm_workers(const struct http_php_pool *p)
{
	return *(const volatile __u64 *)&p->workers;
}

static __always_inline __u16 phpfpm_start(void)
{
	struct http_target *t = current_target(bpf_get_current_pid_tgid() >> 32);
	__u32 k = t ? t->pool : 0;
	if (k >= HTTP_PHP_MAX_POOLS)
		k = 0;
	struct http_php_pool *p = bpf_map_lookup_elem(&php_pools, &k);
	if (!p)
		return 0;
	__sync_fetch_and_add(&p->requests, 1);
	if (k == 0)
		return 0;
	__u64 busy = atomic_fetch_add64(&p->in_flight, 1) + 1;
	__u64 workers = phpfpm_workers(p);
	/* every worker busy: the next request waits in the listen queue. Only the first start to
	 * see it stamps the interval (the others find it open). */
	if (workers && busy >= workers)
		atomic_cmpxchg64(&p->saturated_since, 0, bpf_ktime_get_ns());
	return (__u16)k;
}

static __always_inline void phpfpm_end(struct http_php_req *r)
{
	__u32 k = r->pool;
	r->pool = 0;
	if (k == 0 || k >= HTTP_PHP_MAX_POOLS)
		return;
	struct http_php_pool *p = bpf_map_lookup_elem(&php_pools, &k);
	if (!p)
		return;
	__u64 before = atomic_fetch_add64(&p->in_flight, (__u64)-1);
	if (before == 0) {
		/* user space reset the slot under a request of a pool it retired: stay at 0 */
		__sync_fetch_and_add(&p->in_flight, 1);
		return;
	}
	__u64 workers = phpfpm_workers(p);
	if (workers && before - 1 >= workers)
		return; /* still every worker busy */
	/* a worker is free (or the pool lost its workers): close the interval, if one is open.
	 * Checked at every such end, not only at the crossing: user space may have raised
	 * workers (pm=dynamic spawned one) while the interval was open. */
	__u64 since = atomic_xchg64(&p->saturated_since, 0);
	if (since) {
		__u64 now = bpf_ktime_get_ns();
		if (now > since)
			__sync_fetch_and_add(&p->saturated_ns, now - since);
	}
}

#endif
