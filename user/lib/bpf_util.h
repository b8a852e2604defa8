/* lib/bpf_util.h — what the BPF collectors share: kernel run-time statistics, libbpf's messages
 * in the structured log, tracepoint BTF probing, per-CPU counter sums. */
#ifndef HOSTMON_LIB_BPF_UTIL_H
#define HOSTMON_LIB_BPF_UTIL_H

#include <stdbool.h>
#include <stdint.h>

struct bpf_link;

/*
 * API:
 *   bpf_util_stats_enable() turns on the kernel's BPF run-time statistics
 *   and returns an fd that keeps them on until closed (-errno on failure).
 *   bpf_util_stats_active(): whether the kernel keeps them now (our fd, or
 *   kernel.bpf_stats_enabled).
 *   bpf_util_route_libbpf_log() sends libbpf's own messages to the
 *   structured log, at debug level.
 *   bpf_util_has_btf_tracepoint(name): whether tracepoint name has a BTF type
 *   (tp_btf attaches); otherwise the caller uses the raw_tp twin.
 *   bpf_util_tracepoint_args(name, is_ptr, max): how many arguments
 *   tracepoint name passes (its BTF prototype, the context left out), and
 *   for the first max of them whether each is a pointer; -errno when the
 *   kernel has no BTF for it. For hooks whose arguments changed between
 *   kernels (a pid became a task_struct, an error code was added).
 *   bpf_util_percpu_sum(): the sum over CPUs of a per-CPU array's u64 slot
 *   key (0 when it cannot be read).
 *   bpf_util_iter_run(link): runs a BPF iterator (an iter/ program's link)
 *   over all its objects once, for the program's side effects (its output,
 *   if any, is discarded); 0 or -errno.
 */
int bpf_util_stats_enable(void);
bool bpf_util_stats_active(void);
void bpf_util_route_libbpf_log(void);
bool bpf_util_has_btf_tracepoint(const char *name);
int bpf_util_tracepoint_args(const char *name, bool *is_ptr, int max);
uint64_t bpf_util_percpu_sum(int map_fd, uint32_t key, int ncpus);
int bpf_util_iter_run(struct bpf_link *link);

#endif
