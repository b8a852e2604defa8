/* http_latency/peek.bpf.h — the first bytes of a syscall's user buffer, plain, iovec or msghdr. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PEEK_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_PEEK_BPF_H

/*
 * API:
 *   peek(b, p, len): copies the first min(len, HTTP_PEEK) bytes at user
 *     address p into b (HTTP_PEEK bytes); returns how many, 0 on a fault.
 *   first_iov(iov, &len): base and length of the first iovec of the array at
 *     user address iov; 0 on a fault (len then untouched).
 *   msg_first_iov(msg, &len): the same for the iovecs of a user msghdr.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"

static __always_inline __u32 peek(__u8 *b, __u64 p, __u64 len)
{
	if (len > HTTP_PEEK)
		len = HTTP_PEEK;
	if (len == 0 || !p)
		return 0;
	if (bpf_probe_read_user(b, len, (const void *)p))
		return 0;
	return (__u32)len;
}

static __always_inline __u64 first_iov(__u64 iov, __u64 *len)
{
	struct iovec v = {};
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)iov))
		return 0;
	*len = v.iov_len;
	return (__u64)v.iov_base;
}

static __always_inline __u64 msg_first_iov(__u64 msg, __u64 *len)
{
	struct user_msghdr m = {};
	if (bpf_probe_read_user(&m, sizeof(m), (const void *)msg) || m.msg_iovlen < 1)
		return 0;
	return first_iov((__u64)m.msg_iov, len);
}

#endif
