/* restart/action.c — process identity, pidfd signals and child commands for restart actions. */
#include "restart/action.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/loop.h"
#include "core/privilege.h"
#include "lib/fileutil.h"
#include "lib/parse.h"
#include "lib/proc.h"
#include "restart/rule.h"

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

/* Who the command runs as, resolved before the fork (NSS is not safe after it). */
struct run_as {
	bool drop;	  /* root: the child gives up every capability */
	bool switch_user; /* false: stay who hostmon is */
	uid_t uid;
	gid_t gid;
	gid_t groups[64];
	int ngroups;
};

static int resolve_user(const char *user, struct run_as *as, char *why, size_t len)
{
	memset(as, 0, sizeof(*as));
	as->drop = geteuid() == 0;
	if (!user || !*user)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (!pw) {
		snprintf(why, len, "user %s does not exist", user);
		return -ENOENT;
	}
	as->uid = pw->pw_uid;
	as->gid = pw->pw_gid;
	as->ngroups = (int)(sizeof(as->groups) / sizeof(as->groups[0]));
	if (getgrouplist(pw->pw_name, pw->pw_gid, as->groups, &as->ngroups) < 0)
		as->ngroups = 0; /* more than 64: only the primary group */
	/* only root can switch; someone else running this asks for themselves */
	as->switch_user = geteuid() == 0;
	if (!as->switch_user && as->uid != geteuid()) {
		snprintf(why, len, "cannot run as %s without root", user);
		return -EPERM;
	}
	return 0;
}

/*
 * The child between fork and exec: async-signal-safe calls only. Its own session, stdin from
 * /dev/null, output to the pipe, no other descriptor, no blocked or ignored signal, the action's
 * user and groups, and no capability (a command run as root gets none on exec either).
 */
static void __attribute__((noreturn))
child_exec(char *const argv[], char *const env[], const struct run_as *as, int out_w, int err_w)
{
	sigset_t none;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	int rc = 0;

	if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 || dup2(out_w, 1) < 0 ||
	    dup2(out_w, 2) < 0)
		rc = -errno;
	/* hostmon blocks its signals for signalfd and ignores SIGPIPE; the command should not */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sigaction(SIGPIPE, &dfl, NULL);
	if (!rc && as->drop)
		rc = privilege_child_drop_all();
	if (!rc && as->switch_user &&
	    (syscall(SYS_setgroups, as->ngroups, as->groups) < 0 ||
	     syscall(SYS_setresgid, as->gid, as->gid, as->gid) < 0 ||
	     syscall(SYS_setresuid, as->uid, as->uid, as->uid) < 0))
		rc = -errno;
	if (!rc && as->drop)
		rc = privilege_child_drop_caps();
	if (!rc) {
		/* everything but 0-2 and the error pipe (close-on-exec) goes */
		syscall(SYS_close_range, 3, err_w > 3 ? err_w - 1 : 2, 0);
		syscall(SYS_close_range, err_w + 1, ~0u, 0);
		execve(argv[0], argv, env);
		rc = -errno;
	}
	ssize_t w = write(err_w, &rc, sizeof(rc));
	(void)w;
	_exit(127);
}

/* Forks and execs; 0 once the program runs, or -errno of the step that failed in the child. */
static int spawn(pid_t *pid, char *const argv[], char *const env[], const struct run_as *as,
		 int out_w)
{
	int errpipe[2];
	int child_rc = 0;

	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -errno;
	pid_t p = fork();
	if (p < 0) {
		int rc = -errno;
		close(errpipe[0]);
		close(errpipe[1]);
		return rc;
	}
	if (p == 0) {
		close(errpipe[0]);
		child_exec(argv, env, as, out_w, errpipe[1]);
	}
	close(errpipe[1]);
	/* end of file: the exec happened (close-on-exec); an int: why it did not */
	ssize_t n;
	while ((n = read(errpipe[0], &child_rc, sizeof(child_rc))) < 0 && errno == EINTR)
		;
	close(errpipe[0]);
	if (n == (ssize_t)sizeof(child_rc) && child_rc < 0) {
		while (waitpid(p, NULL, 0) < 0 && errno == EINTR)
			;
		return child_rc;
	}
	*pid = p;
	return 0;
}

struct restart_child *restart_child_spawn(struct loop *l, char *const argv[], char *const env[],
					  const char *user, uint64_t timeout_ms,
					  restart_child_done_fn done, void *arg, char *why,
					  size_t len)
{
	struct restart_child *c = calloc(1, sizeof(*c));
	int pipefd[2] = { -1, -1 };
	int rc = -ENOMEM;
	struct run_as as;

	if (!c)
		goto fail;
	rc = resolve_user(user, &as, why, len);
	if (rc)
		goto fail_why;
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
	rc = spawn(&c->pid, argv, env, &as, pipefd[1]);
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
	if (!(watched ? (void *)c->pid_watch : (void *)c->poll_timer) || !c->out_watch ||
	    !c->timer) {
		snprintf(why, len, "cannot watch the command: %s", strerror(ENOMEM));
		restart_child_free(c);
		return NULL;
	}
	return c;
fail:
	if (rc == -ENOMEM)
		snprintf(why, len, "out of memory");
fail_why:
	if (pipefd[0] >= 0)
		close(pipefd[0]);
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
