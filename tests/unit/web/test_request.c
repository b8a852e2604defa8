/* test_request.c — unit tests and a bounded fuzz loop for HTTP head parsing and negotiation. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "test.h"
#include "web/request.h"

#define BIG_HEAD	8192
#define FUZZ_ITERATIONS 200000

#define OM_TYPE "application/openmetrics-text"

/* What Prometheus 2.x sends by default. */
#define PROMETHEUS_ACCEPT                                                                        \
	"application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;" \
	"q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

/* Contract violations found by parse(); reported once by the caller's CHECK. */
static int contract_errors;

struct parsed {
	int rc;
	struct web_request req;
	char path[512];
};

/* Renders bytes printable for failure messages. */
static const char *esc(const char *s, size_t n)
{
	static char out[1024];
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < sizeof(out); i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

static void contract_fail(const char *why, const char *s, size_t n, size_t max_head, int rc)
{
	if (contract_errors++ < 5)
		printf("# contract: %s (rc=%d max_head=%zu) input [%s]\n", why, rc, max_head,
		       esc(s, n));
}

/*
 * Runs the parser on an exact-size heap copy, so ASan and valgrind see any
 * read past len, and checks the documented contract on every call: the set
 * of return values, *req untouched on failure, pointers inside buf.
 */
static struct parsed parse_n(const char *s, size_t n, size_t max_head)
{
	struct web_request untouched;
	struct parsed p;
	char *copy = malloc(n ? n : 1);

	if (!copy)
		abort();
	memcpy(copy, s, n);
	memset(&p, 0, sizeof(p));
	memset(&p.req, 0x5a, sizeof(p.req));
	untouched = p.req;
	p.rc = web_request_parse(copy, n, max_head, &p.req);
	if (p.rc <= 0) {
		if (p.rc != 0 && p.rc != -EMSGSIZE && p.rc != -EBADMSG && p.rc != -EPROTONOSUPPORT)
			contract_fail("undocumented return value", s, n, max_head, p.rc);
		if (memcmp(&p.req, &untouched, sizeof(p.req)))
			contract_fail("req written on failure", s, n, max_head, p.rc);
	} else if ((size_t)p.rc > n || (size_t)p.rc > max_head || copy[p.rc - 1] != '\n') {
		contract_fail("head length out of range", s, n, max_head, p.rc);
	} else if (p.req.method > WEB_OTHER ||
		   (p.req.minor_version != 0 && p.req.minor_version != 1)) {
		contract_fail("bad method or version", s, n, max_head, p.rc);
	} else if ((p.req.path < copy || p.req.path + p.req.path_len > copy + p.rc) &&
		   !(p.req.path_len == 1 && p.req.path[0] == '/')) {
		/* Only an absolute-form target without a path may point outside: to "/". */
		contract_fail("path outside the head", s, n, max_head, p.rc);
	} else {
		size_t keep = p.req.path_len < sizeof(p.path) ? p.req.path_len : sizeof(p.path) - 1;

		memcpy(p.path, p.req.path, keep);
	}
	free(copy);
	return p;
}

static struct parsed parse(const char *s)
{
	return parse_n(s, strlen(s), BIG_HEAD);
}

/*
 * Counts proper prefixes that do not yield 0 (want > 0: a valid head of that
 * length) or the final error: the answer must not depend on where reads split.
 */
static int prefix_mismatches(const char *s, size_t n, size_t max_head, int want)
{
	int bad = 0;
	size_t k;

	for (k = 0; k < n; k++) {
		int rc = parse_n(s, k, max_head).rc;

		if (rc != 0 && (want > 0 || rc != want))
			bad++;
	}
	return bad;
}

/* Expected flags of a valid request. */
enum { KA = 1, BODY = 2, OM = 4, GZ = 8 };

struct valid_case {
	const char *in;
	enum web_method method;
	const char *path;
	int minor;
	int flags;
};

/* clang-format off */
static const struct valid_case valid_cases[] = {
	{ "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", WEB_GET, "/metrics", 1, KA },
	{ "HEAD / HTTP/1.0\r\n\r\n", WEB_HEAD, "/", 0, 0 },
	{ "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\n", WEB_OTHER, "/x", 1, KA | BODY },
	{ "POST /x HTTP/1.1\r\nContent-Length: 0\r\n\r\n", WEB_OTHER, "/x", 1, KA },
	{ "PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", WEB_OTHER, "/x", 1, KA | BODY },
	{ "PUT /x HTTP/1.1\r\nContent-Length: 18446744073709551615\r\n\r\n",
	  WEB_OTHER, "/x", 1, KA | BODY },
	{ "POST / HTTP/1.1\r\nContent-Length: 7\r\ncontent-length: 007\r\n\r\n",
	  WEB_OTHER, "/", 1, KA | BODY },
	{ "DELETE /a HTTP/1.1\r\n\r\n", WEB_OTHER, "/a", 1, KA },
	{ "get /a HTTP/1.1\r\n\r\n", WEB_OTHER, "/a", 1, KA },
	{ "M-SEARCH /a HTTP/1.1\r\n\r\n", WEB_OTHER, "/a", 1, KA },
	{ "OPTIONS * HTTP/1.1\r\n\r\n", WEB_OTHER, "*", 1, KA },
	{ "GET / HTTP/1.2\r\n\r\n", WEB_GET, "/", 1, KA },
	/* keep-alive rules */
	{ "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", WEB_GET, "/", 1, 0 },
	{ "GET / HTTP/1.1\r\nConnection: Keep-Alive, CLOSE\r\n\r\n", WEB_GET, "/", 1, 0 },
	{ "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n", WEB_GET, "/", 1, KA },
	{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", WEB_GET, "/", 0, KA },
	{ "GET / HTTP/1.0\r\nConnection: te , KEEP-ALIVE \r\n\r\n", WEB_GET, "/", 0, KA },
	{ "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n",
	  WEB_GET, "/", 0, 0 },
	{ "GET / HTTP/1.0\r\nConnection: upgrade\r\n\r\n", WEB_GET, "/", 0, 0 },
	/* targets */
	{ "GET /metrics?name[]=a&b=c HTTP/1.1\r\n\r\n", WEB_GET, "/metrics", 1, KA },
	{ "GET /metrics#frag HTTP/1.1\r\n\r\n", WEB_GET, "/metrics", 1, KA },
	{ "GET /?x HTTP/1.1\r\n\r\n", WEB_GET, "/", 1, KA },
	{ "GET http://host:9100/metrics?x=1 HTTP/1.1\r\n\r\n", WEB_GET, "/metrics", 1, KA },
	{ "GET HTTPS://h/healthz HTTP/1.1\r\n\r\n", WEB_GET, "/healthz", 1, KA },
	{ "GET http://host HTTP/1.1\r\n\r\n", WEB_GET, "/", 1, KA },
	{ "GET hTtP://[::1]:80/x HTTP/1.1\r\n\r\n", WEB_GET, "/x", 1, KA },
	{ "GET http://host?q=/x HTTP/1.1\r\n\r\n", WEB_GET, "/", 1, KA },
	/* line endings and leading empty lines */
	{ "GET /a HTTP/1.1\nHost: x\n\n", WEB_GET, "/a", 1, KA },
	{ "GET /a HTTP/1.1\r\nHost: x\n\r\n", WEB_GET, "/a", 1, KA },
	{ "GET /a HTTP/1.1\nHost: x\r\n\n", WEB_GET, "/a", 1, KA },
	{ "\r\nGET /a HTTP/1.1\r\n\r\n", WEB_GET, "/a", 1, KA },
	{ "\r\n\n\r\n\nGET /a HTTP/1.1\r\n\r\n", WEB_GET, "/a", 1, KA },
	/* headers: OWS, empty values, obs-text, negotiation */
	{ "GET / HTTP/1.1\r\nX-Empty:\r\nX-Bin: \x80\xff\r\nHost:\t x \t\r\n\r\n",
	  WEB_GET, "/", 1, KA },
	{ "GET /metrics HTTP/1.1\r\nHost: h:9100\r\nUser-Agent: Prometheus/2.53.0\r\n"
	  "Accept: " PROMETHEUS_ACCEPT "\r\nAccept-Encoding: gzip\r\n"
	  "X-Prometheus-Scrape-Timeout-Seconds: 10\r\n\r\n",
	  WEB_GET, "/metrics", 1, KA | OM | GZ },
	{ "GET / HTTP/1.1\r\nACCEPT: text/plain;q=0.5\r\naccept: " OM_TYPE "\r\n\r\n",
	  WEB_GET, "/", 1, KA | OM },
	{ "GET / HTTP/1.1\r\nAccept: application/openmetrics-text;q=0.5\r\nAccept: */*\r\n\r\n",
	  WEB_GET, "/", 1, KA },
	{ "GET / HTTP/1.1\r\nAccept-Encoding: gzip;q=0\r\nAccept-Encoding: *\r\n\r\n",
	  WEB_GET, "/", 1, KA },
	{ "GET / HTTP/1.1\r\nAccept-Encoding: br\r\nAccept-Encoding: x-gzip\r\n\r\n",
	  WEB_GET, "/", 1, KA | GZ },
	{ "GET / HTTP/1.1\r\nAccept-Encoding:\r\nAccept:\r\n\r\n", WEB_GET, "/", 1, KA },
};
/* clang-format on */

struct invalid_case {
	const char *in;
	size_t len; /* some inputs embed NUL */
	int err;
};

/* clang-format off */
#define BAD(s, e) { s, sizeof(s) - 1, e }

static const struct invalid_case invalid_cases[] = {
	BAD("GET / HTTP/2.0\r\n\r\n", -EPROTONOSUPPORT),
	BAD("GET / HTTP/0.9\r\n\r\n", -EPROTONOSUPPORT),
	BAD("GET / HTTP/3\r\n\r\n", -EPROTONOSUPPORT),
	BAD("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", -EBADMSG), /* "*" is for OPTIONS only */
	BAD("GET / HTTP/1\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1x\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.10\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/11.1\r\n\r\n", -EBADMSG),
	BAD("GET / http/1.1\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1 \r\n\r\n", -EBADMSG),
	BAD("GET /\r\n\r\n", -EBADMSG),
	BAD("GET / \r\n\r\n", -EBADMSG),
	BAD("GET\r\n\r\n", -EBADMSG),
	BAD("GET  / HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET\t/ HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD(" GET / HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("G(T / HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET /a b HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET /a\x01 HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET /a\x7f HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET /\xc3\xa9 HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET /a\rb HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET metrics HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET * HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("OPTIONS *x HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET ftp://h/x HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET http:///x HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET http://user@h/x HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("CONNECT h:443 HTTP/1.1\r\n\r\n", -EBADMSG),
	/* A TLS ClientHello on the plain port is refused before any LF arrives. */
	BAD("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", -EBADMSG),
	BAD("\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("\rGET / HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\r\n\r\n", -EBADMSG),
	/* NUL anywhere in the head */
	BAD("GET /\0 HTTP/1.1\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\0\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHo\0st: x\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost: x\0y\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\n\0\r\n\r\n", -EBADMSG),
	/* header lines */
	BAD("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost: x\r\n\tfolded\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\n Host: x\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost x\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost : x\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost\t: x\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\n: x\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHo(st: x\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost: a\x7f\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost: a\x1b[0m\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", -EBADMSG),
	/* Content-Length */
	BAD("GET / HTTP/1.1\r\nContent-Length: abc\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length: +5\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length: 0x5\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length: 5 5\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length:\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length: 18446744073709551616\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", -EBADMSG),
	BAD("GET / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", -EBADMSG),
	/* the first bad line decides the error */
	BAD("GET / HTTP/2.0\r\nHost x\r\n\r\n", -EPROTONOSUPPORT),
	BAD("GET / HTTP/1.1\r\nHost x\r\nContent-Length: x\r\n\r\n", -EBADMSG),
};
/* clang-format on */

static void test_valid(void)
{
	size_t i;

	for (i = 0; i < sizeof(valid_cases) / sizeof(valid_cases[0]); i++) {
		const struct valid_case *c = &valid_cases[i];
		size_t n = strlen(c->in);
		struct parsed p = parse(c->in);
		char pipelined[1024];

		CHECK(p.rc == (int)n, "case %zu [%s]: rc %d want %zu", i, esc(c->in, n), p.rc, n);
		if (p.rc <= 0)
			continue;
		CHECK(p.req.method == c->method, "case %zu: method %d", i, p.req.method);
		CHECK_STR(p.path, c->path);
		CHECK(p.req.minor_version == c->minor, "case %zu: minor %d", i,
		      p.req.minor_version);
		CHECK(p.req.keep_alive == !!(c->flags & KA), "case %zu: keep_alive", i);
		CHECK(p.req.has_body == !!(c->flags & BODY), "case %zu: has_body", i);
		CHECK(p.req.want_openmetrics == !!(c->flags & OM), "case %zu: want_openmetrics", i);
		CHECK(p.req.want_gzip == !!(c->flags & GZ), "case %zu: want_gzip", i);
		CHECK(prefix_mismatches(c->in, n, BIG_HEAD, (int)n) == 0,
		      "case %zu: a prefix did not return 0", i);

		/* Pipelined: only the first head counts, whatever follows it. */
		snprintf(pipelined, sizeof(pipelined), "%sGET /second HTTP/1.0\r\n\r\n", c->in);
		p = parse(pipelined);
		CHECK(p.rc == (int)n, "case %zu pipelined: rc %d want %zu", i, p.rc, n);
		CHECK_STR(p.path, c->path);
		memcpy(pipelined + n, "\0\x16garbage", 10);
		CHECK(parse_n(pipelined, n + 10, BIG_HEAD).rc == (int)n,
		      "case %zu: garbage after head", i);
	}
}

static void test_invalid(void)
{
	size_t i;

	for (i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]); i++) {
		const struct invalid_case *c = &invalid_cases[i];
		size_t n = c->len;
		struct parsed p = parse_n(c->in, n, BIG_HEAD);

		CHECK(p.rc == c->err, "case %zu [%s]: rc %d want %d", i, esc(c->in, n), p.rc,
		      c->err);
		CHECK(prefix_mismatches(c->in, n, BIG_HEAD, c->err) == 0,
		      "case %zu [%s]: a prefix returned another error", i, esc(c->in, n));
	}
}

/* A head of exactly max_head bytes is accepted, one byte more is not. */
static void test_max_head(void)
{
	char head[200], buf[400];
	size_t n, k;

	/* Pad a header so the head is exactly 100 bytes. */
	snprintf(head, sizeof(head), "GET /metrics HTTP/1.1\r\nX-Pad: %0*d\r\n\r\n", 100 - 34, 0);
	n = strlen(head);
	CHECK(n == 100, "head is %zu bytes", n);
	CHECK(parse_n(head, n, n - 1).rc == -EMSGSIZE, "max_head - 1");
	CHECK(parse_n(head, n, n).rc == (int)n, "max_head");
	CHECK(parse_n(head, n, n + 1).rc == (int)n, "max_head + 1");
	CHECK(parse_n(head, n, SIZE_MAX).rc == (int)n, "max_head SIZE_MAX");
	CHECK(prefix_mismatches(head, n, n, (int)n) == 0, "prefixes at max_head");

	/* A complete head followed by more bytes than max_head is still fine. */
	snprintf(buf, sizeof(buf), "%s%0200d", head, 0);
	CHECK(parse_n(buf, strlen(buf), n).rc == (int)n, "head + body > max_head");
	CHECK(parse_n(buf, strlen(buf), n - 1).rc == -EMSGSIZE, "head + body, max_head - 1");

	/* Known too long as soon as max_head bytes are in without a terminator. */
	CHECK(parse_n(head, n - 1, n - 1).rc == -EMSGSIZE, "len == max_head, incomplete");
	CHECK(parse_n(head, n - 1, n).rc == 0, "len == max_head - 1, incomplete");
	CHECK(parse_n(head, n - 2, n - 1).rc == 0, "one byte short of the limit");
	for (k = 0; k < n - 1; k++)
		CHECK(parse_n(head, k, k).rc == -EMSGSIZE, "len == max_head == %zu", k);
	memset(buf, 'a', sizeof(buf));
	memcpy(buf, "GET / HTTP/1.1\r\nX: ", 19);
	CHECK(parse_n(buf, sizeof(buf), 64).rc == -EMSGSIZE, "long header line");

	/* Bare-LF heads have the same boundary. */
	CHECK(parse_n("GET / HTTP/1.1\n\n", 16, 16).rc == 16, "bare LF at max_head");
	CHECK(parse_n("GET / HTTP/1.1\n\n", 16, 15).rc == -EMSGSIZE, "bare LF over max_head");
	CHECK(parse_n("GET / HTTP/1.1\r\n\r\n", 17, 17).rc == -EMSGSIZE,
	      "the last LF is over the limit");

	/* Garbage inside the window wins; garbage past it is never read. */
	CHECK(parse_n("GET / HTTP/1.1\r\nHo st: x\r\n", 25, 20).rc == -EBADMSG, "bad before limit");
	CHECK(parse_n("GET / HTTP/1.1\r\nHost: x\r\n\0\0", 27, 25).rc == -EMSGSIZE,
	      "bad after limit");
	CHECK(parse_n("", 0, 0).rc == -EMSGSIZE, "max_head 0");
	CHECK(parse_n("", 0, 10).rc == 0, "empty buffer");
}

/* Negotiation on an exact-size heap copy, for the same reason as parse_n(). */
static bool negotiate(const char *s, size_t n, bool (*fn)(const char *, size_t))
{
	char *copy = malloc(n ? n : 1);
	bool r;

	if (!copy)
		abort();
	memcpy(copy, s, n);
	r = fn(copy, n);
	free(copy);
	return r;
}

static bool om(const char *s)
{
	return negotiate(s, strlen(s), web_accept_prefers_openmetrics);
}

static bool gz(const char *s)
{
	return negotiate(s, strlen(s), web_accept_encoding_allows_gzip);
}

static void test_accept(void)
{
	/* clang-format off */
	static const struct {
		const char *accept;
		bool want;
	} cases[] = {
		{ PROMETHEUS_ACCEPT, true },
		/* Prometheus 3.x, protobuf first: of what we serve, OpenMetrics ranks highest */
		{ "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;"
		  "encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,"
		  "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;"
		  "escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1", true },
		{ "text/plain", false },
		{ "text/plain;version=0.0.4", false },
		{ "*/*", false },
		{ "*", false },
		{ "", false },
		{ " , ,", false },
		{ "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", false },
		{ "application/openmetrics-text", true },
		{ "application/openmetrics-text;version=0.0.1", true },
		{ "application/openmetrics-text;version=2.0.0", false },
		{ "application/openmetrics-text;version=1.0.0;charset=utf-8", true },
		{ "application/openmetrics-text;q=0", false },
		{ "application/openmetrics-text;q=0.000", false },
		{ "application/openmetrics-text;q=0.001", true },
		{ "application/openmetrics-text;q=1.000", true },
		{ "application/openmetrics-text;q=0, text/plain;q=0", false },
		{ "APPLICATION/OpenMetrics-Text; VERSION=1.0.0; Q=0.9, TEXT/PLAIN; q=0.5", true },
		{ "  " OM_TYPE " ;  version=\"1.0.0\" ; q=0.9 ,\ttext/plain ; q=0.5  ", true },
		/* ties go to OpenMetrics; anything it loses to wins */
		{ "text/plain, application/openmetrics-text", true },
		{ "text/plain;q=1, application/openmetrics-text;q=0.9", false },
		{ "*/*, application/openmetrics-text;q=0.5", false },
		{ "*;q=1, application/openmetrics-text;q=0.5", false },
		{ "text/*;q=0.8, application/openmetrics-text;q=0.5", false },
		{ "application/openmetrics-text;q=0.5, text/*;q=0.5", true },
		/* the most specific matching range decides (RFC 9110 12.5.1) */
		{ "text/plain;q=0.1, */*;q=1, application/openmetrics-text;q=0.5", true },
		{ "text/plain;version=0.0.4;q=0.1, text/plain;q=1, " OM_TYPE ";q=0.5", true },
		{ OM_TYPE ";version=1.0.0;q=0, " OM_TYPE, false },
		/* duplicates: the highest q counts */
		{ OM_TYPE ";q=0.2," OM_TYPE ";q=0.8,text/plain;q=0.5", true },
		{ OM_TYPE ";q=0.8," OM_TYPE ";q=0.2,text/plain;q=0.5", true },
		/* text/plain versions we do not produce are not competitors (as in expfmt) */
		{ "text/plain;version=1.0.0, application/openmetrics-text;q=0.5", true },
		/* an invalid q counts as q=0 */
		{ "application/openmetrics-text;q=1.5", false },
		{ "application/openmetrics-text;q=0.5555", false },
		{ "application/openmetrics-text;q=.5", false },
		{ "application/openmetrics-text;q=abc", false },
		{ "application/openmetrics-text;q=\"0.5\"", false },
		{ "application/openmetrics-text;q=", false },
		{ "text/plain;q=2, application/openmetrics-text;q=0.1", true },
		/* broken elements are skipped, commas in quoted strings do not split */
		{ "garbage, application/openmetrics-text", true },
		{ "application/, /x, application/openmetrics-text", true },
		{ "text/plain junk, application/openmetrics-text;q=0.5", true },
		{ "text/plain;q=0.2;x=\"1,application/openmetrics-text;q=0.9\"", false },
		{ "text/plain;x=\"a\\\"b,c\", application/openmetrics-text", true },
		{ "application/openmetrics-text;x=\"unterminated, text/plain", false },
		{ "text/plain junk=\"a\\\",application/openmetrics-text;q=1,x=\"", false },
		{ "application/openmetrics-text;", true },
		{ "application/openmetrics", false },
		{ "application/*", false },
	};
	/* clang-format on */

	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(om(cases[i].accept) == cases[i].want, "Accept [%s]", cases[i].accept);
	CHECK(!web_accept_prefers_openmetrics(NULL, 0), "NULL Accept");
	/* The length bounds the value: the rest of the string is not part of it. */
	CHECK(!web_accept_prefers_openmetrics("text/plain, application/openmetrics-text", 10),
	      "length honoured");
}

static void test_accept_encoding(void)
{
	/* clang-format off */
	static const struct {
		const char *value;
		bool want;
	} cases[] = {
		{ "gzip", true },
		{ "deflate, gzip;q=1.0", true },
		{ "gzip;q=0", false },
		{ "*", true },
		{ "*;q=0", false },
		{ "identity", false },
		{ "", false },
		{ "gzip;q=0, *", false },
		{ "*, gzip;q=0", false },
		{ "*;q=0.5, gzip;q=0", false },
		{ "x-gzip", true },
		{ "x-gzip;q=0, *", false },
		{ "gzip;q=0, x-gzip", false },
		{ "gzip, x-gzip;q=0", true },
		{ "GZIP", true },
		{ " gzip ; q=0.5 ", true },
		{ "br;q=1.0, gzip;q=0.8, *;q=0.1", true },
		{ "deflate, br, zstd", false },
		{ "gzip;q=2", false },
		{ "gzip;q=0.0001", false },
		{ "gzips", false },
		{ "gzip/x", false },
		{ "identity;q=0, *;q=0.001", true },
		{ ",,gzip,,", true },
	};
	/* clang-format on */

	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECK(gz(cases[i].value) == cases[i].want, "Accept-Encoding [%s]", cases[i].value);
	CHECK(!web_accept_encoding_allows_gzip(NULL, 0), "NULL Accept-Encoding");
	CHECK(!web_accept_encoding_allows_gzip("deflate, gzip", 7), "length honoured");
}

static uint32_t rnd(uint32_t bound)
{
	return (uint32_t)(test_rng() % bound);
}

/* Bytes that steer the parser into its interesting branches. */
static const char fuzz_alphabet[] = "GETHAD /:;,=\"\\\r\n\t\0?#*qQ.01-_xXhtp@\x7f\x80\xff";

static size_t mutate(char *buf, size_t n, size_t cap)
{
	int ops = 1 + (int)rnd(4);

	while (ops--) {
		size_t at = n ? rnd((uint32_t)n) : 0, span = 1 + rnd(8);

		switch (rnd(5)) {
		case 0: /* overwrite a byte */
			if (n)
				buf[at] = rnd(2) ? fuzz_alphabet[rnd(sizeof(fuzz_alphabet) - 1)]
						 : (char)rnd(256);
			break;
		case 1: /* insert a byte */
			if (n < cap) {
				memmove(buf + at + 1, buf + at, n - at);
				buf[at] = fuzz_alphabet[rnd(sizeof(fuzz_alphabet) - 1)];
				n++;
			}
			break;
		case 2: /* delete a span */
			span = span > n - at ? n - at : span;
			memmove(buf + at, buf + at + span, n - at - span);
			n -= span;
			break;
		case 3: /* duplicate a span */
			span = span > n - at ? n - at : span;
			if (n + span <= cap) {
				memmove(buf + at + span, buf + at, n - at);
				n += span;
			}
			break;
		default: /* truncate */
			n = at;
			break;
		}
	}
	return n;
}

static bool contains_ci(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	for (i = 0; i + k <= n; i++)
		if (!strncasecmp(s + i, needle, k))
			return true;
	return false;
}

static void test_fuzz(void)
{
	static const char *seeds[] = {
		("GET /metrics HTTP/1.1\r\nHost: h\r\nAccept: " PROMETHEUS_ACCEPT "\r\n"
		 "Accept-Encoding: gzip\r\n\r\n"),
		"HEAD http://h:1/x?y#z HTTP/1.0\nConnection: keep-alive, close\nContent-Length: "
		"12\n\n",
		("\r\nOPTIONS * HTTP/1.1\r\nTransfer-Encoding: chunked\r\n"
		 "Accept-Encoding: *;q=0, x-gzip;q=0.5\r\n\r\n"),
		"POST / HTTP/1.1\r\nAccept: text/plain;x=\"a,\\\"b\";q=0.9, "
		"application/openmetrics-text\r\n\r\n",
		/* bare header values, mostly for the negotiation functions */
		PROMETHEUS_ACCEPT,
		"text/*;q=0.3, application/openmetrics-text;q=0.300;version=\"0.0.1\", *;q=1.",
		"gzip;q=0, x-gzip;q=0.5, *;q=0.001, identity",
	};
	char buf[600];
	int bad_prefix = 0, bad_negotiation = 0;
	long i;

	for (i = 0; i < FUZZ_ITERATIONS; i++) {
		size_t n, k, max_head;
		struct parsed full;
		int prefix_rc;

		if (rnd(4) == 0) {
			n = rnd(200);
			for (k = 0; k < n; k++)
				buf[k] = fuzz_alphabet[rnd(sizeof(fuzz_alphabet) - 1)];
		} else {
			const char *seed = seeds[rnd(sizeof(seeds) / sizeof(seeds[0]))];

			n = strlen(seed);
			memcpy(buf, seed, n);
			n = mutate(buf, n, sizeof(buf));
		}
		switch (rnd(4)) {
		case 0:
			max_head = n ? rnd((uint32_t)n + 2) : 0;
			break;
		case 1:
			max_head = 64;
			break;
		default:
			max_head = BIG_HEAD;
			break;
		}
		full = parse_n(buf, n, max_head);
		/* An error on a prefix must be the final answer; no head completes early. */
		k = rnd(full.rc > 0 ? (uint32_t)full.rc : (uint32_t)n + 1);
		prefix_rc = parse_n(buf, k, max_head).rc;
		if (prefix_rc != 0 && (full.rc > 0 || prefix_rc != full.rc)) {
			if (bad_prefix++ < 5)
				printf("# prefix %zu gave %d, full %d: [%s]\n", k, prefix_rc,
				       full.rc, esc(buf, n));
		}
		/* Negotiation on a raw slice: a yes needs the name in the bytes. */
		k = rnd((uint32_t)n + 1);
		if (negotiate(buf + k, n - k, web_accept_prefers_openmetrics) &&
		    !contains_ci(buf + k, n - k, "openmetrics-text"))
			bad_negotiation++;
		if (negotiate(buf + k, n - k, web_accept_encoding_allows_gzip) &&
		    !contains_ci(buf + k, n - k, "gzip") && !memchr(buf + k, '*', n - k))
			bad_negotiation++;
	}
	CHECK(contract_errors == 0, "%d parser contract violations", contract_errors);
	CHECK(bad_prefix == 0, "%d prefix inconsistencies", bad_prefix);
	CHECK(bad_negotiation == 0, "%d negotiation violations", bad_negotiation);
}

int main(void)
{
	test_valid();
	test_invalid();
	test_max_head();
	test_accept();
	test_accept_encoding();
	test_fuzz();
	return test_summary("web/test_request");
}
