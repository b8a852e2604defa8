/* test_php.c — what the tp_btf sys_enter/sys_exit, USDT and sched_process_exit programs do for a
 * PHP-FPM worker, run in the kernel on this test's own thread (the syscall wrappers in
 * bpf/http_latency/http_latency_test.bpf.c around php.bpf.h and php_syscalls.bpf.h, whose
 * read and write logic the socket-path tier shares through php_io.bpf.h): a FastCGI request from
 * its records, USDT requests (their route from the params read), and the request state that
 * lives in task storage. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/types.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpf/http_latency/http_latency_test.h"
#include "php_test.h"
#include "skel/http_latency_test.skel.h"
#include "test.h"

#define NR_READ	 0 /* x86-64; the wrappers take the numbers the programs see */
#define NR_WRITE 1
#define FCGI_FD	 9

static struct http_latency_test_bpf *skel;

static int run_prog(struct bpf_program *prog, void *ctx, size_t size)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = ctx, .ctx_size_in = (__u32)size);
	return bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
}

/* One syscall of this thread as the tp_btf programs see it: sys_enter, then sys_exit with ret. */
static void syscall_seen(long id, __u64 fd, const void *buf, size_t len, long ret)
{
	struct http_test_syscall c = {
		.id = id, .arg1 = fd, .arg2 = (__u64)(uintptr_t)buf, .arg3 = len, .ret = ret
	};
	CHECK(run_prog(skel->progs.sys_enter_test, &c, sizeof(c)) == 0, "sys_enter runs");
	CHECK(run_prog(skel->progs.sys_exit_test, &c, sizeof(c)) == 0, "sys_exit runs");
}

static void become_target(__u8 mode)
{
	php_test_become_target(bpf_map__fd(skel->maps.targets), bpf_map__fd(skel->maps.target_bits),
			       mode);
}

static __u64 counter(__u32 slot)
{
	int n = libbpf_num_possible_cpus();
	__u64 v[n > 0 ? n : 1], sum = 0;
	memset(v, 0, sizeof(v));
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.http_counters), &slot, v);
	for (int c = 0; c < n; c++)
		sum += v[c];
	return sum;
}

/* Requests recorded with this status (every histogram of the test object: only ours). */
static __u64 recorded(__u16 status, __u8 method, struct http_hist_key *found)
{
	return php_test_recorded(bpf_map__fd(skel->maps.hists), status, method, found);
}

/* The records php-fpm reads and writes for POST /users/42 answered 404, as the worker's
 * syscalls carry them: one request, method, status and route from the records. */
static void test_fastcgi_request(void)
{
	__u8 begin[16], params_head[8], params[64], out[128];
	const __u8 role[8] = { 0, 1 };
	size_t nb = fcgi_record(begin, 1 /* BEGIN_REQUEST */, role, sizeof(role));
	size_t np = fcgi_pair(params, "REQUEST_METHOD", "POST");
	np += fcgi_pair(params + np, "REQUEST_URI", "/users/42?x=1");
	__u8 h[8] = { 1, 4 /* PARAMS */, 0, 1, 0, (__u8)np, 0, 0 };
	memcpy(params_head, h, 8);
	const char *body = "Status: 404 Not Found\r\n\r\nno";
	size_t no = fcgi_record(out, 6 /* STDOUT */, body, strlen(body));
	const __u8 end[8] = { 0 };
	no += fcgi_record(out + no, 3 /* END_REQUEST */, end, sizeof(end));

	become_target(HTTP_MODE_PHP_FCGI);
	syscall_seen(NR_READ, FCGI_FD, begin, sizeof(begin), (long)nb);
	syscall_seen(NR_READ, FCGI_FD, params_head, sizeof(params_head), 8);
	syscall_seen(NR_READ, FCGI_FD, params, sizeof(params), (long)np);
	CHECK(recorded(404, HTTP_METHOD_POST, NULL) == 0, "nothing recorded before the response");
	syscall_seen(NR_WRITE, FCGI_FD, out, no, (long)no);

	struct http_hist_key k = { 0 };
	CHECK(recorded(404, HTTP_METHOD_POST, &k) == 1, "one POST 404 recorded");
	CHECK(k.runtime == HTTP_RUNTIME_PHP && k.route > HTTP_ROUTE_OTHER,
	      "runtime php, a route from REQUEST_URI: runtime %u route %llu", k.runtime,
	      (unsigned long long)k.route);
	struct http_route r;
	CHECK(bpf_map_lookup_elem(bpf_map__fd(skel->maps.routes), &k.route, &r) == 0 &&
		      r.len == 13 && memcmp(r.path, "/users/42?x=1", 13) == 0,
	      "the route keeps its first URI for its label: %.*s", (int)r.len, r.path);

	/* the same END_REQUEST again belongs to no request: nothing more is recorded */
	syscall_seen(NR_WRITE, FCGI_FD, out, no, (long)no);
	CHECK(recorded(404, HTTP_METHOD_POST, NULL) == 1, "an END_REQUEST without a request");

	/* a BEGIN_REQUEST while one is in flight: the first never ended */
	__u64 no_start = counter(HTTP_UNPAIRED_NO_START);
	syscall_seen(NR_READ, FCGI_FD, begin, sizeof(begin), (long)nb);
	syscall_seen(NR_READ, FCGI_FD, begin, sizeof(begin), (long)nb);
	CHECK(counter(HTTP_UNPAIRED_NO_START) == no_start + 1, "a request that never ended: %llu",
	      (unsigned long long)(counter(HTTP_UNPAIRED_NO_START) - no_start));
	syscall_seen(NR_WRITE, FCGI_FD, out, no, (long)no);
	CHECK(recorded(404, HTTP_METHOD_OTHER, NULL) == 1, "the second one is recorded");
}

/* One FastCGI-mode request whose FCGI_PARAMS body (np bytes at params) the worker reads in one
 * piece, answered with status: its method and the first path of its route (key: its histogram's
 * key, when not NULL). */
static __u8 fastcgi_params_request_key(const __u8 *params, size_t np, __u16 status, char *path,
				       size_t len, struct http_hist_key *key)
{
	__u8 begin[16], params_head[8], out[64];
	const __u8 role[8] = { 0, 1 };
	size_t nb = fcgi_record(begin, 1 /* BEGIN_REQUEST */, role, sizeof(role));
	__u8 h[8] = { 1, 4 /* PARAMS */, 0, 1, (__u8)(np >> 8), (__u8)np, 0, 0 };
	memcpy(params_head, h, 8);
	char body[32];
	snprintf(body, sizeof(body), "Status: %u X\r\n\r\n", status);
	size_t no = fcgi_record(out, 6 /* STDOUT */, body, strlen(body));
	const __u8 end[8] = { 0 };
	no += fcgi_record(out + no, 3 /* END_REQUEST */, end, sizeof(end));

	syscall_seen(NR_READ, FCGI_FD, begin, sizeof(begin), (long)nb);
	syscall_seen(NR_READ, FCGI_FD, params_head, sizeof(params_head), 8);
	syscall_seen(NR_READ, FCGI_FD, params, np, (long)np);
	syscall_seen(NR_WRITE, FCGI_FD, out, no, (long)no);

	struct http_hist_key k = { 0 }, none = { 0 };
	for (__u8 m = 0; m < HTTP_METHOD_N; m++)
		if (recorded(status, m, &k) == 1)
			break;
	if (k.status != status) {
		CHECK(0, "a request answered %u recorded", status);
		k = none;
	}
	snprintf(path, len, "%s",
		 k.route > HTTP_ROUTE_OTHER
			 ? php_test_route_path(bpf_map__fd(skel->maps.routes), k.route,
					       (char[HTTP_ROUTE_LEN + 1]){ 0 }, HTTP_ROUTE_LEN + 1)
			 : "");
	if (key)
		*key = k;
	return k.method;
}

static __u8 fastcgi_params_request(const __u8 *params, size_t np, __u16 status, char *path,
				   size_t len)
{
	return fastcgi_params_request_key(params, np, status, path, len, NULL);
}

/* The route key of one FastCGI-mode request for uri answered status. */
static __u64 uri_route(const char *uri, __u16 status, struct http_hist_key *k)
{
	__u8 params[128];
	char path[HTTP_ROUTE_LEN + 1];
	size_t np = fcgi_pair(params, "REQUEST_METHOD", "GET");
	np += fcgi_pair(params + np, "REQUEST_URI", uri);
	fastcgi_params_request_key(params, np, status, path, sizeof(path), k);
	return k->route;
}

/* This thread's request state (php_reqs, by pidfd as user space reaches task storage): read, or
 * written with what a test puts there. */
static int php_state(int pidfd, struct http_php_req *r, int write)
{
	int fd = bpf_map__fd(skel->maps.php_reqs);
	return write ? bpf_map_update_elem(fd, &pidfd, r, BPF_EXIST)
		     : bpf_map_lookup_elem(fd, &pidfd, r);
}

/*
 * The route memo of a worker thread: the route made for a URI is kept with its bytes' hash and
 * cgroup, and the same bytes in the same cgroup again are served from it; other bytes, another
 * cgroup, or a route folded into "other" (each such request counted folded) are made again.
 * The memo is seen and planted through the thread's task storage.
 */
static void test_route_memo(void)
{
	struct http_hist_key k = { 0 };
	struct http_php_req r;
	int pidfd = (int)syscall(SYS_pidfd_open, getpid(), 0);
	CHECK(pidfd >= 0, "pidfd_open: %d", -errno);
	if (pidfd < 0)
		return;
	become_target(HTTP_MODE_PHP_FCGI);

	__u64 first = uri_route("/memo/1", 221, &k);
	__u64 cg = k.cgroup_id;
	CHECK(first > HTTP_ROUTE_OTHER && php_state(pidfd, &r, 0) == 0 && r.memo_route == first &&
		      r.memo_cgroup == cg && r.memo_hash != 0,
	      "the route made is kept with its cgroup: route %llu memo %llu",
	      (unsigned long long)first, (unsigned long long)r.memo_route);

	/* a key planted in the memo is what the same bytes get: it is used, not made again */
	const __u64 planted = 0x5eed;
	r.memo_route = planted;
	php_state(pidfd, &r, 1);
	CHECK(uri_route("/memo/1", 222, &k) == planted, "the same bytes are served from the memo");

	/* another cgroup's memo: made again, under this cgroup */
	r.memo_route = planted;
	r.memo_cgroup = cg + 1;
	php_state(pidfd, &r, 1);
	CHECK(uri_route("/memo/1", 223, &k) == first && php_state(pidfd, &r, 0) == 0 &&
		      r.memo_cgroup == cg,
	      "a memo of another cgroup is not used: route %llu", (unsigned long long)k.route);

	/* other bytes (the same folded route): made again, not the memo's */
	r.memo_route = planted;
	php_state(pidfd, &r, 1);
	CHECK(uri_route("/memo/2", 224, &k) == first, "other bytes are not served from the memo");

	/* a cgroup at its cap: each request of a new route is folded and counted, none kept */
	int count_fd = bpf_map__fd(skel->maps.route_count);
	__u32 n = 0, full = skel->rodata->route_cap;
	bpf_map_lookup_elem(count_fd, &cg, &n);
	CHECK(bpf_map_update_elem(count_fd, &cg, &full, BPF_ANY) == 0, "the cgroup's cap is full");
	__u64 folded = counter(HTTP_COUNTER_ROUTES_FOLDED);
	CHECK(uri_route("/fold/x", 225, &k) == HTTP_ROUTE_OTHER &&
		      uri_route("/fold/x", 226, &k) == HTTP_ROUTE_OTHER &&
		      counter(HTTP_COUNTER_ROUTES_FOLDED) == folded + 2,
	      "a folded route is made again and counted each time: %llu folded",
	      (unsigned long long)(counter(HTTP_COUNTER_ROUTES_FOLDED) - folded));
	bpf_map_update_elem(count_fd, &cg, &n, BPF_ANY);
	close(pidfd);
}

/*
 * The FCGI_PARAMS walk where a web server puts long values first (a long QUERY_STRING, a large
 * cookie): four-byte lengths, REQUEST_METHOD and REQUEST_URI past the first window the walk
 * copies, a pair cut at the window's end; and at most 16 pairs looked at.
 */
static void test_fastcgi_params_walk(void)
{
	static __u8 params[4096];
	char path[HTTP_ROUTE_LEN + 1], query[1200], name[200];
	memset(query, 'q', sizeof(query) - 1);
	query[sizeof(query) - 1] = '\0';
	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	become_target(HTTP_MODE_PHP_FCGI);

	/* both after a 1,199-byte value and a 199-byte name */
	size_t np = fcgi_pair(params, "SCRIPT_FILENAME", "/srv/app/public/index.php");
	np += fcgi_pair(params + np, "QUERY_STRING", query);
	np += fcgi_pair(params + np, name, "v");
	np += fcgi_pair(params + np, "REQUEST_METHOD", "DELETE");
	np += fcgi_pair(params + np, "REQUEST_URI", "/carts/9?q");
	np += fcgi_pair(params + np, "HTTP_COOKIE", query);
	CHECK(fastcgi_params_request(params, np, 202, path, sizeof(path)) == HTTP_METHOD_DELETE &&
		      strcmp(path, "/carts/9?q") == 0,
	      "method and URI after long pairs: %s", path);

	/* REQUEST_URI's pair (19 bytes) cut by the end of the first 512-byte window at each of its
	 * bytes, or just inside it */
	int all = 1;
	for (size_t cut = 0; cut < 32; cut++) {
		char fill[512];
		/* the first pair takes 1 + 4 + 9 + v bytes: REQUEST_URI starts at 512 - cut */
		size_t v = 512 - cut - 14;
		memset(fill, 'f', v);
		fill[v] = '\0';
		np = fcgi_pair(params, "FILL_NAME", fill);
		np += fcgi_pair(params + np, "REQUEST_URI", "/cut/1");
		np += fcgi_pair(params + np, "REQUEST_METHOD", "PUT");
		if (fastcgi_params_request(params, np, (__u16)(300 + cut), path, sizeof(path)) !=
			    HTTP_METHOD_PUT ||
		    strcmp(path, "/cut/1") != 0) {
			CHECK(0, "a pair cut %zu bytes into the window's end: %s", cut, path);
			all = 0;
		}
	}
	CHECK(all, "a pair cut at the window's end is read whole, wherever it is cut");

	/* REQUEST_URI as the 17th pair is not looked at: the route is none, the method found */
	np = fcgi_pair(params, "REQUEST_METHOD", "GET");
	for (int i = 0; i < 15; i++)
		np += fcgi_pair(params + np, "HTTP_X", "1");
	np += fcgi_pair(params + np, "REQUEST_URI", "/late");
	CHECK(fastcgi_params_request(params, np, 299, path, sizeof(path)) == HTTP_METHOD_GET &&
		      path[0] == '\0',
	      "the 17th pair is not looked at: %s", path);
}

static void usdt(const char *method, const char *uri)
{
	struct http_test_usdt u = { .method = (__u64)(uintptr_t)method,
				    .uri = (__u64)(uintptr_t)uri };
	CHECK(run_prog(skel->progs.usdt_startup_test, &u, sizeof(u)) == 0, "startup runs");
}

static void shutdown_probe(void)
{
	CHECK(run_prog(skel->progs.usdt_shutdown_test, NULL, 0) == 0, "shutdown runs");
}

static void thread_exits(void)
{
	CHECK(run_prog(skel->progs.thread_exit_test, NULL, 0) == 0, "exit runs");
}

static void *usdt_in_thread(void *arg)
{
	(void)arg;
	usdt("DELETE", "/t");
	return NULL;
}

/* USDT mode: startup and shutdown pair per thread, through the thread's own task storage; a
 * thread that ends with a request in flight is counted process_exit and leaves nothing. */
static void test_usdt_requests(void)
{
	__u8 out[64];
	const char *body = "Status: 503 Unavailable\r\n\r\n";
	size_t no = fcgi_record(out, 6 /* STDOUT */, body, strlen(body));
	become_target(HTTP_MODE_PHP_USDT);

	usdt("GET", "/a/1");
	syscall_seen(NR_WRITE, FCGI_FD, out, no, (long)no);
	shutdown_probe();
	CHECK(recorded(503, HTTP_METHOD_GET, NULL) == 1, "GET 503: status from the output");

	__u64 no_start = counter(HTTP_UNPAIRED_NO_START);
	shutdown_probe();
	CHECK(counter(HTTP_UNPAIRED_NO_START) == no_start + 1, "a shutdown without its startup");

	__u64 exited = counter(HTTP_UNPAIRED_EXIT);
	usdt("PUT", "/b");
	thread_exits();
	CHECK(counter(HTTP_UNPAIRED_EXIT) == exited + 1, "the thread's request in flight: exit");
	thread_exits();
	CHECK(counter(HTTP_UNPAIRED_EXIT) == exited + 1, "counted once");
	shutdown_probe();
	CHECK(recorded(200, HTTP_METHOD_PUT, NULL) == 0, "and never recorded after it");

	/* another thread's request is its own: this thread's shutdown does not end it */
	pthread_t th;
	pthread_create(&th, NULL, usdt_in_thread, NULL);
	pthread_join(th, NULL);
	no_start = counter(HTTP_UNPAIRED_NO_START);
	shutdown_probe();
	CHECK(counter(HTTP_UNPAIRED_NO_START) == no_start + 1 &&
		      recorded(200, HTTP_METHOD_DELETE, NULL) == 0,
	      "a request of another thread is not this thread's");
}

static const char *route_path(__u64 key, char *buf, size_t len)
{
	return php_test_route_path(bpf_map__fd(skel->maps.routes), key, buf, len);
}

/* The records a worker reads for one request: BEGIN_REQUEST, then FCGI_PARAMS (header, body)
 * with REQUEST_URI uri, as php-fpm reads them. */
static void fcgi_arrives(const char *uri)
{
	__u8 begin[16], params_head[8], params[96];
	const __u8 role[8] = { 0, 1 };
	size_t nb = fcgi_record(begin, 1 /* BEGIN_REQUEST */, role, sizeof(role));
	size_t np = fcgi_pair(params, "SCRIPT_NAME", "/index.php");
	np += fcgi_pair(params + np, "REQUEST_URI", uri);
	__u8 h[8] = { 1, 4 /* PARAMS */, 0, 1, 0, (__u8)np, 0, 0 };
	memcpy(params_head, h, 8);
	syscall_seen(NR_READ, FCGI_FD, begin, sizeof(begin), (long)nb);
	syscall_seen(NR_READ, FCGI_FD, params_head, sizeof(params_head), 8);
	syscall_seen(NR_READ, FCGI_FD, params, sizeof(params), (long)np);
}

/* One USDT-mode request of the script /index.php answered 201: the first path of its route. */
static const char *index_php_request(const char *name, __u8 method, char *path, size_t len)
{
	__u8 out[64];
	const char *body = "Status: 201 Created\r\n\r\n";
	size_t no = fcgi_record(out, 6 /* STDOUT */, body, strlen(body));
	struct http_hist_key k = { 0 };
	usdt(name, "/index.php");
	syscall_seen(NR_WRITE, FCGI_FD, out, no, (long)no);
	shutdown_probe();
	CHECK(recorded(201, method, &k) == 1, "%s recorded once", name);
	return route_path(k.route, path, len);
}

/*
 * USDT mode behind a front controller: the probe's request_uri is the script (/index.php) for
 * every request; the route is REQUEST_URI's from the params the worker read, and the probe's
 * value only when no params were seen for the request (not a stale one of the last request).
 */
static void test_usdt_route_from_params(void)
{
	char path[HTTP_ROUTE_LEN + 1];
	become_target(HTTP_MODE_PHP_USDT);

	fcgi_arrives("/orders/7/items?tab=1");
	CHECK(strcmp(index_php_request("PATCH", HTTP_METHOD_PATCH, path, sizeof(path)),
		     "/orders/7/items?tab=1") == 0,
	      "the route is REQUEST_URI's, not the probe's script: %s", path);
	CHECK(strcmp(index_php_request("OPTIONS", HTTP_METHOD_OPTIONS, path, sizeof(path)),
		     "/index.php") == 0,
	      "no params seen: the probe's request_uri, not the last request's: %s", path);
}

int main(void)
{
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	skel = http_latency_test_bpf__open();
	CHECK(skel != NULL, "http_latency_test skeleton opens: %d", -errno);
	if (!skel)
		return test_summary("http_latency/test_php");
	skel->rodata->bucket_ns[0] = 1000000000ULL;
	skel->rodata->nbuckets = 1;
	int err = http_latency_test_bpf__load(skel);
	CHECK(err == 0, "http_latency_test loads: %d", err);
	if (!err) {
		test_fastcgi_request();
		test_fastcgi_params_walk();
		test_route_memo();
		test_usdt_requests();
		test_usdt_route_from_params();
	}
	http_latency_test_bpf__destroy(skel);
	return test_summary("http_latency/test_php");
}
