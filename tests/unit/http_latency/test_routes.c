/* test_routes.c — route keys (bpf/http_latency/route.bpf.h, host-compiled) and --http-routes. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "bpf/http_latency/route.bpf.h"
#include "http_latency/routes.h"
#include "test.h"

/* The key the kernel makes of path, and the label user space shows for it. */
static __u64 key_of(const struct http_routes *r, const char *path, __u8 *pattern)
{
	struct http_route_scratch scratch;
	__u8 buf[HTTP_ROUTE_BUF] = { 0 };
	size_t n = strlen(path);
	if (n > HTTP_ROUTE_LEN)
		n = HTTP_ROUTE_LEN;
	memcpy(buf, path, n);
	memset(&scratch, 0x5a, sizeof(scratch)); /* state left from an earlier request */
	return http_route_key(buf, (__u32)n, r ? r->patterns : NULL, r ? (__u32)r->n : 0, &scratch,
			      pattern);
}

static void label_of(const struct http_routes *r, const char *path, __u8 pattern, char *out,
		     size_t len)
{
	struct http_route rec = { .pattern = pattern };
	size_t n = strlen(path) < HTTP_ROUTE_LEN ? strlen(path) : HTTP_ROUTE_LEN;
	memcpy(rec.path, path, n);
	rec.len = (__u8)n;
	if (http_route_label(&rec, r, out, len))
		snprintf(out, len, "(none)");
}

static void expect_fold(const char *path, const char *want)
{
	char label[256];
	__u8 pattern = 9;
	__u64 key = key_of(NULL, path, &pattern);
	label_of(NULL, path, 0, label, sizeof(label));
	CHECK(strcmp(label, want) == 0, "%s folds to %s, got %s", path, want, label);
	CHECK(pattern == 0 && key == http_route_text_key(label, (__u32)strlen(label)),
	      "%s: the kernel's key is the key of its label %s", path, label);
}

static void test_folding(void)
{
	expect_fold("/users/42", "/users/:id");
	expect_fold("/users/42/orders?page=2 HTTP/1.1\r\n", "/users/:id/orders");
	expect_fold("/u/3f2504e0-4f89-11d3-9a0c-0305e82c3301/x", "/u/:id/x");
	expect_fold("/u/3F2504E0-4F89-11D3-9A0C-0305E82C3301", "/u/:id");
	expect_fold("/blob/0123456789abcdef", "/blob/:id");
	expect_fold("/blob/0123456789abcde", "/blob/0123456789abcde"); /* 15 hex: a word */
	expect_fold("/v1/api", "/v1/api");
	expect_fold("/search?q=1#top", "/search");
	expect_fold("/a//b/", "/a/b");
	expect_fold("/", "/");
	expect_fold("/?x", "/");
	expect_fold("http://example.com/x/1 HTTP/1.1", "/x/:id");
	expect_fold("http://example.com HTTP/1.1", "/");
	expect_fold("*", "*");
	expect_fold("/fast HTTP/1.1", "/fast");
	CHECK(key_of(NULL, "/users/1", &(__u8){ 0 }) == key_of(NULL, "/users/999", &(__u8){ 0 }),
	      "two ids: one key");
	CHECK(key_of(NULL, "/users/1", &(__u8){ 0 }) != key_of(NULL, "/users/me", &(__u8){ 0 }),
	      "an id and a word: two keys");
	for (int i = 0; i < 200; i++) {
		char path[HTTP_ROUTE_LEN + 1];
		__u8 pattern;
		for (int k = 0; k < HTTP_ROUTE_LEN; k++)
			path[k] = "/ab0-9F?x"[(unsigned)(i * 7 + k * 13 + k * k) % 9];
		path[HTTP_ROUTE_LEN] = '\0';
		path[0] = '/';
		char label[256];
		__u64 key = key_of(NULL, path, &pattern);
		label_of(NULL, path, 0, label, sizeof(label));
		CHECK(key == http_route_text_key(label, (__u32)strlen(label)) &&
			      key >= HTTP_ROUTE_FIRST_KEY,
		      "generated path %d: key agrees with its label %s", i, label);
	}
}

static void test_patterns(void)
{
	struct http_routes r;
	char err[256] = "";
	__u8 pattern;
	char label[256];

	CHECK(http_routes_parse("/users/:id,/api/v1/orders/*,/users/:id/orders", &r, err,
				sizeof(err)) == 0 &&
		      r.n == 3,
	      "three patterns: %s", err);
	__u64 k = key_of(&r, "/users/me", &pattern);
	CHECK(pattern == 1 && k == r.patterns[0].key, "a parameter matches a word (pattern %u)",
	      pattern);
	label_of(&r, "/users/me", pattern, label, sizeof(label));
	CHECK(strcmp(label, "/users/:id") == 0, "its label is the pattern: %s", label);
	key_of(&r, "/api/v1/orders", &pattern);
	CHECK(pattern == 2, "a star matches nothing more (pattern %u)", pattern);
	key_of(&r, "/api/v1/orders/a/b/c?x", &pattern);
	CHECK(pattern == 2, "a star matches any rest (pattern %u)", pattern);
	key_of(&r, "/users/7/orders", &pattern);
	CHECK(pattern == 3, "segment counts must agree (pattern %u)", pattern);
	__u64 d = key_of(&r, "/api/v2/orders/9", &pattern);
	label_of(&r, "/api/v2/orders/9", pattern, label, sizeof(label));
	CHECK(pattern == 0 && strcmp(label, "/api/v2/orders/:id") == 0 &&
		      d == http_route_text_key(label, (__u32)strlen(label)),
	      "no pattern: the default folding (%s)", label);

	/* 10,000 distinct paths under a star: one route; 10,000 ids: one default key */
	__u64 first = 0, first_id = 0;
	int same = 1, same_id = 1;
	for (int i = 0; i < 10000; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/api/v1/orders/item-%c%c%c", 'a' + i % 26,
			 'a' + i / 26 % 26, 'a' + i / 676 % 26);
		__u64 key = key_of(&r, path, &pattern);
		same &= i == 0 ? (first = key, 1) : key == first;
		snprintf(path, sizeof(path), "/shop/%d/cart", i);
		key = key_of(NULL, path, &pattern);
		same_id &= i == 0 ? (first_id = key, 1) : key == first_id;
	}
	CHECK(same, "10,000 paths under a star: one key");
	CHECK(same_id, "10,000 ids: one key");
	http_routes_free(&r);

	static const char *bad[] = { "users", "/a/*/b", "/a/b c", "/1/2/3/4/5/6/7/8/9", "/a,b" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(http_routes_parse(bad[i], &r, err, sizeof(err)) == -EINVAL && *err &&
			      !strchr(err, '\n'),
		      "rejected: %s (%s)", bad[i], err);
	}
	CHECK(http_routes_parse(NULL, &r, err, sizeof(err)) == 0 && r.n == 0, "none");
	char many[1024] = "";
	for (int i = 0; i <= HTTP_MAX_ROUTE_PATTERNS; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s/p%d", i ? "," : "",
			 i);
	CHECK(http_routes_parse(many, &r, err, sizeof(err)) == -EINVAL, "too many patterns: %s",
	      err);
}

int main(void)
{
	test_folding();
	test_patterns();
	return test_summary("http_latency/test_routes");
}
