/* hook_floor_bench.c — attaches bpf/hook_floor/hook_floor.bpf.c's empty programs and holds them
 * until SIGTERM/SIGINT, so a benchmark can measure the hooks' own cost beside a collector's.
 *
 * Usage: hook_floor_bench [syscalls | cgroup DIR]   (default: syscalls)
 *   syscalls    empty tp_btf sys_enter/sys_exit programs, attached globally: every syscall of
 *               every process on the host runs them
 *   cgroup DIR  empty cgroup_skb ingress/egress programs attached to the cgroup2 directory DIR:
 *               only packets of sockets in that cgroup (and below) run them
 * Only the programs of the chosen mode are loaded. Prints "attached MODE" once they are attached
 * (the caller waits for that line) and detaches them before it exits 0 on the signal.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "skel/hook_floor.skel.h"

enum { FLOOR_PROGS = 2 };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [syscalls | cgroup DIR]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "syscalls", *dir = NULL;
	struct bpf_link *links[FLOOR_PROGS] = { NULL, NULL };
	struct bpf_program *progs[FLOOR_PROGS];
	struct hook_floor_bpf *skel = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;
	int cgfd = -1, rc = 1, err;
	bool cgroup;

	if (!strcmp(mode, "syscalls") && argc <= 2) {
		cgroup = false;
	} else if (!strcmp(mode, "cgroup") && argc == 3) {
		cgroup = true;
		dir = argv[2];
	} else {
		return usage(argv[0]);
	}

	/* the signals stay blocked until sigsuspend(), so one that comes early is not lost */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if (cgroup) {
		cgfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0) {
			fprintf(stderr, "hook_floor: %s: %s\n", dir, strerror(errno));
			goto cleanup;
		}
	}
	skel = hook_floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "hook_floor: cannot open the skeleton: %s\n", strerror(errno));
		goto cleanup;
	}
	bpf_program__set_autoload(skel->progs.floor_sys_enter, !cgroup);
	bpf_program__set_autoload(skel->progs.floor_sys_exit, !cgroup);
	bpf_program__set_autoload(skel->progs.floor_skb_ingress, cgroup);
	bpf_program__set_autoload(skel->progs.floor_skb_egress, cgroup);
	err = hook_floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "hook_floor: cannot load the empty programs: %s\n", strerror(-err));
		goto cleanup;
	}
	progs[0] = cgroup ? skel->progs.floor_skb_ingress : skel->progs.floor_sys_enter;
	progs[1] = cgroup ? skel->progs.floor_skb_egress : skel->progs.floor_sys_exit;
	for (int i = 0; i < FLOOR_PROGS; i++) {
		links[i] = cgroup ? bpf_program__attach_cgroup(progs[i], cgfd)
				  : bpf_program__attach(progs[i]);
		if (!links[i]) {
			fprintf(stderr, "hook_floor: cannot attach %s%s%s: %s\n",
				bpf_program__name(progs[i]), cgroup ? " to " : "",
				cgroup ? dir : "", strerror(errno));
			goto cleanup;
		}
	}
	printf("attached %s\n", mode);
	fflush(stdout);
	while (!stop)
		sigsuspend(&waitmask);
	rc = 0;

cleanup:
	for (int i = 0; i < FLOOR_PROGS; i++)
		bpf_link__destroy(links[i]);
	hook_floor_bpf__destroy(skel);
	if (cgfd >= 0)
		close(cgfd);
	return rc;
}
