/* cgroup/kernel_map.h — a BPF hash of per-cgroup counters (cgroup id -> u64 values) brought into a
 * cg_tree: read, given to the nodes, removed cgroups' final values taken, orphans folded. */
#ifndef HOSTMON_CGROUP_KERNEL_MAP_H
#define HOSTMON_CGROUP_KERNEL_MAP_H

#include <stddef.h>
#include <stdint.h>

#include "cgroup/tree.h"
#include "lib/idmap.h"

/*
 * API:
 *   A cg_kernel_map reads a BPF hash whose key is a cgroup id (__u64) and
 *   whose value is nvalues __u64 counters (nvalues <= CG_NVALUES); they
 *   land in own[0..nvalues) of the tree's nodes.
 *   cg_kernel_map_sync() reads the whole map (the previous read stays on
 *   failure) and gives each entry to its node; when ids are unknown to the
 *   tree it rescans (rate-limited by the tree), and ids still unknown after
 *   that belong to cgroups created and removed between two scans: their
 *   values go to the root's retired[] and their entries are deleted
 *   (orphaned_total counts them). force_rescan: rescan anyway. rescan is
 *   the caller's walk (it logs and counts its own failures): 0 or -errno.
 *   cg_kernel_map_take_final(), from the tree's removal callback: the
 *   node's last values into own[], and its entry deleted.
 *   0 or -errno; cg_kernel_map_free() accepts a zeroed struct.
 */
struct cg_kernel_map {
	int fd;
	size_t nvalues;
	uint64_t orphaned_total;
	uint64_t *entries; /* the last complete read: per entry, the id then nvalues values */
	size_t nentries;
};

typedef int (*cg_rescan_fn)(void *arg);

void cg_kernel_map_init(struct cg_kernel_map *m, int fd, size_t nvalues);
int cg_kernel_map_sync(struct cg_kernel_map *m, struct cg_tree *t, bool force_rescan,
		       cg_rescan_fn rescan, void *arg);
void cg_kernel_map_take_final(struct cg_kernel_map *m, struct cg_node *node);
void cg_kernel_map_free(struct cg_kernel_map *m);

/*
 * cg_hash_read_all() reads every entry of a BPF hash whose key (key_size
 * bytes) begins with a cgroup id into *out, a new array of *n records of
 * entry_size bytes each: the key at offset 0, the value at value_off. With
 * prune (the tree was walked since the caller's last read), entries of
 * cgroups t does not know are deleted from the map (their cgroup was
 * removed) and left out, after the walk through the map, since deleting the
 * key just read would restart it. 0 or -errno, *out untouched on failure.
 */
int cg_hash_read_all(int fd, size_t key_size, size_t value_off, size_t entry_size,
		     const struct cg_tree *t, bool prune, void **out, size_t *n);

/*
 * cg_hash_delete_ids() deletes every entry of such a hash whose cgroup id
 * is in ids (values non-NULL), in one walk through the map: the keys are
 * listed first and deleted after, for the reason above. 0 or -errno.
 */
int cg_hash_delete_ids(int fd, size_t key_size, const struct idmap *ids);

#endif
