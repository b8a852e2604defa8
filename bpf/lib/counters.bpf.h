/* lib/counters.bpf.h — health counters of a BPF program (drops, full maps) in a per-CPU array. */
#ifndef HOSTMON_BPF_LIB_COUNTERS_BPF_H
#define HOSTMON_BPF_LIB_COUNTERS_BPF_H

/*
 * API:
 *   counter_add(map, slot, n): adds n to counter slot of map, a
 *     BPF_MAP_TYPE_PERCPU_ARRAY with __u32 keys and __u64 values.
 *   counter_inc(map, slot): counter_add(map, slot, 1).
 *   A slot beyond the array counts nothing (the array lookup checks the
 *   index). Each CPU adds to its own copy and the reader sums the CPUs;
 *   nobody resets the counters (they stay monotonic). The add is atomic all
 *   the same: a program that can be preempted (uprobes and USDT, faultable
 *   syscall tracepoints, sleepable programs) may lose its CPU between the
 *   load and the store to another program that adds to the same copy.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

static __always_inline void counter_add(void *map, __u32 slot, __u64 n)
{
	__u64 *v = bpf_map_lookup_elem(map, &slot);

	if (v)
		__sync_fetch_and_add(v, n);
}

static __always_inline void counter_inc(void *map, __u32 slot)
{
	counter_add(map, slot, 1);
}

#endif
