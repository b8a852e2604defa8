/* core/seccomp.c — the allow-list of system calls and the classic-BPF filter built from it. */
#include "core/seccomp.h"

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#else
#define FILTER_ARCH 0 /* no list for this architecture yet: seccomp_install() says so */
#endif

/*
 * What a full run uses (tests/integration/core/test_privilege.py lists it with strace over the
 * daemon's start, every endpoint, a RabbitMQ poll and an exec restart action), by who needs it.
 * Calls that exist only on some architectures are under #ifdef.
 */
static const int allowed[] = {
	/* memory, threads, time: libc, libbpf, libcurl's resolver threads */
	__NR_brk,
	__NR_mmap,
	__NR_munmap,
	__NR_mremap,
	__NR_mprotect,
	__NR_madvise,
	__NR_futex,
	__NR_set_robust_list,
	__NR_get_robust_list,
	__NR_rseq,
	__NR_set_tid_address,
	__NR_clone,
	__NR_clone3,
	__NR_exit,
	__NR_exit_group,
	__NR_gettid,
	__NR_getpid,
	__NR_getppid,
	__NR_sched_yield,
	__NR_sched_getaffinity,
	__NR_getcpu,
	__NR_getrandom,
	__NR_clock_gettime,
	__NR_clock_getres,
	__NR_gettimeofday,
	__NR_clock_nanosleep,
	__NR_nanosleep,
	__NR_restart_syscall,
	__NR_membarrier,
	__NR_prlimit64,
	__NR_getrusage,
	__NR_sysinfo,
	__NR_uname,
	__NR_times,
	/* signals: signalfd, the privilege broadcast, children's default dispositions */
	__NR_rt_sigaction,
	__NR_rt_sigprocmask,
	__NR_rt_sigreturn,
	__NR_rt_sigtimedwait,
	__NR_sigaltstack,
	__NR_signalfd4,
	__NR_tgkill,
	__NR_kill,
	__NR_pidfd_open,
	__NR_pidfd_send_signal,
	/* files: /proc, cgroup files, config, certificates, the rabbitmq password file */
	__NR_openat,
	__NR_openat2, /* PHP-FPM configuration inside a container root (RESOLVE_IN_ROOT) */
	__NR_close,
	__NR_close_range,
	__NR_read,
	__NR_pread64,
	__NR_readv,
	__NR_write,
	__NR_pwrite64,
	__NR_writev,
	__NR_lseek,
	__NR_fstat,
	__NR_newfstatat,
	__NR_statx,
	__NR_statfs,
	__NR_fstatfs,
	__NR_readlinkat,
	__NR_getdents64,
	__NR_faccessat,
	__NR_faccessat2,
	__NR_fcntl,
	__NR_dup,
	__NR_dup3,
	__NR_pipe2,
	__NR_ioctl,
	__NR_getcwd,
	__NR_chdir,
	__NR_fchdir,
	__NR_umask,
	__NR_flock,
	__NR_fsync,
	__NR_ftruncate,
	__NR_fadvise64,
	/* event loop and HTTP server, libcurl */
	__NR_epoll_create1,
	__NR_epoll_ctl,
	__NR_epoll_pwait,
	__NR_eventfd2,
	__NR_timerfd_create,
	__NR_timerfd_settime,
	__NR_timerfd_gettime,
	__NR_ppoll,
	__NR_pselect6,
	__NR_socket,
	__NR_socketpair,
	__NR_bind,
	__NR_listen,
	__NR_accept4,
	__NR_connect,
	__NR_getsockname,
	__NR_getpeername,
	__NR_setsockopt,
	__NR_getsockopt,
	__NR_shutdown,
	__NR_sendto,
	__NR_recvfrom,
	__NR_sendmsg,
	__NR_recvmsg,
	__NR_sendmmsg,
	__NR_recvmmsg,
	/* BPF: map reads, links and perf events for targets found later */
	__NR_bpf,
	__NR_perf_event_open,
	/* dropping privileges (once, every thread), restart commands: user, session, exec, wait */
	__NR_capget,
	__NR_capset,
	__NR_prctl,
	__NR_setgroups,
	__NR_setgid,
	__NR_setuid,
	__NR_setresgid,
	__NR_setresuid,
	__NR_getuid,
	__NR_geteuid,
	__NR_getgid,
	__NR_getegid,
	__NR_getresuid,
	__NR_getresgid,
	__NR_getgroups,
	__NR_setsid,
	__NR_setpgid,
	__NR_getpgid,
	__NR_execve,
	__NR_wait4,
	__NR_waitid,
	__NR_seccomp,
#ifdef __NR_arch_prctl
	__NR_arch_prctl,
#endif
#ifdef __NR_open /* the architectures that still have the old calls (a shell's children) */
	__NR_open,
	__NR_stat,
	__NR_lstat,
	__NR_access,
	__NR_readlink,
	__NR_pipe,
	__NR_dup2,
	__NR_poll,
	__NR_select,
	__NR_epoll_wait,
	__NR_fork,
	__NR_vfork,
	__NR_getpgrp,
	__NR_getdents,
	__NR_alarm,
	__NR_time,
	__NR_unlink,
	__NR_rename,
	__NR_mkdir,
#endif
	__NR_unlinkat,
	__NR_renameat2,
	__NR_mkdirat,
};

#define N_ALLOWED (sizeof(allowed) / sizeof(allowed[0]))

int seccomp_install(const char *mode, char *why, size_t len)
{
	/* arch check, load nr, one compare per call, then the default and the allow return */
	struct sock_filter prog[4 + N_ALLOWED + 2];
	unsigned n = 0;
	unsigned deny;

	if (strcmp(mode, "false") == 0)
		return 0;
	if (FILTER_ARCH == 0) {
		snprintf(why, len,
			 "no seccomp list for this architecture; run with --seccomp=false");
		return -ENOSYS;
	}
	if (strcmp(mode, "kill") == 0)
		deny = SECCOMP_RET_KILL_PROCESS;
	else if (strcmp(mode, "log") == 0)
		deny = SECCOMP_RET_LOG;
	else
		deny = SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA);

	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, arch));
	prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FILTER_ARCH, 1, 0);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
						 offsetof(struct seccomp_data, nr));
	for (unsigned i = 0; i < N_ALLOWED; i++) {
		/* a match jumps to the allow return, after the remaining compares and the deny */
		unsigned to_allow = (unsigned)(N_ALLOWED - i - 1) + 1;
		prog[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K,
							 (unsigned)allowed[i], to_allow, 0);
	}
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, deny);
	prog[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog fprog = { .len = (unsigned short)n, .filter = prog };
	if (syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &fprog) !=
	    0) {
		int rc = errno ? -errno : -ESRCH; /* > 0: the id of a thread that could not sync */
		snprintf(why, len, "cannot install the seccomp filter: %s", strerror(-rc));
		return rc;
	}
	return 0;
}
