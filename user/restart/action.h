/* restart/action.h — what a restart rule does to its target: processes, signals, child commands. */
#ifndef HOSTMON_RESTART_ACTION_H
#define HOSTMON_RESTART_ACTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/proc.h"

/*
 * API:
 *   Processes are named by pid plus start time (struct proc_id, proc.h),
 *   which together never repeat; the executable's name is checked where the
 *   rule gives one.
 *
 *   restart_pidfile_read() reads a pid from a pidfile. restart_cgroup_pids()
 *   lists the processes of a cgroup directory and its descendants (at most
 *   max; returns how many, or -errno). restart_cgroup_main_pid() is the
 *   process of the cgroup whose parent is outside it (a service's master),
 *   the oldest if several.
 *
 *   restart_signal_check() checks identity: the process exists and runs
 *   expect_exe (when not empty); *who is what was found. A dry run stops
 *   there. restart_signal() does the same check, opens a pidfd, checks the
 *   start time again through it and signals through the pidfd, so a pid
 *   reused in between is never hit.
 *
 *   restart_child_spawn() runs argv (no shell) in its own session with
 *   exactly env as its environment (nothing of hostmon's), stdin from
 *   /dev/null, output kept (the last bytes, for the log), no other open
 *   descriptor, as user (NULL or "": as hostmon; a name: that user and its
 *   groups, which needs root) and with no capability at all. done(arg, result, output) runs from
 *   the loop when it exits: result 0 (exit 0), a positive exit status, 128 +
 *   signal, or -ETIMEDOUT when it outlived timeout_ms (then its whole
 *   session was killed). restart_child_free() kills a running child's
 *   session and reaps it; accepts NULL.
 *   Every function returns 0 or -errno and writes a reason into why.
 */

struct loop;

int restart_pidfile_read(const char *path, pid_t *out, char *why, size_t len);
long restart_cgroup_pids(const char *dir, pid_t *pids, size_t max);
pid_t restart_cgroup_main_pid(const char *dir); /* 0 when the cgroup has no process */
int restart_signal_check(pid_t pid, const char *expect_exe, struct proc_id *who, char *why,
			 size_t len);
int restart_signal(pid_t pid, const char *expect_exe, int sig, struct proc_id *signalled, char *why,
		   size_t len);

struct restart_child;
typedef void (*restart_child_done_fn)(void *arg, int result, const char *output);

struct restart_child *restart_child_spawn(struct loop *l, char *const argv[], char *const env[],
					  const char *user, uint64_t timeout_ms,
					  restart_child_done_fn done, void *arg, char *why,
					  size_t len);
void restart_child_free(struct restart_child *c);

#endif
