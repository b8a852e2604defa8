/* test_harness.c — test.h itself: a program that made no check fails, passing checks pass. */
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* Runs test_summary("name") in a child whose counters are set to (passed, failed); returns its exit
 * status and what it printed, or -1 if the child could not be run. */
static int summary_in_child(int passed, int failed, char *out, size_t outsz)
{
	int fds[2];
	if (pipe(fds))
		return -1;
	fflush(stdout); /* else the child would print the parent's buffered lines again */
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(fds[0]);
		if (dup2(fds[1], STDOUT_FILENO) < 0)
			_exit(99);
		test_passed = passed;
		test_failed = failed;
		int rc = test_summary("child");
		fflush(stdout);
		_exit(rc);
	}
	close(fds[1]);
	size_t len = 0;
	ssize_t n;
	while (len + 1 < outsz && (n = read(fds[0], out + len, outsz - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = '\0';
	close(fds[0]);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int main(void)
{
	char buf[256];
	const char *out = buf;
	int rc;

	rc = summary_in_child(0, 0, buf, sizeof(buf));
	CHECK(rc == 1, "zero checks: exit %d, want 1", rc);
	CHECK_STR(out, "not ok - child: no checks ran\nchild: 0 passed, 1 failed\n");

	rc = summary_in_child(3, 0, buf, sizeof(buf));
	CHECK(rc == 0, "three passing checks: exit %d, want 0", rc);
	CHECK_STR(out, "child: 3 passed, 0 failed\n");

	rc = summary_in_child(2, 1, buf, sizeof(buf));
	CHECK(rc == 1, "a failed check: exit %d, want 1", rc);
	CHECK_STR(out, "child: 2 passed, 1 failed\n");

	return test_summary("test_harness");
}
