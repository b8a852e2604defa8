/* core/privilege.h — least privilege once hostmon has started: capabilities kept, no new
 * privileges, the system call filter. */
#ifndef HOSTMON_CORE_PRIVILEGE_H
#define HOSTMON_CORE_PRIVILEGE_H

#include <stddef.h>

/*
 * API:
 *   privilege_reduce() runs once, after every collector has loaded and
 *   attached and the HTTP server listens, before the event loop. In every
 *   thread of the process (threads started before it, such as the RabbitMQ
 *   poller, are reached with a signal and confirmed from /proc/self/task) it
 *   removes every capability but the kept ones below from the bounding,
 *   effective, permitted, inheritable and ambient sets and sets
 *   no_new_privs; then it installs the seccomp filter (core/seccomp.h) in
 *   mode seccomp ("true", "kill", "log" or "false"). It logs the kept set in
 *   one line. 0 or -errno with why.
 *
 *   The kept capabilities and what needs each after start:
 *     BPF, PERFMON     attach programs to targets found later (USDT/uprobes
 *                      through perf events, links, task iterators), read maps
 *     SYS_ADMIN        USDT probes on a php-fpm found after start: without it
 *                      the attach fails with EACCES on kernel 6.18 (measured by
 *                      tests/integration/http_latency/test_http_latency.py)
 *     NET_ADMIN        attach cgroup_skb programs to new HTTP servers' cgroups
 *     SYS_PTRACE       /proc/PID/exe, /proc/PID/root of other users' processes
 *     DAC_READ_SEARCH  a target's binary in a directory only its user can read
 *     KILL             the signal restart action, a timed-out command's session
 *     SETUID, SETGID   a restart command runs as its action's "user"
 *     SETPCAP          a command run as root starts with no capability
 */
int privilege_reduce(const char *seccomp, char *why, size_t len);

/* In a restart command's child between fork and exec (async-signal-safe): drop_all empties
 * the bounding and ambient sets and locks "no root privileges on exec" (before the user
 * switch, which it still allows); drop_caps then clears the remaining sets. 0 or -errno. */
int privilege_child_drop_all(void);
int privilege_child_drop_caps(void);

#endif
