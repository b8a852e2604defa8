/* test_delta.c — window arithmetic: counter and histogram deltas across resets, and quantiles
 * against values computed by hand with PromQL's histogram_quantile rules. */
#include <math.h>
#include <stdint.h>

#include "cli/delta.h"
#include "test.h"

#define NEAR(got, want) \
	CHECK(fabs((got) - (want)) < 1e-9, "got %.12g want %.12g", (double)(got), (double)(want))

static const double bounds[] = { 0.1, 0.5, 1 };

static void test_interpolation(void)
{
	/* 10 in (0, 0.1], 20 in (0.1, 0.5], 10 in (0.5, 1]: 40 requests */
	const uint64_t counts[] = { 10, 20, 10, 0 };
	bool beyond = true;

	/* rank 20: past the first bucket's 10, 10 of the second's 20 -> 0.1 + 0.4 * 10/20 */
	NEAR(hist_quantile(0.5, bounds, 3, counts, &beyond), 0.3);
	CHECK(!beyond, "p50 is inside the buckets");
	/* rank 10 exactly fills the first bucket: its upper bound */
	NEAR(hist_quantile(0.25, bounds, 3, counts, NULL), 0.1);
	/* rank 39.6: 9.6 of the third bucket's 10 -> 0.5 + 0.5 * 0.96 */
	NEAR(hist_quantile(0.99, bounds, 3, counts, NULL), 0.98);
	/* rank 4 in the first bucket interpolates from 0 */
	NEAR(hist_quantile(0.1, bounds, 3, counts, NULL), 0.04);
	NEAR(hist_quantile(0, bounds, 3, counts, NULL), 0);
	CHECK(hist_quantile(-0.1, bounds, 3, counts, NULL) == -INFINITY, "q < 0");
	CHECK(hist_quantile(1.1, bounds, 3, counts, NULL) == INFINITY, "q > 1");
	CHECK(isnan(hist_quantile(NAN, bounds, 3, counts, NULL)), "q NaN");
}

static void test_beyond_last_bound(void)
{
	/* 1 in (0.5, 1], 9 above 1 (+Inf) */
	const uint64_t counts[] = { 0, 0, 1, 9 };
	bool beyond = false;

	/* rank 5 is reached only by +Inf: the last bound, flagged */
	NEAR(hist_quantile(0.5, bounds, 3, counts, &beyond), 1);
	CHECK(beyond, "p50 past the last bound is flagged");
	/* rank 0.5 in the third bucket: 0.5 + 0.5 * 0.5 */
	NEAR(hist_quantile(0.05, bounds, 3, counts, &beyond), 0.75);
	CHECK(!beyond, "p5 is inside the buckets");
	/* q = 1 with observations above the last bound */
	NEAR(hist_quantile(1, bounds, 3, counts, &beyond), 1);
	CHECK(beyond, "p100 past the last bound");
}

static void test_empty(void)
{
	const uint64_t none[] = { 0, 0, 0, 0 };
	const uint64_t later[] = { 0, 5, 0, 0 };
	bool beyond = true;

	CHECK(isnan(hist_quantile(0.5, bounds, 3, none, &beyond)), "no requests: NaN");
	CHECK(!beyond, "no requests: not beyond");
	/* q = 0 on an empty first bucket: 0/0 in Prometheus too */
	CHECK(isnan(hist_quantile(0, bounds, 3, later, NULL)), "q 0, empty first bucket");
	NEAR(hist_quantile(0.5, bounds, 3, later, NULL), 0.1 + 0.4 * 0.5);
	CHECK(isnan(hist_quantile(0.5, bounds, 0, later, NULL)), "no bounds: NaN");
}

static void test_nonpositive_first_bound(void)
{
	const double b[] = { 0, 1 };
	const uint64_t counts[] = { 4, 4, 0 };

	/* a first bucket ending at or below 0 is not interpolated: its bound */
	NEAR(hist_quantile(0.25, b, 2, counts, NULL), 0);
	NEAR(hist_quantile(0.75, b, 2, counts, NULL), 0.5);
}

static void test_deltas(void)
{
	const uint64_t before[] = { 5, 2, 0, 1 };
	const uint64_t after[] = { 7, 2, 3, 1 };
	const uint64_t restarted[] = { 1, 0, 0, 0 };
	uint64_t out[4];

	CHECK(!hist_delta(after, before, 4, out), "no reset");
	CHECK(out[0] == 2 && out[1] == 0 && out[2] == 3 && out[3] == 0,
	      "deltas %llu %llu %llu %llu", (unsigned long long)out[0], (unsigned long long)out[1],
	      (unsigned long long)out[2], (unsigned long long)out[3]);
	CHECK(hist_delta(restarted, before, 4, out), "a bucket that went down is a reset");
	CHECK(out[0] == 1 && out[1] == 0 && out[2] == 0 && out[3] == 0,
	      "after a reset the window counts from zero");
	CHECK(!hist_delta(after, NULL, 4, out), "a new series is not a reset");
	CHECK(out[0] == 7 && out[2] == 3, "a new series counts from zero");
	NEAR(counter_delta(5.5, 3), 2.5);
	NEAR(counter_delta(3, 5.5), 3);
	NEAR(counter_delta(4, 4), 0);
}

int main(void)
{
	test_interpolation();
	test_beyond_last_bound();
	test_empty();
	test_nonpositive_first_bound();
	test_deltas();
	return test_summary("test_delta");
}
