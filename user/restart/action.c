/* restart/action.c — process identity, pidfd signals and child commands for restart actions. */
#include "restart/action.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/loop.h"
#include "lib/fileutil.h"
#include "lib/parse.h"
#include "lib/proc.h"
#include "restart/rule.h"

extern char **environ;

#define CHILD_OUTPUT_MAX 512 /* the last bytes of a command's output, for the log */

int restart_pidfile_read(const char *path, pid_t *out, char *why, size_t len)
{
	char buf[64];
	uint64_t pid;
	int rc = file_read_text(path, buf, sizeof(buf));

	if (rc) {
		snprintf(why, len, "cannot read pidfile %s: %s", path, strerror(-rc));
		return rc;
	}
	buf[strcspn(buf, " \t\r\n")] = '\0';
	if (parse_u64(buf, 1, 1u << 22, &pid)) {
		snprintf(why, len, "pidfile %s does not hold a pid", path);
		return -EINVAL;
	}
	*out = (pid_t)pid;
	return 0;
}

static long collect_pids(const char *dir, pid_t *pids, size_t max, size_t n, int depth)
{
	char path[CGROUP_PATH_MAX * 2];
	FILE *f;
	long pid;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	f = fopen(path, "re");
	if (!f)
		return n == 0 ? -errno : (long)n;
	while (n < max && fscanf(f, "%ld", &pid) == 1)
		pids[n++] = (pid_t)pid;
	fclose(f);
	if (depth > 32)
		return (long)n;
	DIR *d = opendir(dir);
	if (!d)
		return (long)n;
	struct dirent *e;
	while (n < max && (e = readdir(d))) {
		if (e->d_type != DT_DIR || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		long got = collect_pids(path, pids, max, n, depth + 1);
		if (got > 0)
			n = (size_t)got;
	}
	closedir(d);
	return (long)n;
}

long restart_cgroup_pids(const char *dir, pid_t *pids, size_t max)
{
	return collect_pids(dir, pids, max, 0, 0);
}

pid_t restart_cgroup_main_pid(const char *dir)
{
	pid_t pids[4096];
	long n = restart_cgroup_pids(dir, pids, sizeof(pids) / sizeof(pids[0]));
	pid_t best = 0;
	uint64_t best_start = UINT64_MAX;
	char buf[1024];

	for (long i = 0; i < n; i++) {
		uint64_t ppid, start;
		if (proc_stat_read(pids[i], buf, sizeof(buf)) || proc_stat_field(buf, 4, &ppid) ||
		    proc_stat_field(buf, 22, &start))
			continue;
		bool parent_inside = false;
		for (long j = 0; j < n && !parent_inside; j++)
			parent_inside = (uint64_t)pids[j] == ppid;
		if (!parent_inside && start < best_start) {
			best = pids[i];
			best_start = start;
		}
	}
	return best;
}

/*
 * Without pidfds (kernels before 5.3, or a tool such as valgrind that does not know the call):
 * kill(2) right after the start-time check. A pid reused between the check and the kill would
 * be hit; the window is a few microseconds, and every kernel hostmon's BPF side runs on has
 * pidfds, so this is a fallback for tools, not a mode.
 */
static int signal_without_pidfd(const struct proc_id *checked, int sig, struct proc_id *signalled,
				char *why, size_t len)
{
	struct proc_id now;
	if (proc_id_read(checked->pid, &now) || now.start_ticks != checked->start_ticks) {
		snprintf(why, len, "pid %d was replaced while it was checked", (int)checked->pid);
		return -ESRCH;
	}
	if (kill(checked->pid, sig) < 0) {
		int rc = -errno;
		char name[32];
		snprintf(why, len, "%s to pid %d: %s", restart_signal_name(sig, name, sizeof(name)),
			 (int)checked->pid, strerror(errno));
		return rc;
	}
	*signalled = *checked;
	return 0;
}

int restart_signal_check(pid_t pid, const char *expect_exe, struct proc_id *who, char *why,
			 size_t len)
{
	struct proc_id id;
	int rc = proc_id_read(pid, &id);

	if (rc) {
		snprintf(why, len, "pid %d: %s", (int)pid, strerror(-rc));
		return rc;
	}
	if (expect_exe && *expect_exe && strcmp(id.exe, expect_exe) != 0) {
		snprintf(why, len, "pid %d is \"%s\", not \"%s\"", (int)pid, id.exe, expect_exe);
		return -ESRCH;
	}
	*who = id;
	return 0;
}

int restart_signal(pid_t pid, const char *expect_exe, int sig, struct proc_id *signalled, char *why,
		   size_t len)
{
	struct proc_id before, after;
	char name[32];
	int rc = restart_signal_check(pid, expect_exe, &before, why, len);

	if (rc)
		return rc;
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0 && errno == ENOSYS)
		return signal_without_pidfd(&before, sig, signalled, why, len);
	if (pidfd < 0) {
		rc = -errno;
		snprintf(why, len, "pidfd_open %d: %s", (int)pid, strerror(errno));
		return rc;
	}
	/* the pidfd pins one process; checking again proves it is the one checked above */
	rc = proc_id_read(pid, &after);
	if (rc || after.start_ticks != before.start_ticks) {
		snprintf(why, len, "pid %d was replaced while it was checked", (int)pid);
		close(pidfd);
		return -ESRCH;
	}
	if (syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0) {
		rc = -errno;
		snprintf(why, len, "%s to pid %d: %s", restart_signal_name(sig, name, sizeof(name)),
			 (int)pid, strerror(errno));
		close(pidfd);
		return rc;
	}
	close(pidfd);
	*signalled = before;
	return 0;
}

/* Without pidfds the child's exit is polled this often. */
#define CHILD_POLL_MS 50

struct restart_child {
	struct loop *loop;
	pid_t pid;
	int pidfd, out_fd;
	struct loop_watch *pid_watch, *out_watch;
	struct loop_timer *timer, *poll_timer;
	bool timed_out, reaped;
	restart_child_done_fn done;
	void *arg;
	char output[CHILD_OUTPUT_MAX + 1];
	size_t output_len;
};

/* Keeps the last CHILD_OUTPUT_MAX bytes of the command's output. */
static void drain_output(struct restart_child *c)
{
	char buf[4096];
	ssize_t n;

	while (c->out_fd >= 0 && (n = read(c->out_fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return;
			n = 0;
		}
		if (n == 0)
			break;
		size_t take = (size_t)n > CHILD_OUTPUT_MAX ? CHILD_OUTPUT_MAX : (size_t)n;
		if (c->output_len + take > CHILD_OUTPUT_MAX) {
			size_t drop = c->output_len + take - CHILD_OUTPUT_MAX;
			memmove(c->output, c->output + drop, c->output_len - drop);
			c->output_len -= drop;
		}
		memcpy(c->output + c->output_len, buf + (size_t)n - take, take);
		c->output_len += take;
	}
	/* end of file or an error: the output is complete */
	loop_watch_del(c->loop, c->out_watch);
	c->out_watch = NULL;
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->out_fd = -1;
}

static void on_output(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)l;
	(void)fd;
	(void)events;
	drain_output(arg);
}

static void release(struct restart_child *c)
{
	loop_watch_del(c->loop, c->pid_watch);
	loop_watch_del(c->loop, c->out_watch);
	loop_timer_del(c->loop, c->timer);
	loop_timer_del(c->loop, c->poll_timer);
	c->pid_watch = c->out_watch = NULL;
	c->timer = c->poll_timer = NULL;
	if (c->pidfd >= 0)
		close(c->pidfd);
	if (c->out_fd >= 0)
		close(c->out_fd);
	c->pidfd = c->out_fd = -1;
}

static void on_exit_ready(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct restart_child *c = arg;
	int status;
	(void)l;
	(void)fd;
	(void)events;

	if (waitpid(c->pid, &status, WNOHANG) != c->pid)
		return;
	c->reaped = true;
	drain_output(c);
	release(c);
	c->output[c->output_len] = '\0';
	int result = c->timed_out	 ? -ETIMEDOUT
		     : WIFEXITED(status) ? WEXITSTATUS(status)
					 : 128 + WTERMSIG(status);
	c->done(c->arg, result, c->output); /* may free c */
}

static void on_poll(struct loop *l, void *arg)
{
	on_exit_ready(l, -1, 0, arg);
}

static void on_timeout(struct loop *l, void *arg)
{
	struct restart_child *c = arg;
	(void)l;
	loop_timer_del(c->loop, c->timer);
	c->timer = NULL;
	c->timed_out = true;
	kill(-c->pid, SIGKILL); /* its own session and process group: all of it */
}

/* environ plus extra, in a new array (the strings are borrowed). */
static char **merge_env(char *const extra[])
{
	size_t n = 0, m = 0;
	while (environ && environ[n])
		n++;
	while (extra && extra[m])
		m++;
	char **env = calloc(n + m + 1, sizeof(*env));
	if (!env)
		return NULL;
	if (n)
		memcpy(env, environ, n * sizeof(*env));
	if (m)
		memcpy(env + n, extra, m * sizeof(*env));
	return env;
}

static int spawn(pid_t *pid, char *const argv[], char **env, int out_w)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, defaults;
	int rc;

	sigemptyset(&none);
	sigemptyset(&defaults);
	sigaddset(&defaults, SIGPIPE); /* hostmon ignores it; the command should not */
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_adddup2(&fa, out_w, 2);
	/* hostmon blocks its signals for signalfd; the command starts with none blocked */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETSID);
	rc = -posix_spawn(pid, argv[0], &fa, &attr, argv, env);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return rc;
}

struct restart_child *restart_child_spawn(struct loop *l, char *const argv[],
					  char *const extra_env[], uint64_t timeout_ms,
					  restart_child_done_fn done, void *arg, char *why,
					  size_t len)
{
	struct restart_child *c = calloc(1, sizeof(*c));
	char **env = merge_env(extra_env);
	int pipefd[2] = { -1, -1 };
	int rc = -ENOMEM;

	if (!c || !env)
		goto fail;
	/* a clear reason up front: a spawn that cannot exec may only show as exit status 127 */
	if (access(argv[0], X_OK) < 0) {
		rc = -errno;
		snprintf(why, len, "cannot run %s: %s", argv[0], strerror(errno));
		goto fail;
	}
	c->loop = l;
	c->pidfd = c->out_fd = -1;
	c->done = done;
	c->arg = arg;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = spawn(&c->pid, argv, env, pipefd[1]);
	close(pipefd[1]);
	pipefd[1] = -1;
	if (rc) {
		snprintf(why, len, "cannot run %s: %s", argv[0], strerror(-rc));
		goto fail;
	}
	c->out_fd = pipefd[0];
	pipefd[0] = -1;
	fcntl(c->out_fd, F_SETFL, O_NONBLOCK);
	c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (c->pidfd < 0 && errno != ENOSYS) {
		rc = -errno;
		snprintf(why, len, "pidfd_open: %s", strerror(errno));
		restart_child_free(c);
		free(env);
		errno = -rc;
		return NULL;
	}
	/* without pidfds (old kernels, valgrind) the exit is polled instead of watched */
	bool watched = c->pidfd >= 0;
	if (watched)
		c->pid_watch = loop_watch_add(l, c->pidfd, EPOLLIN, on_exit_ready, c);
	else
		c->poll_timer = loop_timer_add(l, CHILD_POLL_MS, CHILD_POLL_MS, on_poll, c);
	c->out_watch = loop_watch_add(l, c->out_fd, EPOLLIN, on_output, c);
	c->timer = loop_timer_add(l, timeout_ms, 0, on_timeout, c);
	free(env);
	if (!(watched ? (void *)c->pid_watch : (void *)c->poll_timer) || !c->out_watch ||
	    !c->timer) {
		snprintf(why, len, "cannot watch the command: %s", strerror(ENOMEM));
		restart_child_free(c);
		return NULL;
	}
	return c;
fail:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (rc == -ENOMEM)
		snprintf(why, len, "out of memory");
	free(env);
	free(c);
	errno = -rc;
	return NULL;
}

void restart_child_free(struct restart_child *c)
{
	if (!c)
		return;
	if (!c->reaped && c->pid > 0) {
		kill(-c->pid, SIGKILL);
		while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	release(c);
	free(c);
}
