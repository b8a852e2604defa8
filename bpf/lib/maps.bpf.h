/* lib/maps.bpf.h — map access patterns every program repeats: the value of a key, created on first
 * use. */
#ifndef HOSTMON_BPF_LIB_MAPS_BPF_H
#define HOSTMON_BPF_LIB_MAPS_BPF_H

/*
 * API:
 *   map_lookup_or_try_init(map, key, init): the value at key in a hash map
 *     (per-CPU or not), inserting *init first when key is absent. NULL when
 *     key is absent and could not be inserted (the map is full or out of
 *     memory): the caller counts that as a drop. Losing the insert race to
 *     another CPU is not a failure: the value that CPU inserted is returned.
 */

#include "vmlinux.h"
#include <asm-generic/errno-base.h>
#include <bpf/bpf_helpers.h>

static __always_inline void *map_lookup_or_try_init(void *map, const void *key, const void *init)
{
	void *value = bpf_map_lookup_elem(map, key);
	long err;

	if (value)
		return value;
	/* BPF_NOEXIST: never overwrite a value another CPU inserted since the lookup */
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -EEXIST)
		return NULL;
	return bpf_map_lookup_elem(map, key);
}

#endif
