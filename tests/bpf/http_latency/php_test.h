/* php_test.h — what the PHP-FPM BPF tests share: FastCGI records as a worker reads and writes
 * them, making this process a target, and reading what was recorded, on the maps of whichever
 * object a test loaded (the collector's or the test wrappers'). */
#ifndef HOSTMON_TESTS_BPF_HTTP_LATENCY_PHP_TEST_H
#define HOSTMON_TESTS_BPF_HTTP_LATENCY_PHP_TEST_H

#include <bpf/bpf.h>
#include <linux/types.h>
#include <string.h>
#include <unistd.h>

#include "bpf/http_latency/http_latency.h"
#include "test.h"

/* A FastCGI record: version 1, type, request id 1, content length, padding 0; its size. */
static inline size_t fcgi_record(__u8 *at, __u8 type, const void *content, size_t len)
{
	__u8 h[8] = { 1, type, 0, 1, (__u8)(len >> 8), (__u8)len, 0, 0 };
	memcpy(at, h, 8);
	memcpy(at + 8, content, len);
	return 8 + len;
}

/* A FastCGI name-value length at at: one byte below 128, else four with the high bit set. */
static inline size_t fcgi_length(__u8 *at, size_t len)
{
	if (len < 128) {
		at[0] = (__u8)len;
		return 1;
	}
	at[0] = (__u8)(0x80 | (len >> 24));
	at[1] = (__u8)(len >> 16);
	at[2] = (__u8)(len >> 8);
	at[3] = (__u8)len;
	return 4;
}

/* One FCGI_PARAMS name-value pair; its size. */
static inline size_t fcgi_pair(__u8 *at, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value);
	size_t n = fcgi_length(at, nl);
	n += fcgi_length(at + n, vl);
	memcpy(at + n, name, nl);
	memcpy(at + n + nl, value, vl);
	return n + nl + vl;
}

/* This process becomes a PHP target in mode: its entry in targets and its bit in target_bits. */
static inline void php_test_become_target(int targets_fd, int bits_fd, __u8 mode)
{
	__u32 tgid = (__u32)getpid(), word = tgid / 64;
	struct http_target t = { .runtime = HTTP_RUNTIME_PHP, .mode = mode };
	__u64 bits = 0;
	CHECK(bpf_map_update_elem(targets_fd, &tgid, &t, BPF_ANY) == 0, "this process is a target");
	bpf_map_lookup_elem(bits_fd, &word, &bits);
	bits |= 1ull << (tgid & 63);
	bpf_map_update_elem(bits_fd, &word, &bits, BPF_ANY);
}

/* Requests recorded in hists with this status and method; found: the last such key. */
static inline __u64 php_test_recorded(int hists_fd, __u16 status, __u8 method,
				      struct http_hist_key *found)
{
	struct http_hist_key k, next, *prev = NULL;
	__u64 n = 0;
	while (bpf_map_get_next_key(hists_fd, prev, &next) == 0) {
		struct http_hist h;
		k = next;
		prev = &k;
		if (k.status != status || k.method != method ||
		    bpf_map_lookup_elem(hists_fd, &k, &h))
			continue;
		for (int b = 0; b <= HTTP_MAX_BUCKETS; b++)
			n += h.buckets[b];
		if (found)
			*found = k;
	}
	return n;
}

/* The first path routes keeps for a route key, NUL-terminated into buf ("" when none). */
static inline const char *php_test_route_path(int routes_fd, __u64 key, char *buf, size_t len)
{
	struct http_route r;
	if (bpf_map_lookup_elem(routes_fd, &key, &r) || r.len >= len)
		return "";
	memcpy(buf, r.path, r.len);
	buf[r.len] = '\0';
	return buf;
}

#endif
