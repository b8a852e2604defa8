/* test_phpfpm.c — PHP-FPM pool saturation in the kernel (bpf/http_latency/phpfpm.bpf.h): requests
 * in flight per pool and the saturated interval, through the USDT and exit wrappers of
 * bpf/http_latency/http_latency_test.bpf.c on this test's own threads. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/types.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpf/http_latency/http_latency_test.h"
#include "bpf/http_latency/phpfpm.h"
#include "skel/http_latency_test.skel.h"
#include "test.h"

#define POOL 3

static struct http_latency_test_bpf *skel;

static int run_prog(struct bpf_program *prog, void *ctx, size_t size)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = (__u32)size);
	return bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* this process: a USDT-mode PHP target of pool `pool` */
static void become_worker(__u16 pool)
{
	__u32 tgid = (__u32)getpid(), word = tgid / 64;
	struct http_target t = { .runtime = HTTP_RUNTIME_PHP,
				 .mode = HTTP_MODE_PHP_USDT,
				 .pool = pool };
	__u64 bits = 0;
	CHECK(bpf_map_update_elem(bpf_map__fd(skel->maps.targets), &tgid, &t, BPF_ANY) == 0,
	      "this process is a worker of pool %u", pool);
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.target_bits), &word, &bits);
	bits |= 1ull << (tgid & 63);
	bpf_map_update_elem(bpf_map__fd(skel->maps.target_bits), &word, &bits, BPF_ANY);
}

static struct http_php_pool pool_read(__u32 i)
{
	struct http_php_pool p;
	memset(&p, 0, sizeof(p));
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.php_pools), &i, &p);
	return p;
}

static void set_workers(__u64 workers)
{
	__u32 i = POOL;
	struct http_php_pool p = pool_read(i);
	p.workers = workers;
	bpf_map_update_elem(bpf_map__fd(skel->maps.php_pools), &i, &p, BPF_ANY);
}

static void start(void)
{
	struct http_test_usdt u = { .method = (__u64)(uintptr_t) "GET",
				    .uri = (__u64)(uintptr_t) "/x" };
	CHECK(run_prog(skel->progs.usdt_startup_test, &u, sizeof(u)) == 0, "startup runs");
}

static void end(void)
{
	CHECK(run_prog(skel->progs.usdt_shutdown_test, NULL, 0) == 0, "shutdown runs");
}

static void thread_exits(void)
{
	CHECK(run_prog(skel->progs.thread_exit_test, NULL, 0) == 0, "exit runs");
}

static struct http_php_pool seen_by_second; /* the pool while the second thread's request ran */

static void *second_worker(void *arg)
{
	(void)arg;
	start();
	seen_by_second = pool_read(POOL);
	usleep(10000);
	end();
	return NULL;
}

static void test_one_worker(void)
{
	set_workers(1);
	uint64_t t0 = now_ns();
	start();
	struct http_php_pool p = pool_read(POOL);
	CHECK(p.in_flight == 1 && p.saturated_since != 0, "1 worker, 1 request: saturated (%llu)",
	      (unsigned long long)p.in_flight);
	usleep(20000);
	end();
	uint64_t wall = now_ns() - t0;
	p = pool_read(POOL);
	CHECK(p.in_flight == 0 && p.saturated_since == 0, "its end frees the worker: closed");
	CHECK(p.saturated_ns >= 20000000 && p.saturated_ns <= wall,
	      "saturated %llu ns: the 20 ms request, at most the %llu ns around it",
	      (unsigned long long)p.saturated_ns, (unsigned long long)wall);

	/* a startup while one is in flight replaces it (php-fpm starts one only after the last) */
	__u64 before = p.saturated_ns;
	start();
	start();
	CHECK(pool_read(POOL).in_flight == 1, "a replaced request leaves the pool: in flight 1");
	end();
	CHECK(pool_read(POOL).in_flight == 0, "and 0 after its end");

	/* the worker thread ends mid-request */
	start();
	thread_exits();
	p = pool_read(POOL);
	CHECK(p.in_flight == 0 && p.saturated_since == 0 && p.saturated_ns > before,
	      "a thread ending mid-request leaves the pool and closes the interval");
	end();
	CHECK(pool_read(POOL).in_flight == 0, "a shutdown after it changes nothing");
}

static void test_two_workers(void)
{
	set_workers(2);
	__u64 before = pool_read(POOL).saturated_ns;
	start();
	struct http_php_pool p = pool_read(POOL);
	CHECK(p.in_flight == 1 && p.saturated_since == 0, "2 workers, 1 request: not saturated");
	pthread_t th;
	pthread_create(&th, NULL, second_worker, NULL);
	pthread_join(th, NULL);
	CHECK(seen_by_second.in_flight == 2 && seen_by_second.saturated_since != 0,
	      "a second request on another thread: both busy, saturated");
	p = pool_read(POOL);
	CHECK(p.in_flight == 1 && p.saturated_since == 0 && p.saturated_ns >= before + 10000000,
	      "its end closes the interval (>= its 10 ms): %llu",
	      (unsigned long long)(p.saturated_ns - before));
	end();
	p = pool_read(POOL);
	CHECK(p.in_flight == 0 && p.saturated_ns - before < 1000000000ull, "all ended");
}

static void test_no_pool(void)
{
	become_worker(0);
	__u32 zero = 0;
	struct http_php_pool z0 = pool_read(zero), p0 = pool_read(POOL);
	start();
	struct http_php_pool z1 = pool_read(zero), p1 = pool_read(POOL);
	CHECK(z1.requests == z0.requests + 1 && z1.in_flight == 0 && p1.in_flight == p0.in_flight,
	      "a worker without a pool: counted unattributed, in no pool's flight");
	end();
}

int main(void)
{
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	skel = http_latency_test_bpf__open();
	CHECK(skel != NULL, "http_latency_test skeleton opens: %d", -errno);
	if (!skel)
		return test_summary("http_latency/test_phpfpm");
	skel->rodata->bucket_ns[0] = 1000000000ULL;
	skel->rodata->nbuckets = 1;
	int err = http_latency_test_bpf__load(skel);
	CHECK(err == 0, "http_latency_test loads: %d", err);
	if (!err) {
		become_worker(POOL);
		test_one_worker();
		test_two_workers();
		test_no_pool();
	}
	http_latency_test_bpf__destroy(skel);
	return test_summary("http_latency/test_phpfpm");
}
