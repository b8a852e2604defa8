/* http_latency/php_syscalls.bpf.h — what the sys_enter/sys_exit programs do for PHP-FPM targets, on
 * plain values, so the programs and the tests' wrappers run the same code. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PHP_SYSCALLS_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_PHP_SYSCALLS_BPF_H

/*
 * API:
 *   php_sys_enter(id, fd, arg2, arg3): syscall id of the current thread
 *     starts with those arguments. Reads (FastCGI mode) keep their
 *     arguments in the thread's storage (reads) for sys_exit; writes are
 *     looked at now (php_on_write). Leaves at once for a syscall that is no
 *     read or write, and for a process that is not a PHP target.
 *   php_sys_exit(id, ret): the syscall ends with ret; a read kept at
 *     sys_enter hands the bytes it got to php_on_read.
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
#include "syscalls.bpf.h"
#include "targets.bpf.h"

static __always_inline void php_sys_enter(long id, __u32 fd, __u64 arg2, __u64 arg3)
{
	if (!is_read(id) && !is_write(id))
		return;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct http_target *t = current_target(tgid);
	if (!t || t->mode == HTTP_MODE_HTTP)
		return; /* HTTP mode is measured by the cgroup_skb programs */

	if (is_read(id)) {
		if (t->mode == HTTP_MODE_PHP_USDT)
			return; /* USDT mode needs only the worker's writes */
		struct read_args *a = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0,
							   BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!a)
			return;
		a->ptr = arg2;
		a->fd = fd;
		a->kind = id == NR_READV ? READ_IOV : id == NR_RECVMSG ? READ_MSG : READ_BUF;
		a->mode = t->mode;
		a->pending = 1;
		return;
	}
	__u64 p = arg2, len = arg3;
	if (id == NR_WRITEV)
		p = first_iov(arg2, &len);
	else if (id == NR_SENDMSG)
		p = msg_first_iov(arg2, &len);
	php_on_write(t, fd, p, len);
}

static __always_inline void php_sys_exit(long id, long ret)
{
	if (!is_read(id))
		return;
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	if (!maybe_target(tgid))
		return;
	/* only a target's sys_enter stored arguments: no second lookup of the target */
	struct read_args *ap = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0, 0);
	if (!ap || !ap->pending)
		return;
	struct read_args a = *ap;
	ap->pending = 0;
	if (ret <= 0)
		return;

	__u64 p = a.ptr, len = (__u64)ret;
	if (a.kind != READ_BUF) {
		__u64 first = 0;
		p = a.kind == READ_IOV ? first_iov(a.ptr, &first) : msg_first_iov(a.ptr, &first);
		if (first < len)
			len = first;
	}
	__u8 b[HTTP_PEEK] = {};
	__u32 n = peek(b, p, len);
	if (a.mode == HTTP_MODE_PHP_FCGI)
		php_on_read(a.fd, b, n, p, len);
}

#endif
