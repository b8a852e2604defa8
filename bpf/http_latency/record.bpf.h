/* http_latency/record.bpf.h — adds one measured request to the histogram of its label set. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_RECORD_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_RECORD_BPF_H

/*
 * API:
 *   record(cgroup_id, runtime, method, status, route, d): one request of
 *     duration d ns into hists under its label set: its `le` bucket of
 *     bucket_ns (or +Inf) and the sum, with atomic adds (the histogram is
 *     shared by all CPUs). A full map drops it and counts
 *     HTTP_COUNTER_HIST_FULL.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "lib/counters.bpf.h"
#include "lib/histogram.bpf.h"
#include "lib/maps.bpf.h"
#include "maps.bpf.h"
#include "settings.bpf.h"

/* A new label set's first value. In .rodata, not on the stack: a stack copy (272 bytes) would be
 * written on every request, where only a label set's first request needs it. */
static const struct http_hist http_hist_zero = {};

static __always_inline void record(__u64 cgroup_id, __u8 runtime, __u8 method, __u16 status,
				   __u64 route, __u64 d)
{
	struct http_hist_key k = {
		.cgroup_id = cgroup_id,
		.route = route,
		.status = status,
		.runtime = runtime,
		.method = method,
	};
	struct http_hist *h = map_lookup_or_try_init(&hists, &k, &http_hist_zero);

	if (!h) {
		counter_inc(&http_counters, HTTP_COUNTER_HIST_FULL);
		return;
	}
	__u32 b = hist_bucket_le(bucket_ns, nbuckets, HTTP_MAX_BUCKETS, d);
	/* One value for all CPUs, so two of them may add to it at once: atomic adds keep every
	 * request counted (a per-CPU value would cost CPUs x label sets x buckets of memory). */
	/* b cannot exceed HTTP_MAX_BUCKETS; the check shows the verifier the index is in range */
	if (b <= HTTP_MAX_BUCKETS)
		__sync_fetch_and_add(&h->buckets[b], 1);
	__sync_fetch_and_add(&h->sum_ns, d);
}

#endif
