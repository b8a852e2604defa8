/* lib/pid_bits.bpf.h — a bitmap of pids as a cheap first test before a hash or task-storage
 * lookup: an array lookup the verifier inlines and one shift. */
#ifndef HOSTMON_BPF_LIB_PID_BITS_BPF_H
#define HOSTMON_BPF_LIB_PID_BITS_BPF_H

/*
 * API:
 *   pid_bit_maybe(bits, pid): 0 when pid's bit in bits is clear (certainly
 *     not one of the set), 1 when it is set or pid lies beyond the bitmap
 *     (pid_max raised after load): then the caller's real lookup decides.
 *     bits is a BPF_MAP_TYPE_ARRAY of __u64 words (bit pid % 64 of word
 *     pid / 64), sized by user space from pid_max before load.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

static __always_inline int pid_bit_maybe(void *bits, __u32 pid)
{
	__u32 word = pid / 64;
	__u64 *w = bpf_map_lookup_elem(bits, &word);
	if (!w)
		return 1;
	return (*w >> (pid & 63)) & 1;
}

#endif
