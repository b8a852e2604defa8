/* test_action.c — child commands (exit, output, timeout, env, signal mask) and pidfd
 * signals. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/loop.h"
#include "restart/action.h"
#include "test.h"

struct outcome {
	struct loop *loop;
	bool done;
	int result;
	char output[1024];
};

static void on_done(void *arg, int result, const char *output)
{
	struct outcome *o = arg;
	o->done = true;
	o->result = result;
	snprintf(o->output, sizeof(o->output), "%s", output);
	loop_stop(o->loop);
}

/* Runs argv to completion under a fresh loop. */
static struct outcome run(char *const argv[], char *const env[], uint64_t timeout_ms)
{
	struct outcome o = { .loop = loop_new() };
	char why[256] = "";
	struct restart_child *c = restart_child_spawn(o.loop, argv, env, NULL, timeout_ms, on_done,
						      &o, why, sizeof(why));
	if (!c) {
		o.result = -errno;
		snprintf(o.output, sizeof(o.output), "%s", why);
	} else {
		loop_run(o.loop);
		restart_child_free(c);
	}
	loop_free(o.loop);
	return o;
}

static void test_commands(void)
{
	char *exit3[] = { "/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2; exit 3", NULL };
	struct outcome o = run(exit3, NULL, 5000);
	CHECK(o.done && o.result == 3, "result %d", o.result);
	CHECK(strstr(o.output, "to-stdout") && strstr(o.output, "to-stderr"), "output [%s]",
	      o.output);

	/* exactly the environment given: nothing of the caller's (a secret) reaches the command */
	setenv("HOSTMON_RABBITMQ_PASSWORD", "hunter2", 1);
	char *env[] = { "HOSTMON_RULE=laravel", NULL };
	char *echo_env[] = { "/bin/sh", "-c", "tr '\\0' ' ' < /proc/$$/environ", NULL };
	o = run(echo_env, env, 5000);
	CHECK(o.done && o.result == 0 && strcmp(o.output, "HOSTMON_RULE=laravel ") == 0,
	      "only the given environment: [%s]", o.output);
	unsetenv("HOSTMON_RABBITMQ_PASSWORD");

	/* no descriptor of the caller's is inherited, open or not close-on-exec */
	/* a high number: the shell's own pipe for `ls | tr` may still be open as fd 3 or 4 when ls
	 * lists the shell's fds, so a low leaked number could be told from it only by chance */
	int low = open("/dev/null", O_RDONLY);
	int leak = fcntl(low, F_DUPFD, 40);
	close(low);
	char *fds[] = { "/bin/sh", "-c", "ls /proc/$$/fd | tr '\\n' ' '", NULL };
	o = run(fds, NULL, 5000);
	char leaked[16];
	snprintf(leaked, sizeof(leaked), " %d ", leak);
	CHECK(o.done && o.result == 0 && strncmp(o.output, "0 1 2 ", 6) == 0 &&
		      !strstr(o.output, leaked),
	      "only 0-2 (and what ls opens): [%s], leak %d", o.output, leak);
	close(leak);

	if (geteuid() == 0) {
		char *caps[] = { "/bin/sh", "-c", "grep -E '^Cap(Eff|Prm|Bnd)' /proc/$$/status",
				 NULL };
		o = run(caps, NULL, 5000);
		CHECK(o.done && strstr(o.output, "CapEff:\t0000000000000000") &&
			      strstr(o.output, "CapPrm:\t0000000000000000") &&
			      strstr(o.output, "CapBnd:\t0000000000000000"),
		      "a command run by root has no capability: [%s]", o.output);
	}

	/* hostmon blocks TERM/INT/HUP for its signalfd; the command must not inherit that */
	sigset_t mask, old;
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, &old);
	char *blocked[] = { "/bin/sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL };
	o = run(blocked, NULL, 5000);
	sigprocmask(SIG_SETMASK, &old, NULL);
	CHECK(o.done && strstr(o.output, "SigBlk:\t0000000000000000"), "mask [%s]", o.output);

	char *loud[] = { "/bin/sh", "-c", "yes 0123456789 | head -c 100000; echo END", NULL };
	o = run(loud, NULL, 5000);
	CHECK(o.done && o.result == 0 && strlen(o.output) <= 512 && strstr(o.output, "END"),
	      "the tail of a long output is kept (%zu bytes)", strlen(o.output));

	char *slow[] = { "/bin/sh", "-c", "sleep 30 & sleep 30; echo never", NULL };
	o = run(slow, NULL, 200);
	CHECK(o.done && o.result == -ETIMEDOUT, "a command past its timeout: %d", o.result);

	char *missing[] = { "/nonexistent/restart-script", NULL };
	o = run(missing, NULL, 1000);
	CHECK(!o.done && o.result == -ENOENT && strstr(o.output, "/nonexistent/restart-script"),
	      "a missing program: %d [%s]", o.result, o.output);

	char *killed[] = { "/bin/sh", "-c", "kill -KILL $$", NULL };
	o = run(killed, NULL, 5000);
	CHECK(o.done && o.result == 128 + SIGKILL, "killed by a signal: %d", o.result);
}

static pid_t start_sleeper(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		execl("/bin/sleep", "sleep", "30", (char *)NULL);
		_exit(127);
	}
	usleep(100 * 1000); /* until the exec has happened */
	return pid;
}

static void test_signal(void)
{
	char why[256];
	struct proc_id who = { 0 };
	pid_t pid = start_sleeper();

	CHECK(restart_signal(pid, "php-fpm8.2", SIGTERM, &who, why, sizeof(why)) == -ESRCH &&
		      strstr(why, "is \"sleep\", not \"php-fpm8.2\""),
	      "the wrong program is not signalled: %s", why);
	CHECK(kill(pid, 0) == 0, "still running");
	CHECK(restart_signal(pid, "sleep", SIGTERM, &who, why, sizeof(why)) == 0, "%s", why);
	CHECK(who.pid == pid && strcmp(who.exe, "sleep") == 0 && who.start_ticks > 0, "identity");
	int status;
	waitpid(pid, &status, 0);
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "it got SIGTERM");
	CHECK(restart_signal(pid, "", SIGTERM, &who, why, sizeof(why)) == -ESRCH,
	      "a reaped pid is not signalled: %s", why);
}

static void test_pidfile_and_cgroup(void)
{
	char path[] = "/tmp/hostmon-test-pidfile-XXXXXX", why[256], cg[4096];
	int fd = mkstemp(path);
	pid_t pid = 0;

	CHECK(write(fd, "1234\n", 5) == 5, "write");
	CHECK(restart_pidfile_read(path, &pid, why, sizeof(why)) == 0 && pid == 1234, "pid %d",
	      (int)pid);
	CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, "12ab", 4, 0) == 4, "rewrite");
	CHECK(restart_pidfile_read(path, &pid, why, sizeof(why)) == -EINVAL &&
		      strstr(why, "does not hold a pid"),
	      "%s", why);
	close(fd);
	unlink(path);
	CHECK(restart_pidfile_read(path, &pid, why, sizeof(why)) == -ENOENT, "%s", why);
	CHECK(cgroup_pid_path(getpid(), cg, sizeof(cg)) == 0 && cg[0] == '/', "own cgroup %s", cg);
}

int main(void)
{
	test_commands();
	test_signal();
	test_pidfile_and_cgroup();
	return test_summary("restart/test_action");
}
