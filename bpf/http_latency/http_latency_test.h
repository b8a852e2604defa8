/* http_latency/http_latency_test.h — the contexts of the test wrappers in
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

/* record_request: one measured request, as the programs record it (record.bpf.h) */
struct http_test_record {
	__u64 cgroup_id;
	__u64 route;
	__u64 duration_ns;
	__u16 status;
	__u8 runtime;
	__u8 method;
	__u32 pad;
};
_Static_assert(sizeof(struct http_test_record) == 32, "http_test_record layout");

/* sys_enter / sys_exit: a syscall of the test's own thread, as the tp_btf programs see it */
struct http_test_syscall {
	__s64 id;
	__u64 arg1, arg2, arg3;
	__s64 ret;
};
_Static_assert(sizeof(struct http_test_syscall) == 40, "http_test_syscall layout");

/* usdt_startup: the probe's arguments, user addresses of NUL-terminated strings */
struct http_test_usdt {
	__u64 method;
	__u64 uri;
};
_Static_assert(sizeof(struct http_test_usdt) == 16, "http_test_usdt layout");

#endif
