// SPDX-License-Identifier: GPL-2.0
/* http_latency/http_latency_test.bpf.c — BPF_PROG_TEST_RUN wrappers around the inline helpers the
 * http_latency programs run (request.bpf.h, record.bpf.h), for tests/bpf only. It has its own copy
 * of the collector's maps and settings (maps.bpf.h, settings.bpf.h), which the tests read and set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "record.bpf.h"
#include "request.bpf.h"
#include "http_latency_test.h"

char LICENSE[] SEC("license") = "GPL";

/* Each wrapper runs one parser on the bytes the test put in the context, as the verifier sees it.
 */
SEC("syscall")
int parse_method(struct http_test_ctx *ctx)
{
	__u8 b[HTTP_PEEK] = {};
	__builtin_memcpy(b, ctx->buf, HTTP_PEEK);
	ctx->result = http_parse_method(b, ctx->n);
	return 0;
}

SEC("syscall")
int parse_status(struct http_test_ctx *ctx)
{
	__u8 b[HTTP_PEEK] = {};
	__builtin_memcpy(b, ctx->buf, HTTP_PEEK);
	ctx->result = http_parse_status(b, ctx->n);
	return 0;
}

SEC("syscall")
int parse_fcgi_header(struct http_test_ctx *ctx)
{
	__u8 b[HTTP_PEEK] = {};
	__u32 clen = 0, pad = 0;
	__builtin_memcpy(b, ctx->buf, HTTP_PEEK);
	ctx->result = fcgi_parse_header(b, ctx->n, &clen, &pad);
	ctx->content_len = clen;
	ctx->padding = pad;
	return 0;
}

SEC("syscall")
int parse_fcgi_status(struct http_test_ctx *ctx)
{
	__u8 b[HTTP_PEEK] = {};
	__builtin_memcpy(b, ctx->buf, HTTP_PEEK);
	ctx->result = fcgi_parse_stdout_status(b, ctx->n);
	return 0;
}

/* One request into hists, exactly as the cgroup_skb and PHP programs record one. */
SEC("syscall")
int record_request(struct http_test_record *ctx)
{
	record(ctx->cgroup_id, ctx->runtime, ctx->method, ctx->status, ctx->route,
	       ctx->duration_ns);
	return 0;
}
