/* http_latency/syscalls.bpf.h — the syscalls that carry HTTP and FastCGI, and their arguments, per
 * architecture. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_SYSCALLS_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_SYSCALLS_BPF_H

/*
 * API:
 *   NR_READ ... NR_RECVMSG: the syscall numbers (x86 and arm64).
 *   is_read(id), is_write(id): id reads from / writes to a file descriptor.
 *   ARG1(regs) .. ARG3(regs): the syscall's arguments in a BTF-typed
 *     pt_regs (tp_btf/sys_enter), read directly.
 *   SYSCALL_NR(regs): the syscall number at sys_exit (its tracepoint does
 *     not pass it).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#if defined(__TARGET_ARCH_x86)
#define NR_READ	    0
#define NR_WRITE    1
#define NR_READV    19
#define NR_WRITEV   20
#define NR_SENDTO   44
#define NR_RECVFROM 45
#define NR_SENDMSG  46
#define NR_RECVMSG  47
#elif defined(__TARGET_ARCH_arm64)
#define NR_READ	    63
#define NR_WRITE    64
#define NR_READV    65
#define NR_WRITEV   66
#define NR_SENDTO   206
#define NR_RECVFROM 207
#define NR_SENDMSG  211
#define NR_RECVMSG  212
#else
#error "syscall numbers for this architecture"
#endif

static __always_inline int is_read(long id)
{
	return id == NR_READ || id == NR_READV || id == NR_RECVFROM || id == NR_RECVMSG;
}

static __always_inline int is_write(long id)
{
	return id == NR_WRITE || id == NR_WRITEV || id == NR_SENDTO || id == NR_SENDMSG;
}

/* Syscall arguments: tp_btf hands a BTF-typed pt_regs that is read directly. */
#if defined(__TARGET_ARCH_x86)
#define ARG1(r) ((r)->di)
#define ARG2(r) ((r)->si)
#define ARG3(r) ((r)->dx)
#elif defined(__TARGET_ARCH_arm64)
#define ARG1(r) ((r)->orig_x0)
#define ARG2(r) ((r)->regs[1])
#define ARG3(r) ((r)->regs[2])
#endif

#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR_FIELD orig_ax
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR_FIELD syscallno
#endif
#define SYSCALL_NR(regs) ((regs)->SYSCALL_NR_FIELD)

#endif
