/* http_latency/php_sock_length.bpf.h — the PHP-FPM hooks on the sock_recv_length and
 * sock_send_length tracepoints (6.3+; the tier for kernels without fentry/fexit): the socket read
 * or write that just happened, from its syscall's arguments, handed to php_io.bpf.h. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PHP_SOCK_LENGTH_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_PHP_SOCK_LENGTH_BPF_H

/*
 * API:
 *   php_sock_recv_length(sk, ret, flags): a receive on socket sk returned
 *     ret; for a PHP-FPM target's thread in read(2), readv(2), recvfrom(2)
 *     or recvmsg(2) the bytes it got go to php_on_read (php_read_got).
 *   php_sock_send_length(sk, ret): a send on sk returned ret; for a target's
 *     write(2), writev(2), sendto(2) or sendmsg(2) the first ret bytes of its
 *     first buffer go to php_on_write.
 *   The kernel fires both for every socket receive and send (sock_recvmsg,
 *   sock_sendmsg) and for nothing else: a syscall on a file, a pipe or no fd
 *   at all runs no program, and a socket's runs the target bit test first.
 *   The tracepoints carry no buffer: the syscall's own arguments, in the
 *   task's saved user registers, give it, and the user memory holds the
 *   bytes received or still holds the bytes sent while the syscall runs.
 *   Receives and sends that are no such syscall (a kernel thread's, io_uring,
 *   sendfile) are left alone. The connection is the socket's inode number,
 *   as in the sock_iter tier.
 */

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "maps.bpf.h"
#include "php_io.bpf.h"
#include "php_syscalls.bpf.h"

#define PHP_MSG_PEEK 2 /* include/linux/socket.h: the bytes stay queued for the next read */

/* The socket's inode number. sk is the tracepoint's BTF pointer, so the chain is read with direct
 * loads (CO-RE relocated, fault-safe), not a helper call per pointer: a socket without a file (a
 * kernel socket) has none and is 0. */
static __always_inline __u32 sk_conn(struct sock *sk)
{
	struct socket *so = sk->sk_socket;
	if (!so)
		return 0;
	struct file *f = so->file;
	if (!f)
		return 0;
	return (__u32)f->f_inode->i_ino;
}

/*
 * The target a receive or send of ret bytes belongs to, with its syscall's saved user registers
 * and number, when it is a target's and moved bytes; NULL otherwise (the bit test comes first).
 */
static __always_inline struct http_target *sock_length_target(int ret, struct pt_regs **regs,
							      long *id)
{
	if (ret <= 0)
		return NULL;
	struct http_target *t = php_io_target();
	if (!t)
		return NULL;
	*regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());
	*id = (long)SYSCALL_NR(*regs);
	return t;
}

static __always_inline void php_sock_recv_length(struct sock *sk, int ret, int flags)
{
	struct pt_regs *regs;
	long id;
	struct http_target *t = flags & PHP_MSG_PEEK ? NULL : sock_length_target(ret, &regs, &id);
	if (!t || !is_read(id))
		return;
	__u8 kind = read_kind(id);
	struct read_args a = {
		.ptr = ARG2(regs),
		.fd = sk_conn(sk),
		.seg = kind == READ_BUF && ARG3(regs) < 0xffffffffull ? (__u32)ARG3(regs) : 0,
		.kind = kind,
		.mode = t->mode,
	};
	php_read_got(&a, ret);
}

static __always_inline void php_sock_send_length(struct sock *sk, int ret)
{
	struct pt_regs *regs;
	long id;
	struct http_target *t = sock_length_target(ret, &regs, &id);
	if (!t || !is_write(id))
		return;
	__u64 len = 0, p = write_buf(id, ARG2(regs), ARG3(regs), &len);
	if (len > (__u64)ret)
		len = (__u64)ret;
	php_on_write(t, sk_conn(sk), p, len);
}

#endif
