/* lib/histogram.bpf.h — the bucket a value falls in, with Prometheus `le` bounds. Plain C: the BPF
 * programs build their histograms with it and tests/unit/bpf_lib/test_histogram.c runs it on the
 * host. */
#ifndef HOSTMON_BPF_LIB_HISTOGRAM_BPF_H
#define HOSTMON_BPF_LIB_HISTOGRAM_BPF_H

/*
 * API:
 *   hist_bucket_le(bounds, nbounds, max_bounds, value): the index of the first
 *     of bounds[0..nbounds) that is >= value, so a value equal to a bound
 *     falls in that bound's bucket (Prometheus `le`); nbounds when value is
 *     above every bound (the +Inf bucket). bounds must be ascending. Never
 *     more than max_bounds, whatever nbounds says: an array of
 *     max_bounds + 1 buckets can take the result.
 *     max_bounds must be a compile-time constant: it is the loop bound the
 *     verifier walks (nbounds is only known at load time).
 *   The buckets are not cumulative; the reader sums them for `le` counts.
 */

#include "plain_c.bpf.h"

/* bounds is const volatile so a program can pass its load-time .rodata array as it is. */
static __always_inline __u32 hist_bucket_le(const volatile __u64 *bounds, __u32 nbounds,
					    __u32 max_bounds, __u64 value)
{
	__u32 i;

	for (i = 0; i < max_bounds; i++) {
		if (i >= nbounds || value <= bounds[i])
			break;
	}
	return i;
}

#endif
