/* lib/exec_name.bpf.h — whether the program a task just exec'd has one of a list of executable
 * names, at sched_process_exec, without walking the file's path. */
#ifndef HOSTMON_BPF_LIB_EXEC_NAME_BPF_H
#define HOSTMON_BPF_LIB_EXEC_NAME_BPF_H

/*
 * API:
 *   exec_name_match(names, prefix, len, n): the index of the first of
 *     names[0..n) (n <= EXEC_MAX_NAMES) the current task's new program
 *     matches, or -1: exactly, or by its first len[k] bytes where
 *     prefix[k] (php-fpm*). names, prefix and len are the caller's .rodata
 *     arrays (bpf_strncmp() wants a constant string from a read-only map).
 *   At sched_process_exec the task's comm already holds the basename of the
 *   file being executed (as exec named it, up to 15 bytes), so no path walk
 *   is needed: scanning the path for its last '/' made the verifier walk a
 *   state per possible basename offset and hit its limit.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#define EXEC_MAX_NAMES 8
#define EXEC_NAME_LEN  16

static __always_inline int exec_name_match(const volatile char (*names)[EXEC_NAME_LEN],
					   const volatile __u8 *prefix, const volatile __u8 *len,
					   __u32 n)
{
	char base[EXEC_NAME_LEN] = {};
	if (bpf_get_current_comm(base, sizeof(base)))
		return -1;
	for (__u32 k = 0; k < EXEC_MAX_NAMES; k++) {
		if (k >= n)
			break;
		char cut[EXEC_NAME_LEN];
		__builtin_memcpy(cut, base, sizeof(cut));
		if (prefix[k])
			cut[len[k] & (EXEC_NAME_LEN - 1)] = '\0';
		if (bpf_strncmp(cut, sizeof(cut), (const char *)names[k]) == 0)
			return (int)k;
	}
	return -1;
}

#endif
