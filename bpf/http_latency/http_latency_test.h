/* http_latency/http_latency_test.h — the context of the parser test wrappers in
 * bpf/http_latency/http_latency_test.bpf.c. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_HTTP_LATENCY_TEST_H
#define HOSTMON_BPF_HTTP_LATENCY_HTTP_LATENCY_TEST_H

#include "http_latency.h"

struct http_test_ctx {
	__u8 buf[HTTP_PEEK];
	__u32 n;
	__s32 result;
	__u32 content_len;
	__u32 padding;
};
_Static_assert(sizeof(struct http_test_ctx) == HTTP_PEEK + 16, "http_test_ctx layout");

#endif
