/* syscall_bench.c — nanoseconds per small syscall, to measure what syscall hooks add to a process
 * they do not trace.
 *
 * Usage: syscall_bench [read|getppid|socket] [ITERATIONS] [ROUNDS]   (default: read 1000000 5)
 * Prints one line: syscall_bench syscall=read iterations=1000000 rounds=5 best_ns=... median_ns=...
 *
 * read: a 1-byte read(2) from /dev/zero. The http_latency collector hooks raw sys_enter/sys_exit
 * and cares about reads and writes, so for a process it does not trace this is the longest way
 * through its programs: the syscall number matches and only the process filter rejects it. The
 * syscall itself is short and steady (no I/O, no blocking). getppid: the cheapest syscall glibc
 * does not answer from a cache (issued with syscall(2)); what it adds is the hook plumbing alone
 * (the sys_enter/sys_exit slow path every task takes while any program is attached there).
 * socket: a 1-byte write(2) to one end of a unix socket pair and a read(2) of it from the other,
 * reported per syscall (the pair's time halved): the syscalls that the PHP-FPM hooks' socket tiers
 * (sock_iter, sock_length) run a program for, in every process, target or not.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 100

enum which { SYS_KIND_READ, SYS_KIND_GETPPID, SYS_KIND_SOCKET };

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* Runs n syscalls of kind (fd: what read reads; sv: the socket pair); returns the mean ns per
 * syscall, or a negative value on error. */
static double one_round(enum which kind, int fd, const int sv[2], unsigned long n)
{
	char c = 0;
	double start = now_ns();

	if (kind == SYS_KIND_SOCKET) {
		for (unsigned long i = 0; i < n; i += 2)
			if (write(sv[1], &c, 1) != 1 || read(sv[0], &c, 1) != 1)
				return -1;
	} else if (kind == SYS_KIND_READ) {
		for (unsigned long i = 0; i < n; i++)
			if (read(fd, &c, 1) != 1)
				return -1;
	} else {
		for (unsigned long i = 0; i < n; i++)
			if (syscall(SYS_getppid) < 0)
				return -1;
	}
	return (now_ns() - start) / (double)n;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int parse_ulong(const char *s, unsigned long lo, unsigned long hi, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v < lo || v > hi)
		return -EINVAL;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	const char *name = argc > 1 ? argv[1] : "read";
	unsigned long n = 1000000, rounds = 5;
	double ns[MAX_ROUNDS];
	enum which kind;
	int fd = -1, sv[2] = { -1, -1 };

	if (!strcmp(name, "read")) {
		kind = SYS_KIND_READ;
	} else if (!strcmp(name, "getppid")) {
		kind = SYS_KIND_GETPPID;
	} else if (!strcmp(name, "socket")) {
		kind = SYS_KIND_SOCKET;
	} else {
		fprintf(stderr, "usage: %s [read|getppid|socket] [ITERATIONS] [ROUNDS]\n", argv[0]);
		return 2;
	}
	if ((argc > 2 && parse_ulong(argv[2], 1, 1000000000UL, &n)) ||
	    (argc > 3 && parse_ulong(argv[3], 1, MAX_ROUNDS, &rounds))) {
		fprintf(stderr, "%s: ITERATIONS must be 1..1e9 and ROUNDS 1..%d\n", argv[0],
			MAX_ROUNDS);
		return 2;
	}
	if (kind == SYS_KIND_READ) {
		fd = open("/dev/zero", O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fprintf(stderr, "%s: /dev/zero: %s\n", argv[0], strerror(errno));
			return 1;
		}
	}

	if (kind == SYS_KIND_SOCKET && socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		fprintf(stderr, "%s: socketpair: %s\n", argv[0], strerror(errno));
		return 1;
	}

	/* one unmeasured round: page faults, cache and frequency warm-up */
	if (one_round(kind, fd, sv, n / 10 + 1) < 0)
		goto fail;
	for (unsigned long r = 0; r < rounds; r++) {
		ns[r] = one_round(kind, fd, sv, n);
		if (ns[r] < 0)
			goto fail;
	}
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	qsort(ns, rounds, sizeof(ns[0]), cmp_double);
	printf("syscall_bench syscall=%s iterations=%lu rounds=%lu best_ns=%.1f median_ns=%.1f\n",
	       name, n, rounds, ns[0], ns[rounds / 2]);
	return 0;

fail:
	fprintf(stderr, "%s: %s failed: %s\n", argv[0], name, strerror(errno));
	if (fd >= 0)
		close(fd);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	return 1;
}
