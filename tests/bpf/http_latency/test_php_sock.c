/* test_php_sock.c — the PHP-FPM hooks' tier choice, and every tier this kernel can attach (the
 * socket path, fentry/fexit on sock_read_iter and sock_write_iter; the sock_recv_length and
 * sock_send_length tracepoints; raw sys_enter/sys_exit) on a real FastCGI exchange: the
 * collector's own object, this process as the worker, a unix socket pair as its connection.
 * HOSTMON_EXPECT_PHP_HOOKS (tests/kernels sets it) names the tier that must be chosen. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "http_latency/state.h"
#include "php_test.h"
#include "skel/http_latency.skel.h"
#include "test.h"

static struct http_latency st;

#define MAPFD(name) bpf_map__fd(st.skel->maps.name)

/* What a web server sends for one request: BEGIN_REQUEST, FCGI_PARAMS (method, URI), empty
 * FCGI_PARAMS; sizes of each piece a worker reads on its own in *pieces. */
static size_t client_records(__u8 *at, const char *method, const char *uri, size_t pieces[5])
{
	const __u8 role[8] = { 0, 1 };
	__u8 params[128];
	size_t np = fcgi_pair(params, "REQUEST_METHOD", method);
	np += fcgi_pair(params + np, "REQUEST_URI", uri);
	size_t n = fcgi_record(at, 1 /* BEGIN_REQUEST */, role, sizeof(role));
	n += fcgi_record(at + n, 4 /* PARAMS */, params, np);
	n += fcgi_record(at + n, 4 /* PARAMS */, "", 0);
	size_t each[5] = { 8, 8, 8, np, 8 }; /* php-fpm: each header, then its body */
	memcpy(pieces, each, sizeof(each));
	return n;
}

/* The worker's answer: FCGI_STDOUT with a Status header, FCGI_END_REQUEST. */
static size_t worker_answer(__u8 *at, const char *status)
{
	char body[64];
	const __u8 end[8] = { 0 };
	snprintf(body, sizeof(body), "Status: %s\r\n\r\nx", status);
	size_t n = fcgi_record(at, 6 /* STDOUT */, body, strlen(body));
	return n + fcgi_record(at + n, 3 /* END_REQUEST */, end, sizeof(end));
}

/* One request through the socket pair: the client's records written (before this process is a
 * target, or from its other end: either way no worker's read), read back piece by piece as
 * php-fpm does (read(2), or readv(2) with vectored), answered with one write or writev. */
static void exchange(int sv[2], const char *method, const char *uri, const char *status,
		     int vectored)
{
	__u8 in[256], got[256], out[128];
	size_t pieces[5];
	size_t n = client_records(in, method, uri, pieces);
	CHECK(write(sv[1], in, n) == (ssize_t)n, "the client's records are sent");
	for (int i = 0; i < 5; i++) {
		ssize_t r;
		if (vectored) {
			/* two segments: one alone is imported as ITER_UBUF since 6.4; the hooks
			 * look at the first, as they do for a write */
			struct iovec v[2] = { { got, pieces[i] }, { got + pieces[i], 0 } };
			r = readv(sv[0], v, 2);
		} else {
			r = read(sv[0], got, pieces[i]);
		}
		CHECK(r == (ssize_t)pieces[i], "piece %d read: %zd", i, r);
	}
	size_t no = worker_answer(out, status);
	if (vectored) {
		struct iovec v[2] = { { out, no }, { out + no, 0 } };
		CHECK(writev(sv[0], v, 2) == (ssize_t)no, "the answer is written (writev)");
	} else {
		CHECK(write(sv[0], out, no) == (ssize_t)no, "the answer is written");
	}
	CHECK(read(sv[1], got, sizeof(got)) == (ssize_t)no, "the client gets it");
}

static void check_request(__u16 status, __u8 method, const char *want_path, const char *what)
{
	struct http_hist_key k = { 0 };
	char path[HTTP_ROUTE_LEN + 1];
	CHECK(php_test_recorded(MAPFD(hists), status, method, &k) == 1, "%s: one request recorded",
	      what);
	CHECK(strcmp(php_test_route_path(MAPFD(routes), k.route, path, sizeof(path)), want_path) ==
		      0,
	      "%s: route from REQUEST_URI: [%s]", what, path);
}

static void exchanges(void)
{
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socket pair");
	php_test_become_target(MAPFD(targets), MAPFD(target_bits), HTTP_MODE_PHP_FCGI);
	php_hooks_update(&st, true);
	CHECK(st.php_hooks_on, "the %s programs attach", php_hooks_tier(&st));

	exchange(sv, "POST", "/users/42?x=1", "404 Not Found", 0);
	check_request(404, HTTP_METHOD_POST, "/users/42?x=1", "read/write");
	exchange(sv, "DELETE", "/orders/9/items", "503 Unavailable", 1);
	check_request(503, HTTP_METHOD_DELETE, "/orders/9/items", "readv/writev");

	php_hooks_update(&st, false);
	CHECK(!st.php_hooks_on, "and detach");
	exchange(sv, "PUT", "/not/seen", "200 OK", 0);
	CHECK(php_test_recorded(MAPFD(hists), 200, HTTP_METHOD_PUT, NULL) == 0,
	      "nothing is seen with the hooks detached");
	close(sv[0]);
	close(sv[1]);
}

/* The object opened with the best tier up to best that attaches here; false when it did not
 * open. */
static bool open_with(enum php_tier best)
{
	memset(&st, 0, sizeof(st));
	st.skel = http_latency_bpf__open();
	CHECK(st.skel != NULL, "http_latency opens: %d", -errno);
	if (!st.skel)
		return false;
	st.skel->rodata->bucket_ns[0] = 1000000000ULL;
	st.skel->rodata->nbuckets = 1;
	st.skel->rodata->route_cap = 50;
	php_hooks_choose(&st, best);
	return true;
}

static void close_object(void)
{
	php_hooks_free(&st);
	http_latency_bpf__destroy(st.skel);
	st.skel = NULL;
}

/* Only the chosen tier's programs are loaded. */
static bool only_chosen_loaded(void)
{
	const struct bpf_program *p[PHP_TIERS][PHP_HOOKS_MAX] = {
		[PHP_TIER_SOCK_ITER] = { st.skel->progs.php_sock_read,
					 st.skel->progs.php_sock_read_exit,
					 st.skel->progs.php_sock_write },
		[PHP_TIER_SOCK_LENGTH] = { st.skel->progs.php_sock_recv,
					   st.skel->progs.php_sock_send },
		[PHP_TIER_SYSCALLS] = { st.skel->progs.http_sys_enter,
					st.skel->progs.http_sys_exit },
	};
	for (int t = 0; t < PHP_TIERS; t++)
		for (int i = 0; i < PHP_HOOKS_MAX && p[t][i]; i++)
			if (bpf_program__autoload(p[t][i]) != (t == (int)st.php_tier))
				return false;
	return true;
}

int main(void)
{
	const char *expect = getenv("HOSTMON_EXPECT_PHP_HOOKS");
	if (!open_with(PHP_TIER_SOCK_ITER))
		return test_summary("http_latency/test_php_sock");
	enum php_tier chosen = st.php_tier;
	CHECK(!expect || strcmp(expect, php_hooks_tier(&st)) == 0, "tier %s, %s expected here",
	      php_hooks_tier(&st), expect ? expect : "any");
	close_object();
	/* the chosen one, then each one below it this kernel can attach, as a fallback would */
	for (int t = (int)chosen; t >= PHP_TIER_SYSCALLS; t--) {
		if (!open_with((enum php_tier)t))
			break;
		if ((int)st.php_tier != t) {
			printf("# the tier below %s does not attach here\n", php_hooks_tier(&st));
			close_object();
			continue;
		}
		CHECK(only_chosen_loaded(), "only the chosen tier (%s) is loaded",
		      php_hooks_tier(&st));
		int err = http_latency_bpf__load(st.skel);
		CHECK(err == 0, "http_latency loads with the %s tier: %d", php_hooks_tier(&st),
		      err);
		if (!err)
			exchanges();
		close_object();
	}
	return test_summary("http_latency/test_php_sock");
}
