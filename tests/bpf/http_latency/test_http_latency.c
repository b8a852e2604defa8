/* test_http_latency.c — the HTTP and FastCGI recognisers of bpf/http_latency/request.bpf.h, run in
 * the kernel (BPF_PROG_TEST_RUN of the syscall wrappers in
 * bpf/http_latency/http_latency_test.bpf.c) and compared with the same header compiled for the
 * host. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/http_latency/http_latency_test.h"
#include "bpf/http_latency/request.bpf.h"
#include "skel/http_latency_test.skel.h"
#include "test.h"

static struct http_latency_test_bpf *skel;

/* Runs one wrapper on the first n bytes of s; returns the context it wrote back. */
static struct http_test_ctx run(struct bpf_program *prog, const void *s, size_t n)
{
	struct http_test_ctx ctx;
	memset(&ctx, 0, sizeof(ctx));
	memcpy(ctx.buf, s, n > HTTP_PEEK ? HTTP_PEEK : n);
	ctx.n = (__u32)n;
	ctx.result = -99;
	/* syscall programs take no ctx_out: the kernel writes the context back into ctx_in */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &ctx, .ctx_size_in = sizeof(ctx));
	int rc = bpf_prog_test_run_opts(bpf_program__fd(prog), &opts);
	if (rc)
		ctx.result = -100 + rc;
	return ctx;
}

static int method(const char *s)
{
	return run(skel->progs.parse_method, s, strlen(s)).result;
}

static int status(const char *s)
{
	return run(skel->progs.parse_status, s, strlen(s)).result;
}

static void test_methods(void)
{
	static const struct {
		const char *line;
		int want;
	} cases[] = {
		{ "GET / HTTP/1.1\r\n", HTTP_METHOD_GET },
		{ "HEAD /fast HTTP/1.1", HTTP_METHOD_HEAD },
		{ "POST /echo HTTP/1.1", HTTP_METHOD_POST },
		{ "PUT /x HTTP/1.1", HTTP_METHOD_PUT },
		{ "DELETE /x HTTP/1.1", HTTP_METHOD_DELETE },
		{ "PATCH /x HTTP/1.1", HTTP_METHOD_PATCH },
		{ "OPTIONS * HTTP/1.1", HTTP_METHOD_OPTIONS },
		{ "CONNECT db:5432 HTTP/1.1", -1 }, /* authority form: only a target starting h */
		{ "TRACE / HTTP/1.1", HTTP_METHOD_TRACE },
		{ "GET http://h/ HTTP/1.1", HTTP_METHOD_GET },
		{ "PROPFIND / HTTP/1.1", HTTP_METHOD_OTHER },
		{ "MKCALENDAR / HTTP/1.1",
		  HTTP_METHOD_OTHER },		  /* 10 letters: the longest accepted */
		{ "ABCDEFGHIJK / HTTP/1.1", -1 }, /* 11 */
		{ "GE / HTTP/1.1", -1 },
		{ "get / HTTP/1.1", -1 },
		{ "GET/ HTTP/1.1", -1 },
		{ "GET  / HTTP/1.1", -1 },
		{ "GET x HTTP/1.1", -1 },
		{ "GET", -1 },
		{ "GET ", -1 },
		{ "GET /", HTTP_METHOD_GET },
		{ "", -1 },
		{ "\x16\x03\x01\x02\x00", -1 }, /* a TLS ClientHello */
		{ "PRI * HTTP/2.0\r\n", HTTP_METHOD_OTHER },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = method(cases[i].line);
		CHECK(got == cases[i].want, "method of [%s]: got %d want %d", cases[i].line, got,
		      cases[i].want);
	}
	/* the peek is cut anywhere: a request line cut before its target is not one */
	CHECK(run(skel->progs.parse_method, "POST /x", 5).result == -1, "cut after the space");
	CHECK(run(skel->progs.parse_method, "POST /x", 6).result == HTTP_METHOD_POST, "cut at /");
}

static void test_status(void)
{
	static const struct {
		const char *line;
		int want;
	} cases[] = {
		{ "HTTP/1.1 200 OK\r\n", 200 },
		{ "HTTP/1.1 404 Not Found", 404 },
		{ "HTTP/1.0 503 Service Unavailable", 503 },
		{ "HTTP/1.1 100 Continue", 100 },
		{ "HTTP/1.1 204\r\n", 204 },
		{ "HTTP/1.1 599 x", 599 },
		{ "HTTP/1.1 200", 200 }, /* the peek ends right after the code */
		{ "HTTP/1.1 600 x", -1 },
		{ "HTTP/1.1 099 x", -1 },
		{ "HTTP/1.1 20 OK", -1 },
		{ "HTTP/1.1 2000 OK", -1 },
		{ "HTTP/1.2 200 OK", -1 },
		{ "HTTP/2 200 OK", -1 },
		{ "http/1.1 200 OK", -1 },
		{ "HTTP/1.1  200 OK", -1 },
		{ "HTTP/1.1 2x0 OK", -1 },
		{ "HTTP/1.1 20", -1 },
		{ "", -1 },
		{ "GET / HTTP/1.1", -1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = status(cases[i].line);
		CHECK(got == cases[i].want, "status of [%s]: got %d want %d", cases[i].line, got,
		      cases[i].want);
	}
}

static void test_fastcgi(void)
{
	/* version 1, FCGI_STDOUT, request 1, content 300 (0x012c), padding 4 */
	unsigned char stdout_404[] = {
		1,   6,	  0,   1,   0x01, 0x2c, 4,   0,	  'S', 't', 'a', 't',
		'u', 's', ':', ' ', '4',  '0',	'4', ' ', 'N', 'o', 't', ' '
	};
	struct http_test_ctx c = run(skel->progs.parse_fcgi_header, stdout_404, sizeof(stdout_404));
	CHECK(c.result == 6 && c.content_len == 300 && c.padding == 4, "header: %d %u %u", c.result,
	      c.content_len, c.padding);
	c = run(skel->progs.parse_fcgi_status, stdout_404, sizeof(stdout_404));
	CHECK(c.result == 404, "Status: 404 -> %d", c.result);

	unsigned char plain[] = { 1,   6,   0,	 1,   0,   40,	0,   0,	  'C', 'o', 'n', 't',
				  'e', 'n', 't', '-', 'T', 'y', 'p', 'e', ':', ' ', 't', 'e' };
	c = run(skel->progs.parse_fcgi_status, plain, sizeof(plain));
	CHECK(c.result == 0, "no Status header: 0 (PHP's 200), got %d", c.result);

	unsigned char short_status[] = { 1, 6, 0, 1, 0, 5, 0, 0, 'S', 't', 'a', 't', 'u' };
	c = run(skel->progs.parse_fcgi_status, short_status, sizeof(short_status));
	CHECK(c.result == 0, "a record too short for a status: 0, got %d", c.result);

	unsigned char bad_code[] = { 1,	  6,   0,   1,	 0,   40,  0,	0,   'S', 't', 'a', 't',
				     'u', 's', ':', ' ', '9', '9', '9', ' ', 'x', 'x', 'x', 'x' };
	c = run(skel->progs.parse_fcgi_status, bad_code, sizeof(bad_code));
	CHECK(c.result == 0, "Status: 999 is no status: %d", c.result);

	unsigned char end_request[] = { 1, 3, 0, 1, 0, 8, 0, 0 };
	c = run(skel->progs.parse_fcgi_header, end_request, sizeof(end_request));
	CHECK(c.result == 3 && c.content_len == 8, "END_REQUEST header: %d", c.result);
	c = run(skel->progs.parse_fcgi_status, end_request, sizeof(end_request));
	CHECK(c.result == -1, "END_REQUEST is not STDOUT: %d", c.result);

	unsigned char v2[] = { 2, 6, 0, 1, 0, 8, 0, 0 }, type0[] = { 1, 0, 0, 1, 0, 8, 0, 0 },
		      type12[] = { 1, 12, 0, 1, 0, 8, 0, 0 };
	CHECK(run(skel->progs.parse_fcgi_header, v2, 8).result == -1, "version 2 refused");
	CHECK(run(skel->progs.parse_fcgi_header, type0, 8).result == -1, "type 0 refused");
	CHECK(run(skel->progs.parse_fcgi_header, type12, 8).result == -1, "type 12 refused");
	CHECK(run(skel->progs.parse_fcgi_header, end_request, 7).result == -1, "7 bytes refused");
}

/* Random and mutated buffers: the kernel and the host agree, and never see past n. */
static void test_fuzz_agrees_with_host(void)
{
	static const char *seeds[] = { "GET / HTTP/1.1\r\nHost: x\r\n",
				       "HTTP/1.1 200 OK\r\nA: b\r\n",
				       "\x01\x06\x00\x01\x00\x20\x00\x00Status: 302 Found" };
	int disagreements = 0, runs = 0;
	for (int i = 0; i < 3000; i++) {
		__u8 b[HTTP_PEEK];
		const char *seed = seeds[i % 3];
		memcpy(b, seed, HTTP_PEEK);
		for (int k = 0; k < 1 + (int)(test_rng() % 3); k++)
			b[test_rng() % HTTP_PEEK] = (__u8)test_rng();
		if (i % 7 == 0)
			for (int k = 0; k < HTTP_PEEK; k++)
				b[k] = (__u8)test_rng();
		__u32 n = (__u32)(test_rng() % (HTTP_PEEK + 1));
		/* bytes past n must not matter: poison them */
		__u8 poisoned[HTTP_PEEK];
		memcpy(poisoned, b, HTTP_PEEK);
		for (__u32 k = n; k < HTTP_PEEK; k++)
			poisoned[k] = (__u8)~b[k];
		__u32 cl, pad;
		int host[4] = { http_parse_method(b, n), http_parse_status(b, n),
				fcgi_parse_header(b, n, &cl, &pad),
				fcgi_parse_stdout_status(b, n) };
		int host2[4] = { http_parse_method(poisoned, n), http_parse_status(poisoned, n),
				 fcgi_parse_header(poisoned, n, &cl, &pad),
				 fcgi_parse_stdout_status(poisoned, n) };
		struct bpf_program *progs[4] = { skel->progs.parse_method, skel->progs.parse_status,
						 skel->progs.parse_fcgi_header,
						 skel->progs.parse_fcgi_status };
		for (int p = 0; p < 4; p++) {
			int k = run(progs[p], b, n).result;
			runs++;
			if (k != host[p] || host[p] != host2[p]) {
				if (disagreements++ < 5)
					printf("# prog %d n %u: kernel %d host %d poisoned %d\n", p,
					       n, k, host[p], host2[p]);
			}
		}
	}
	CHECK(disagreements == 0, "%d of %d runs disagree", disagreements, runs);
}

int main(void)
{
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	skel = http_latency_test_bpf__open_and_load();
	CHECK(skel != NULL, "http_test skeleton loads");
	if (!skel)
		return test_summary("http_latency/test_http_latency");
	test_methods();
	test_status();
	test_fastcgi();
	test_fuzz_agrees_with_host();
	http_latency_test_bpf__destroy(skel);
	return test_summary("http_latency/test_http_latency");
}
