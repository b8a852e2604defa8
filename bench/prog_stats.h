/* prog_stats.h — one line of a loaded BPF program's kernel run-time statistics, for the benchmarks
 * that print them ("TAG NAME runs=N ns_per_run=X"; statistics must be on: bpf_enable_stats). */
#ifndef HOSTMON_BENCH_PROG_STATS_H
#define HOSTMON_BENCH_PROG_STATS_H

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <string.h>

static inline void prog_stats_print(const char *tag, struct bpf_program *p)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_obj_get_info_by_fd(bpf_program__fd(p), &info, &len))
		return;
	printf("%s %s runs=%llu ns_per_run=%.1f\n", tag, bpf_program__name(p),
	       (unsigned long long)info.run_cnt,
	       info.run_cnt ? (double)info.run_time_ns / (double)info.run_cnt : 0.0);
}

#endif
