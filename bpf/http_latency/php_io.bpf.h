/* http_latency/php_io.bpf.h — what the PHP-FPM hooks of every tier (socket read/write path, socket
 * length tracepoints or raw syscalls) do with a worker's reads and writes, on plain values. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PHP_IO_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_PHP_IO_BPF_H

/*
 * API:
 *   php_io_target(): the current process's target entry when it is a
 *     PHP-FPM target (USDT or FastCGI mode), else NULL; its bit in
 *     target_bits is the first step, so other processes leave at once.
 *   php_read_start(t, conn, p, seg, kind): the current thread of target t
 *     starts reading from connection conn into user memory p (kind READ_BUF:
 *     a buffer, seg its length or 0 for as much as the read returns;
 *     READ_IOV, READ_MSG: p is a user iovec array or msghdr, resolved when
 *     the read ends). Kept in the thread's storage (reads).
 *   php_read_done(ret): that read returned ret: the bytes it got go to
 *     php_on_read (php.bpf.h).
 *   php_read_got(a, ret): the same for a read whose arguments are in a
 *     (a hook that runs once, after the bytes arrived, needs no storage).
 *   Writes need no state: the hooks call php_on_write at their start.
 *   conn identifies the connection within one tier: the fd (syscalls) or the
 *   socket's inode number (sock_iter, sock_length).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "maps.bpf.h"
#include "peek.bpf.h"
#include "php.bpf.h"
#include "targets.bpf.h"

static __always_inline struct http_target *php_io_target(void)
{
	struct http_target *t = current_target(bpf_get_current_pid_tgid() >> 32);
	if (!t || t->mode == HTTP_MODE_HTTP)
		return NULL; /* HTTP mode is measured by the cgroup_skb programs */
	return t;
}

static __always_inline void php_read_start(const struct http_target *t, __u32 conn, __u64 p,
					   __u32 seg, __u8 kind)
{
	struct read_args *a = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0,
						   BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!a)
		return;
	a->ptr = p;
	a->fd = conn;
	a->seg = seg;
	a->kind = kind;
	a->mode = t->mode;
	a->pending = 1;
}

/* A read that returned ret, from the arguments its start kept (or, on a hook that sees the read
 * once, after it: the sock_length tier): the bytes it got go to php_on_read (php.bpf.h). */
static __always_inline void php_read_got(const struct read_args *a, long ret)
{
	if (ret <= 0)
		return;
	__u64 p = a->ptr, len = (__u64)ret;
	if (a->kind != READ_BUF) {
		__u64 first = 0;
		p = a->kind == READ_IOV ? first_iov(a->ptr, &first) : msg_first_iov(a->ptr, &first);
		if (first < len)
			len = first;
	} else if (a->seg && a->seg < len) {
		len = a->seg;
	}
	__u8 b[HTTP_PEEK] = {};
	__u32 n = peek(b, p, len);
	php_on_read(a->mode, a->fd, b, n, p, len);
}

static __always_inline void php_read_done(long ret)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!maybe_target(tgid))
		return;
	/* only a target's read start stored arguments: no second lookup of the target */
	struct read_args *ap = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0, 0);
	if (!ap || !ap->pending)
		return;
	struct read_args a = *ap;
	ap->pending = 0;
	php_read_got(&a, ret);
}

#endif
