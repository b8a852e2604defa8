/* hook_floor_bench.c — attaches bpf/hook_floor.bpf.c's empty sys_enter/sys_exit programs and holds
 * them until SIGTERM/SIGINT, so a benchmark can measure the hooks' own cost per syscall. */
#include <bpf/libbpf.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "skel/hook_floor.skel.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(void)
{
	struct hook_floor_bpf *skel = hook_floor_bpf__open_and_load();
	if (!skel || hook_floor_bpf__attach(skel)) {
		fprintf(stderr, "hook_floor: cannot load or attach the empty programs\n");
		hook_floor_bpf__destroy(skel);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("attached\n");
	fflush(stdout);
	while (!stop)
		pause();
	hook_floor_bpf__destroy(skel);
	return 0;
}
