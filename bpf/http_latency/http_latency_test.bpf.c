// SPDX-License-Identifier: GPL-2.0
/* http_latency/http_latency_test.bpf.c — BPF_PROG_TEST_RUN wrappers around the inline helpers the
 * http_latency programs run (request.bpf.h, record.bpf.h, php.bpf.h, php_syscalls.bpf.h), for
 * tests/bpf only. It has its own copy
 * of the collector's maps and settings (maps.bpf.h, settings.bpf.h), which the tests read and set.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "php_syscalls.bpf.h"
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

/*
 * The PHP-FPM logic of the tp_btf and USDT programs, in the test's own thread: its process is
 * the target, its memory the worker's buffers, its task storage the worker's request. Syscall
 * programs may use task storage and bpf_get_current_task_btf() as the tracing programs do.
 */
SEC("syscall")
int sys_enter_test(struct http_test_syscall *ctx)
{
	php_sys_enter(ctx->id, (__u32)ctx->arg1, ctx->arg2, ctx->arg3);
	return 0;
}

SEC("syscall")
int sys_exit_test(struct http_test_syscall *ctx)
{
	php_sys_exit(ctx->id, ctx->ret);
	return 0;
}

SEC("syscall")
int usdt_startup_test(struct http_test_usdt *ctx)
{
	php_usdt_start(ctx->method, ctx->uri);
	return 0;
}

SEC("syscall")
int usdt_shutdown_test(void *ctx)
{
	php_usdt_end();
	return 0;
}

/* what sched_process_exit runs for the exiting thread (here: the test's, which goes on) */
SEC("syscall")
int thread_exit_test(void *ctx)
{
	php_task_gone(bpf_get_current_task_btf());
	return 0;
}
