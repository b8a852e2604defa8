// SPDX-License-Identifier: GPL-2.0
/* nodejs_eventloop/nodejs_eventloop.bpf.c — node's event loop seen from the scheduler: its thread
 * asleep inside an epoll wait is idle, running between two such sleeps is one busy turn. One
 * sched_switch program, no probe in node and no syscall hook: a thread that is not a marked loop
 * costs two bitmap tests. A sched_process_exec program tells user space of new node processes. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "lib/exec_name.bpf.h"
#include "lib/pid_bits.bpf.h"
#include "turns.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/* The epoll wait syscalls of the architecture: libuv uses epoll_pwait (glibc's epoll_wait calls
 * it too), epoll_pwait2 may come; arm64 has no plain epoll_wait. */
#if defined(__TARGET_ARCH_x86)
#define EL_NR_EPOLL_WAIT   232
#define EL_NR_EPOLL_PWAIT  281
#define EL_NR_EPOLL_PWAIT2 441
#elif defined(__TARGET_ARCH_arm64)
#define EL_NR_EPOLL_WAIT   -1
#define EL_NR_EPOLL_PWAIT  22
#define EL_NR_EPOLL_PWAIT2 441
#else
#error "nodejs_eventloop: the syscall number of the epoll waits is not known for this architecture"
#endif

_Static_assert(EL_MAX_NAMES == EXEC_MAX_NAMES && EL_NAME_LEN == EXEC_NAME_LEN,
	       "el_names is what exec_name_match() reads");

/* Set before load: the node executable names (the node ones of --http-targets). */
const volatile char el_names[EL_MAX_NAMES][EL_NAME_LEN] = {};
const volatile __u8 el_name_prefix[EL_MAX_NAMES] = {};
const volatile __u8 el_name_len[EL_MAX_NAMES] = {};
const volatile __u32 el_nnames = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} el_execs SEC(".maps");

/* Kernels before 5.14 name the task's state `state`. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline bool task_sleeps(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state) != 0;
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state) != 0;
}

/* The syscall t is in, from the registers saved at its kernel entry; -1 outside one. */
static __always_inline long task_syscall(struct task_struct *t)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (!regs)
		return -1;
#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#else
	return BPF_CORE_READ(regs, syscallno);
#endif
}

static __always_inline bool in_poll(struct task_struct *t)
{
	long nr = task_syscall(t);
	return nr == EL_NR_EPOLL_PWAIT || nr == EL_NR_EPOLL_WAIT || nr == EL_NR_EPOLL_PWAIT2;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(eventloop_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	/* hosts with no node process: every switch leaves here */
	if (!loops_marked)
		return 0;
	/* the task's own fields first: a loop thread preempted, or asleep outside its poll, never
	 * reaches the task-storage lookup; only a real sleep in the poll is idle */
	struct el_loop *l = NULL;
	if (pid_bit_maybe(&el_pid_bits, prev->pid) && !preempt && task_sleeps(prev) &&
	    in_poll(prev))
		l = bpf_task_storage_get(&el_loops, prev, 0, 0);
	if (l)
		el_poll_sleep(l, bpf_ktime_get_ns(), bpf_get_current_cgroup_id());
	l = pid_bit_maybe(&el_pid_bits, next->pid) ? bpf_task_storage_get(&el_loops, next, 0, 0)
						   : NULL;
	if (l)
		el_wake(l, bpf_ktime_get_ns());
	return 0;
}

/* A new node process: user space marks its loop now (its /proc scan would find it later). A loop
 * that became another program is no loop any more: its mark goes (user space forgets it when it
 * next reads it). Every exec on the host runs this: a comm compare per node name. */
SEC("tp_btf/sched_process_exec")
int BPF_PROG(eventloop_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	if (exec_name_match(el_names, el_name_prefix, el_name_len, el_nnames) < 0) {
		if (pid_bit_maybe(&el_pid_bits, p->pid))
			bpf_task_storage_delete(&el_loops, p);
		return 0;
	}
	struct el_exec *e = bpf_ringbuf_reserve(&el_execs, sizeof(*e), 0);
	if (!e)
		return 0; /* the periodic /proc scan finds it */
	e->tgid = p->tgid;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
