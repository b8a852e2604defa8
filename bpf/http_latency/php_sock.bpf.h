/* http_latency/php_sock.bpf.h — the PHP-FPM hooks on the socket read/write path (fentry/fexit on
 * sock_read_iter and sock_write_iter, where the kernel has them): the user buffer an iov_iter
 * describes, handed to php_io.bpf.h. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PHP_SOCK_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_PHP_SOCK_BPF_H

/*
 * API:
 *   php_sock_read_start(iocb, to): a read(2)/readv(2) of a socket starts,
 *     into the buffers of iov_iter to; for a PHP-FPM target's thread its
 *     first user buffer is kept for php_sock_read_end (php_read_start).
 *   php_sock_read_end(ret): that read returned ret (php_read_done).
 *   php_sock_write_start(iocb, from): a write(2)/writev(2) to a socket, its
 *     first user buffer looked at now (php_on_write).
 *   Only socket reads and writes through the file interface reach these
 *   (php-fpm reads and writes its FastCGI connections so); every other
 *   syscall of every process runs nothing. The connection is the socket's
 *   inode number, unique among open sockets.
 *   iocb and to/from are fentry's BTF pointers, read with CO-RE: the
 *   iov_iter layout differs between kernels (ITER_UBUF since 6.0; the
 *   iovec pointer `iov` became `__iov` in 6.4; the enum's values moved).
 */

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "maps.bpf.h"
#include "php.bpf.h"
#include "php_io.bpf.h"

/* struct iov_iter before 6.4, for its iovec pointer's old name */
struct iov_iter___iov {
	const struct iovec *iov;
} __attribute__((preserve_access_index));

/* The first user buffer of it and its length (at most the iterator's count); 0 for an iterator of
 * kernel memory (kvec, bvec...: no user buffer a worker wrote or reads). */
static __always_inline __u64 iter_first_user(struct iov_iter *it, __u64 *len)
{
	__u8 type = BPF_CORE_READ(it, iter_type);
	__u64 off = BPF_CORE_READ(it, iov_offset);
	__u64 count = BPF_CORE_READ(it, count);

	if (bpf_core_enum_value_exists(enum iter_type, ITER_UBUF) &&
	    type == bpf_core_enum_value(enum iter_type, ITER_UBUF)) {
		*len = count;
		return (__u64)BPF_CORE_READ(it, ubuf) + off;
	}
	if (type != bpf_core_enum_value(enum iter_type, ITER_IOVEC))
		return 0;
	const struct iovec *iov;
	if (bpf_core_field_exists(it->__iov))
		iov = BPF_CORE_READ(it, __iov);
	else
		iov = BPF_CORE_READ((struct iov_iter___iov *)it, iov);
	struct iovec v = {};
	if (bpf_probe_read_kernel(&v, sizeof(v), iov) || v.iov_len <= off)
		return 0;
	*len = v.iov_len - off < count ? v.iov_len - off : count;
	return (__u64)v.iov_base + off;
}

static __always_inline __u32 sock_conn(struct kiocb *iocb)
{
	return (__u32)BPF_CORE_READ(iocb, ki_filp, f_inode, i_ino);
}

static __always_inline void php_sock_read_start(struct kiocb *iocb, struct iov_iter *to)
{
	struct http_target *t = php_io_target();
	if (!t)
		return;
	__u64 len = 0, p = iter_first_user(to, &len);
	if (!p)
		return;
	php_read_start(t, sock_conn(iocb), p, len < 0xffffffffull ? (__u32)len : 0xffffffffu,
		       READ_BUF);
}

static __always_inline void php_sock_read_end(long ret)
{
	php_read_done(ret);
}

static __always_inline void php_sock_write_start(struct kiocb *iocb, struct iov_iter *from)
{
	struct http_target *t = php_io_target();
	if (!t)
		return;
	__u64 len = 0, p = iter_first_user(from, &len);
	if (p)
		php_on_write(t, sock_conn(iocb), p, len);
}

#endif
