/* http_latency/php_syscalls.bpf.h — the PHP-FPM hooks on raw sys_enter/sys_exit (the tier for
 * kernels without fentry/fexit): the syscall's number and arguments, handed to php_io.bpf.h. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PHP_SYSCALLS_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_PHP_SYSCALLS_BPF_H

/*
 * API:
 *   php_sys_enter(id, fd, arg2, arg3): syscall id of the current thread
 *     starts with those arguments. Reads keep their arguments for sys_exit
 *     (php_read_start); writes are looked at now (php_on_write). Leaves at
 *     once for a syscall that is no read or write, and for a process that is
 *     not a PHP target.
 *   php_sys_exit(id, ret): the syscall ends with ret (php_read_done).
 *   read_kind(id), write_buf(id, arg2, arg3, &len): how a read syscall names
 *     its buffer; the first buffer a write syscall sends (the sock_length
 *     tier reads the same arguments).
 *   The programs take the syscall number and arguments from their pt_regs
 *   (syscalls.bpf.h); tests call these with values of their own
 *   (bpf/http_latency/http_latency_test.bpf.c).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "maps.bpf.h"
#include "peek.bpf.h"
#include "php.bpf.h"
#include "php_io.bpf.h"
#include "syscalls.bpf.h"

/* How a read syscall id names its buffer: a buffer, an iovec array or a msghdr. */
static __always_inline __u8 read_kind(long id)
{
	return id == NR_READV ? READ_IOV : id == NR_RECVMSG ? READ_MSG : READ_BUF;
}

/* The first user buffer a write syscall id with arguments arg2, arg3 sends from, its length in
 * *len; 0 on a fault. */
static __always_inline __u64 write_buf(long id, __u64 arg2, __u64 arg3, __u64 *len)
{
	if (id == NR_WRITEV)
		return first_iov(arg2, len);
	if (id == NR_SENDMSG)
		return msg_first_iov(arg2, len);
	*len = arg3;
	return arg2;
}

static __always_inline void php_sys_enter(long id, __u32 fd, __u64 arg2, __u64 arg3)
{
	if (!is_read(id) && !is_write(id))
		return;
	struct http_target *t = php_io_target();
	if (!t)
		return;
	if (is_read(id)) {
		php_read_start(t, fd, arg2, 0, read_kind(id));
		return;
	}
	__u64 len = 0, p = write_buf(id, arg2, arg3, &len);
	php_on_write(t, fd, p, len);
}

static __always_inline void php_sys_exit(long id, long ret)
{
	if (is_read(id))
		php_read_done(ret);
}

#endif
