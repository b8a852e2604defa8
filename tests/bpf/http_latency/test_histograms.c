/* test_histograms.c — the http_latency histograms: one value per label set for all CPUs, exact
 * under concurrent requests on every CPU, and no map whose memory grows with CPUs x entries. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/types.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/http_latency/http_latency_test.h"
#include "bpf/lib/histogram.bpf.h"
#include "skel/http_latency.skel.h"
#include "skel/http_latency_test.skel.h"
#include "test.h"

static const __u64 bounds_ns[] = { 5000000, 10000000, 25000000, 50000000, 100000000 };
#define NBOUNDS	 (sizeof(bounds_ns) / sizeof(bounds_ns[0]))
#define REQUESTS 40000 /* per thread */

static struct http_latency_test_bpf *skel;

struct worker {
	int cpu, failures;
	__u64 seed;
};

/* The duration of a thread's i-th request: spread over every bucket, bounds themselves included. */
static __u64 duration_of(__u64 seed, int i)
{
	__u64 x = (seed + (__u64)i) * 0x9e3779b97f4a7c15ULL;
	if (i % 5 == 0)
		return bounds_ns[(x >> 7) %
				 NBOUNDS]; /* exactly on a bound: its own bucket (`le`) */
	return (x >> 11) % 150000000ULL;
}

static void *hammer(void *arg)
{
	struct worker *w = arg;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(w->cpu, &set);
	sched_setaffinity(0, sizeof(set), &set); /* best effort: a 1-CPU host still counts */
	for (int i = 0; i < REQUESTS; i++) {
		struct http_test_record r = { .cgroup_id = 7,
					      .route = HTTP_ROUTE_NONE,
					      .duration_ns = duration_of(w->seed, i),
					      .status = 200,
					      .runtime = HTTP_RUNTIME_NODE,
					      .method = HTTP_METHOD_GET };
		LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &r, .ctx_size_in = sizeof(r));
		if (bpf_prog_test_run_opts(bpf_program__fd(skel->progs.record_request), &opts))
			w->failures++;
	}
	return NULL;
}

/* Two threads on two CPUs record into the same label set at once: every request is counted, in
 * its `le` bucket, and the sum is exact (plain adds to a shared value would lose some). */
static void test_concurrent_requests_exact(void)
{
	struct worker w[2] = { { .cpu = 0, .seed = 1 }, { .cpu = 1, .seed = 1000003 } };
	pthread_t th[2];
	__u64 want[HTTP_MAX_BUCKETS + 1] = { 0 }, want_sum = 0;

	for (int t = 0; t < 2; t++)
		for (int i = 0; i < REQUESTS; i++) {
			__u64 d = duration_of(w[t].seed, i);
			want[hist_bucket_le(bounds_ns, NBOUNDS, HTTP_MAX_BUCKETS, d)]++;
			want_sum += d;
		}
	for (int t = 0; t < 2; t++)
		pthread_create(&th[t], NULL, hammer, &w[t]);
	for (int t = 0; t < 2; t++)
		pthread_join(th[t], NULL);
	CHECK(w[0].failures == 0 && w[1].failures == 0, "test runs failed: %d %d", w[0].failures,
	      w[1].failures);

	struct http_hist_key k = { .cgroup_id = 7,
				   .route = HTTP_ROUTE_NONE,
				   .status = 200,
				   .runtime = HTTP_RUNTIME_NODE,
				   .method = HTTP_METHOD_GET };
	struct http_hist h;
	memset(&h, 0, sizeof(h));
	int rc = bpf_map_lookup_elem(bpf_map__fd(skel->maps.hists), &k, &h);
	CHECK(rc == 0, "the label set has a histogram: %d", rc);
	__u64 total = 0;
	int wrong = 0;
	for (size_t b = 0; b <= NBOUNDS; b++) {
		total += h.buckets[b];
		if (h.buckets[b] != want[b]) {
			wrong++;
			printf("# bucket %zu: %llu want %llu\n", b,
			       (unsigned long long)h.buckets[b], (unsigned long long)want[b]);
		}
	}
	CHECK(wrong == 0 && total == 2 * REQUESTS, "every request in its bucket: %llu of %d",
	      (unsigned long long)total, 2 * REQUESTS);
	CHECK(h.sum_ns == want_sum, "sum %llu want %llu", (unsigned long long)h.sum_ns,
	      (unsigned long long)want_sum);
}

/* The collector's own object: no per-CPU hash, and per-CPU arrays only as scratch slots, so its
 * map memory is the same at 2 and at 256 CPUs but for a few hundred bytes per CPU. */
static void test_no_map_grows_with_cpus_times_entries(void)
{
	struct http_latency_bpf *obj = http_latency_bpf__open();
	struct bpf_map *m;
	size_t per_cpu = 0;

	CHECK(obj != NULL, "http_latency skeleton opens: %d", -errno);
	if (!obj)
		return;
	bpf_object__for_each_map (m, obj->obj) {
		enum bpf_map_type t = bpf_map__type(m);
		CHECK(t != BPF_MAP_TYPE_PERCPU_HASH && t != BPF_MAP_TYPE_LRU_PERCPU_HASH,
		      "%s: a per-CPU hash costs CPUs x entries", bpf_map__name(m));
		if (t == BPF_MAP_TYPE_PERCPU_ARRAY)
			per_cpu += (size_t)bpf_map__value_size(m) * bpf_map__max_entries(m);
	}
	CHECK(per_cpu <= 1024, "per-CPU array values: %zu bytes per CPU", per_cpu);
	CHECK(bpf_map__type(obj->maps.hists) == BPF_MAP_TYPE_HASH &&
		      bpf_map__value_size(obj->maps.hists) == sizeof(struct http_hist),
	      "hists: one struct http_hist per label set");
	http_latency_bpf__destroy(obj);
}

int main(void)
{
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	test_no_map_grows_with_cpus_times_entries();
	skel = http_latency_test_bpf__open();
	CHECK(skel != NULL, "http_latency_test skeleton opens");
	if (!skel)
		return test_summary("http_latency/test_histograms");
	for (size_t i = 0; i < NBOUNDS; i++)
		skel->rodata->bucket_ns[i] = bounds_ns[i];
	skel->rodata->nbuckets = NBOUNDS;
	int err = http_latency_test_bpf__load(skel);
	CHECK(err == 0, "http_latency_test loads: %d", err);
	if (!err)
		test_concurrent_requests_exact();
	http_latency_test_bpf__destroy(skel);
	return test_summary("http_latency/test_histograms");
}
