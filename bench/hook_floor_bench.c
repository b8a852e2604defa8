/* hook_floor_bench.c — attaches bpf/hook_floor/hook_floor.bpf.c's empty programs, so a benchmark
 * can measure the hooks' own cost beside a collector's on the same events.
 *
 * Usage: hook_floor_bench [--no-stats] syscalls | sock_length | cgroup DIR | sched | walk N | tcp |
 *                         exit | usdt BINARY
 *   syscalls    empty tp_btf sys_enter/sys_exit programs, attached globally: every syscall of
 *               every process on the host runs them
 *   sock_length empty tp_btf sock_recv_length/sock_send_length programs (6.3+): every socket
 *               receive and send of every process runs them
 *   cgroup DIR  empty cgroup_skb ingress/egress programs attached to the cgroup2 directory DIR:
 *               only packets of sockets in that cgroup (and below) run them
 *   sched       empty tp_btf sched_switch, sched_process_free and sched_process_exec programs
 *   walk N      an empty iter/task program, run over every task N times, then exit
 *   tcp         empty tp_btf tcp_retransmit_skb, tcp_send_reset, tcp_receive_reset and
 *               inet_sock_set_state programs (cgroup_tcp's hooks)
 *   exit        empty tp_btf sched_process_exit and mark_victim programs (cgroup_saturation's)
 *   usdt BINARY empty programs on BINARY's php:request__startup and php:request__shutdown USDT
 *               probes, in every process running it (http_latency's PHP hooks)
 * Only the programs of the chosen mode are loaded. The attaching modes print "attached MODE" once
 * attached (the caller waits for that line) and hold until SIGTERM/SIGINT. At the end each
 * program's kernel run-time statistics are printed, "floor PROG runs=N ns_per_run=X", measured
 * with BPF run-time statistics turned on for the run (as hostmon --bpf-stats does). --no-stats
 * leaves them off and prints none: the statistics read the clock twice per run, which a floor
 * compared with a collector running without them must not pay.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/prog_stats.h"
#include "lib/bpf_util.h"
#include "skel/hook_floor.skel.h"

enum { MAX_PROGS = 4 };

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int usage(const char *argv0)
{
	fprintf(stderr,
		"usage: %s [--no-stats] syscalls | sock_length | cgroup DIR | sched | walk N | tcp "
		"| "
		"exit | usdt BINARY\n",
		argv0);
	return 2;
}

/* Runs the task walk n times: each run visits every task once. */
static int walk(struct bpf_link *link, long n)
{
	for (long i = 0; i < n; i++) {
		int err = bpf_util_iter_run(link);
		if (err)
			return err;
	}
	return 0;
}

/* Blocks until SIGTERM/SIGINT; the signals stay blocked until sigsuspend(), so none is lost. */
static void hold(const char *mode)
{
	struct sigaction sa = { .sa_handler = on_signal };
	sigset_t block, waitmask;

	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	printf("attached %s\n", mode);
	fflush(stdout);
	while (!stop)
		sigsuspend(&waitmask);
}

int main(int argc, char **argv)
{
	bool stats = !(argc > 1 && !strcmp(argv[1], "--no-stats"));
	if (!stats) {
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	const char *mode = argc > 1 ? argv[1] : "";
	struct bpf_link *links[MAX_PROGS] = { NULL };
	struct bpf_program *progs[MAX_PROGS] = { NULL };
	struct hook_floor_bpf *skel = NULL;
	int cgfd = -1, stats_fd = -1, rc = 1, err, nprogs = 2;
	long walks = 0;
	const char *usdt_binary = NULL;

	/* the mode's programs and what they attach to */
	skel = hook_floor_bpf__open();
	if (!skel) {
		fprintf(stderr, "hook_floor: cannot open the skeleton: %s\n", strerror(errno));
		return 1;
	}
	if (!strcmp(mode, "syscalls") && argc == 2) {
		progs[0] = skel->progs.floor_sys_enter;
		progs[1] = skel->progs.floor_sys_exit;
	} else if (!strcmp(mode, "sock_length") && argc == 2) {
		progs[0] = skel->progs.floor_sock_recv;
		progs[1] = skel->progs.floor_sock_send;
	} else if (!strcmp(mode, "cgroup") && argc == 3) {
		progs[0] = skel->progs.floor_skb_ingress;
		progs[1] = skel->progs.floor_skb_egress;
		cgfd = open(argv[2], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cgfd < 0) {
			fprintf(stderr, "hook_floor: %s: %s\n", argv[2], strerror(errno));
			goto cleanup;
		}
	} else if (!strcmp(mode, "sched") && argc == 2) {
		progs[0] = skel->progs.floor_sched_switch;
		progs[1] = skel->progs.floor_task_free;
		progs[2] = skel->progs.floor_exec;
		nprogs = 3;
	} else if (!strcmp(mode, "walk") && argc == 3 && (walks = strtol(argv[2], NULL, 10)) > 0) {
		progs[0] = skel->progs.floor_task_walk;
		nprogs = 1;
	} else if (!strcmp(mode, "tcp") && argc == 2) {
		progs[0] = skel->progs.floor_tcp_retransmit;
		progs[1] = skel->progs.floor_tcp_reset_sent;
		progs[2] = skel->progs.floor_tcp_reset_received;
		progs[3] = skel->progs.floor_tcp_state_change;
		nprogs = 4;
	} else if (!strcmp(mode, "exit") && argc == 2) {
		progs[0] = skel->progs.floor_task_exit;
		progs[1] = skel->progs.floor_oom_victim;
	} else if (!strcmp(mode, "usdt") && argc == 3) {
		progs[0] = skel->progs.floor_php_startup;
		progs[1] = skel->progs.floor_php_shutdown;
		usdt_binary = argv[2];
	} else {
		hook_floor_bpf__destroy(skel);
		return usage(argv[0]);
	}
	struct bpf_program *p;
	bpf_object__for_each_program (p, skel->obj) {
		bool wanted = false;
		for (int i = 0; i < nprogs; i++)
			wanted |= p == progs[i];
		bpf_program__set_autoload(p, wanted);
	}
	err = hook_floor_bpf__load(skel);
	if (err) {
		fprintf(stderr, "hook_floor: cannot load the empty programs: %s\n", strerror(-err));
		goto cleanup;
	}
	stats_fd = stats ? bpf_enable_stats(BPF_STATS_RUN_TIME) : -1;
	if (stats && stats_fd < 0)
		fprintf(stderr, "hook_floor: no run-time statistics: %s\n", strerror(errno));
	for (int i = 0; i < nprogs; i++) {
		if (usdt_binary)
			links[i] = bpf_program__attach_usdt(
				progs[i], -1, usdt_binary, "php",
				i ? "request__shutdown" : "request__startup", NULL);
		else
			links[i] = cgfd >= 0 ? bpf_program__attach_cgroup(progs[i], cgfd)
					     : bpf_program__attach(progs[i]);
		if (!links[i]) {
			fprintf(stderr, "hook_floor: cannot attach %s: %s\n",
				bpf_program__name(progs[i]), strerror(errno));
			goto cleanup;
		}
	}
	if (walks) {
		err = walk(links[0], walks);
		if (err) {
			fprintf(stderr, "hook_floor: task walk failed: %s\n", strerror(-err));
			goto cleanup;
		}
	} else {
		hold(mode);
	}
	for (int i = 0; stats && i < nprogs; i++)
		prog_stats_print("floor", progs[i]);
	rc = 0;

cleanup:
	for (int i = 0; i < MAX_PROGS; i++)
		bpf_link__destroy(links[i]);
	hook_floor_bpf__destroy(skel);
	if (cgfd >= 0)
		close(cgfd);
	if (stats_fd >= 0)
		close(stats_fd);
	return rc;
}
