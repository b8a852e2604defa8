/* cgroup/tree.h — the tree of known cgroups: ids from a hierarchy walk, hierarchical totals,
 * removal folding. */
#ifndef HOSTMON_CGROUP_TREE_H
#define HOSTMON_CGROUP_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/cgroup.h"
#include "cgroup/names.h"
#include "lib/idmap.h"

/*
 * API:
 *   A cg_tree mirrors one cgroup hierarchy (its mount point is root_dir):
 *   one node per cgroup directory, keyed by the cgroup id (the directory's
 *   inode number, which is what BPF sees as the cgroup's kernfs id).
 *
 *   Each node carries CG_NVALUES counters: own[] (the latest kernel values
 *   for this cgroup alone, written by the caller), retired[] (what removed
 *   descendants had when they were removed), and total[] = own + retired +
 *   the children's totals, computed by cg_tree_totals(). Because a removed
 *   cgroup's total is folded into its parent, totals never go down.
 *
 *   cg_tree_walk() rescans the hierarchy: new directories become nodes,
 *   and nodes whose directory is gone are removed deepest first; for each
 *   the removed callback runs first (to read the final kernel values into
 *   own[] and drop the kernel's entry), then its own + retired move into its
 *   parent's retired. 0 or -errno (the tree stays consistent on error).
 *   A cgroup made again at the path of one removed (a container its
 *   runtime restarted: same path, new id) takes over what the removed one
 *   had from the parent's retired[], so its series never goes down; the
 *   last CG_GONE_MAX removed cgroups are remembered for that.
 *
 *   Names: every node has its systemd unit from its path; with
 *   cg_tree_set_names() its container, pod and namespace names come from
 *   that cache, looked up again after each walk (so they follow renames).
 *   A node's name strings are "" when unknown, never NULL.
 */

#define CG_NVALUES 4

struct cg_node {
	uint64_t id;
	char *path; /* relative to the hierarchy root; the root is "/" */
	unsigned depth;
	struct cg_node *parent;
	struct cg_node *children;
	struct cg_node *next_sibling;
	uint64_t own[CG_NVALUES];
	uint64_t retired[CG_NVALUES];
	uint64_t total[CG_NVALUES];
	uint64_t seen_generation;
	char container_id[CGROUP_CONTAINER_ID_MAX];
	char pod_uid[CGROUP_POD_UID_MAX];
	char *unit, *container, *pod, *namespace; /* owned by the node */
	void *user; /* owned by the tree's user; freed through the removal callback */
};

typedef void (*cg_removed_fn)(void *arg, struct cg_node *node);

#define CG_GONE_MAX 1024

/* A removed cgroup whose values a cgroup made again at its path takes over. */
struct cg_gone {
	uint64_t parent_id;
	char *path; /* NULL: a free slot */
	uint64_t v[CG_NVALUES];
};

struct cg_tree {
	char root_dir[CGROUP_PATH_MAX];
	struct cg_node *root;
	struct idmap by_id;
	size_t count;
	uint64_t generation;
	cg_removed_fn removed;
	void *removed_arg;
	uint64_t unknown_rescan_ms;	  /* when an unknown id last caused a walk */
	struct cg_names *names;		  /* not owned; NULL: no container/pod names */
	struct cg_gone gone[CG_GONE_MAX]; /* the last removed cgroups, a ring */
	size_t gone_next;
};

int cg_tree_init(struct cg_tree *t, const char *root_dir, cg_removed_fn removed, void *arg);
int cg_tree_walk(struct cg_tree *t);
void cg_tree_totals(struct cg_tree *t);
/* Names every node from names (kept by the caller, outliving the tree) now and after each walk. */
void cg_tree_set_names(struct cg_tree *t, struct cg_names *names);
struct cg_node *cg_tree_find(const struct cg_tree *t, uint64_t id);
/*
 * Whether an id the tree does not know may cause a walk now: at most once a
 * second, so a stream of ids of cgroups already removed (or never visible)
 * cannot turn every scrape into a hierarchy walk. A true answer counts as
 * the walk having happened.
 */
bool cg_tree_unknown_rescan_due(struct cg_tree *t);
void cg_tree_free(struct cg_tree *t); /* calls the removal callback for no node */
/* Every node, shallowest first (the root, then depth 1, ...); the array is the caller's to free.
 * NULL on allocation failure. */
struct cg_node **cg_tree_breadth_first(const struct cg_tree *t, size_t *n);

#endif
