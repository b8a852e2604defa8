/* oom_exit_bench.c — the per-event cost of cgroup_saturation's exit fallback (the OOM hook of
 * kernels whose mark_victim passes only a pid), which runs at every thread exit on the host, beside
 * an empty program on the same hook, both attached at once, over the same exits.
 *
 * Usage: oom_exit_bench N
 *   Loads sat_oom_victim_exit (bpf/cgroup_saturation) and floor_task_exit (bpf/hook_floor), both
 *   tp_btf/sched_process_exit, forks N children that exit at once, and prints for each program
 *   "prog NAME runs=R ns_per_run=X" (BPF run-time statistics, on for the run), then the
 *   children's fork+exit+wait time with both attached.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/prog_stats.h"
#include "skel/cgroup_saturation.skel.h"
#include "skel/hook_floor.skel.h"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc == 2 ? strtol(argv[1], NULL, 10) : 0;
	struct cgroup_saturation_bpf *sat = NULL;
	struct hook_floor_bpf *floor = NULL;
	struct bpf_link *l1 = NULL, *l2 = NULL;
	struct bpf_program *p;
	int stats_fd = -1, rc = 1;

	if (n <= 0) {
		fprintf(stderr, "usage: %s N\n", argv[0]);
		return 2;
	}
	sat = cgroup_saturation_bpf__open();
	floor = hook_floor_bpf__open();
	if (!sat || !floor) {
		fprintf(stderr, "oom_exit_bench: cannot open the skeletons: %s\n", strerror(errno));
		goto out;
	}
	bpf_program__set_autoload(sat->progs.sat_oom_victim, false);
	bpf_object__for_each_program (p, floor->obj)
		bpf_program__set_autoload(p, p == floor->progs.floor_task_exit);
	if (cgroup_saturation_bpf__load(sat) || hook_floor_bpf__load(floor)) {
		fprintf(stderr, "oom_exit_bench: cannot load the programs\n");
		goto out;
	}
	stats_fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	l1 = bpf_program__attach(sat->progs.sat_oom_victim_exit);
	l2 = bpf_program__attach(floor->progs.floor_task_exit);
	if (!l1 || !l2) {
		fprintf(stderr, "oom_exit_bench: cannot attach: %s\n", strerror(errno));
		goto out;
	}
	double start = now_s();
	for (long i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0)
			_exit(0);
		if (pid < 0 || waitpid(pid, NULL, 0) != pid) {
			fprintf(stderr, "oom_exit_bench: fork: %s\n", strerror(errno));
			goto out;
		}
	}
	double took = now_s() - start;
	prog_stats_print("prog", sat->progs.sat_oom_victim_exit);
	prog_stats_print("prog", floor->progs.floor_task_exit);
	printf("forks=%ld us_per_fork_exit_wait=%.2f\n", n, took * 1e6 / (double)n);
	rc = 0;
out:
	bpf_link__destroy(l1);
	bpf_link__destroy(l2);
	cgroup_saturation_bpf__destroy(sat);
	hook_floor_bpf__destroy(floor);
	if (stats_fd >= 0)
		close(stats_fd);
	return rc;
}
