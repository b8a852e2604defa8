/* test_histogram.c — bpf/lib/histogram.bpf.h compiled for the host: Prometheus `le` bucketing at,
 * between and beyond the bounds, against a cumulative-count model. */
#include <stdint.h>

#include "bpf/lib/histogram.bpf.h"
#include "test.h"

#define MAX_BOUNDS 32 /* as HTTP_MAX_BUCKETS: the programs' loop bound */

/* Latency bounds in ns, 5 ms .. 10 s, as a collector would configure them. */
static const __u64 bounds[] = { 5000000,    10000000,	25000000,   50000000,
				100000000,  250000000,	500000000,  1000000000,
				2500000000, 5000000000, 10000000000 };
#define NBOUNDS ((__u32)(sizeof(bounds) / sizeof(bounds[0])))

static __u32 bucket(__u64 v)
{
	return hist_bucket_le(bounds, NBOUNDS, MAX_BOUNDS, v);
}

static void test_at_between_beyond(void)
{
	CHECK(bucket(0) == 0, "0 -> %u", bucket(0));
	CHECK(bucket(1) == 0, "1 -> %u", bucket(1));
	/* le: a value equal to a bound is in that bound's bucket, one more is in the next */
	for (__u32 i = 0; i < NBOUNDS; i++) {
		CHECK(bucket(bounds[i]) == i, "bound %u (%llu) -> %u", i,
		      (unsigned long long)bounds[i], bucket(bounds[i]));
		CHECK(bucket(bounds[i] + 1) == i + 1, "bound %u + 1 -> %u", i,
		      bucket(bounds[i] + 1));
		CHECK(bucket(bounds[i] - 1) == i, "bound %u - 1 -> %u", i, bucket(bounds[i] - 1));
	}
	/* above every bound: the +Inf bucket, right after the finite ones */
	CHECK(bucket(bounds[NBOUNDS - 1] + 1) == NBOUNDS, "just above the last -> %u",
	      bucket(bounds[NBOUNDS - 1] + 1));
	CHECK(bucket(UINT64_MAX) == NBOUNDS, "UINT64_MAX -> %u", bucket(UINT64_MAX));
}

static void test_bound_counts(void)
{
	__u64 one = 7;
	/* no finite bounds configured: everything is +Inf, bucket 0 */
	CHECK(hist_bucket_le(bounds, 0, MAX_BOUNDS, 0) == 0, "no bounds, 0");
	CHECK(hist_bucket_le(bounds, 0, MAX_BOUNDS, UINT64_MAX) == 0, "no bounds, max");
	CHECK(hist_bucket_le(&one, 1, MAX_BOUNDS, 7) == 0, "one bound, equal");
	CHECK(hist_bucket_le(&one, 1, MAX_BOUNDS, 8) == 1, "one bound, above");
	/* a count beyond the loop bound is capped: the result still indexes max + 1 buckets */
	__u64 many[MAX_BOUNDS + 8];
	for (__u32 i = 0; i < MAX_BOUNDS + 8; i++)
		many[i] = (i + 1) * 10ull;
	CHECK(hist_bucket_le(many, MAX_BOUNDS + 8, MAX_BOUNDS, UINT64_MAX) == MAX_BOUNDS,
	      "nbounds above max_bounds -> %u",
	      hist_bucket_le(many, MAX_BOUNDS + 8, MAX_BOUNDS, UINT64_MAX));
	CHECK(hist_bucket_le(many, MAX_BOUNDS + 8, MAX_BOUNDS, 10ull * MAX_BOUNDS) ==
		      MAX_BOUNDS - 1,
	      "last bound within max_bounds");
}

/*
 * What Prometheus reads: the cumulative count of bucket k is the number of
 * values <= bounds[k]. Summing the non-cumulative buckets must give exactly that.
 */
static void test_cumulative_model(void)
{
	__u64 counts[MAX_BOUNDS + 1] = { 0 };
	__u64 want_le[NBOUNDS];
	int mismatches = 0;
	const int n = 100000;

	for (__u32 k = 0; k < NBOUNDS; k++)
		want_le[k] = 0;
	for (int r = 0; r < n; r++) {
		__u64 v = test_rng();
		/* mostly values near the bounds, where an off-by-one would show */
		if (r % 4 != 0) {
			__u64 b = bounds[v % NBOUNDS];
			v = b - 2 + (v >> 32) % 5;
		} else {
			v %= 2 * bounds[NBOUNDS - 1];
		}
		__u32 got = bucket(v);
		if (got > NBOUNDS) {
			mismatches++;
			continue;
		}
		counts[got]++;
		for (__u32 k = 0; k < NBOUNDS; k++)
			want_le[k] += v <= bounds[k];
	}
	__u64 cumulative = 0;
	for (__u32 k = 0; k < NBOUNDS; k++) {
		cumulative += counts[k];
		if (cumulative != want_le[k])
			mismatches++;
	}
	cumulative += counts[NBOUNDS];
	CHECK(cumulative == (__u64)n, "+Inf holds every value: %llu of %d",
	      (unsigned long long)cumulative, n);
	CHECK(mismatches == 0, "%d cumulative counts differ from the le model", mismatches);
}

int main(void)
{
	test_at_between_beyond();
	test_bound_counts();
	test_cumulative_model();
	return test_summary("bpf_lib/test_histogram");
}
