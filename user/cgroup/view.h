/* cgroup/view.h — what every per-cgroup collector keeps: the tree of cgroups with their names, its
 * periodic rescan, a kernel map of per-cgroup counters, and the export caps (--cpu-max-series,
 * --cpu-max-depth, --cpu-include/--cpu-exclude) that give every per-cgroup family the same
 * cgroups. */
#ifndef HOSTMON_CGROUP_VIEW_H
#define HOSTMON_CGROUP_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cgroup/kernel_map.h"
#include "cgroup/names.h"
#include "cgroup/tree.h"
#include "core/loop.h"
#include "lib/namefilter.h"

/*
 * API:
 *   cg_view_init() scans the hierarchy at root, names its cgroups (docker
 *   and kubelet roots from s), arms the rescan every s->refresh_ms and
 *   reads the kernel map at map_fd (nvalues u64 per cgroup id; map_fd -1:
 *   none) into the nodes' own[]. collector names it in log lines.
 *   rescanned(arg), optional, runs after every successful walk (the CPU
 *   collector re-reads limits there). 0 or -errno with err set.
 *   cg_view_sync() brings the tree up to date with the kernel map (a
 *   rate-limited rescan when unknown ids appear, orphans folded; see
 *   cgroup/kernel_map.h) and computes the totals; 0 or -errno.
 *   cg_view_rescan(): one walk now (counted and logged on failure).
 *   cg_view_exported() gives the nodes to export, shallowest first (so the
 *   series cap keeps the summarising cgroups), those wanted (NULL: all)
 *   within the depth and path filters, at most max_series of them; the
 *   rest that pass are counted in *dropped. The array is the caller's to
 *   free; NULL on allocation failure. wanted gets arg.
 *   cg_view_on_removed() is the tree's removal callback the view installs:
 *   the kernel map's final values, then the caller's own removed callback.
 *   cg_view_forget_in() names another BPF hash whose keys begin with a
 *   cgroup id (key_size bytes in all; at most CG_VIEW_MAX_FORGET of them):
 *   after every walk, timer's or scrape's, the entries of the cgroups it
 *   found removed are deleted from it, so a removed cgroup leaves nothing
 *   in the kernel even when nobody scrapes. 0 or -E2BIG.
 *   cg_view_free() accepts a zeroed view.
 */
#define CG_VIEW_MAX_FORGET 2

struct cg_view_settings {
	uint64_t max_series, max_depth;
	const char *include, *exclude; /* POSIX extended regexes, or NULL */
	uint64_t refresh_ms;
	const char *docker_root, *kubelet_logs;
};

struct cg_view {
	const char *collector;
	struct cg_tree tree;
	struct cg_names names;
	struct cg_kernel_map map;
	struct name_filter paths;
	uint64_t max_series, max_depth;
	uint64_t scan_errors_total;
	struct loop *loop;
	struct loop_timer *refresh_timer;
	cg_removed_fn removed; /* the caller's, after the map's final values were taken */
	struct {
		int fd;
		size_t key_size;
	} forget[CG_VIEW_MAX_FORGET];
	size_t nforget;
	struct idmap removed_ids; /* removed since the last walk ended, for forget[] */
	void (*rescanned)(void *arg);
	void *arg;
};

int cg_view_init(struct cg_view *v, const char *collector, const char *root,
		 const struct cg_view_settings *s, int map_fd, size_t nvalues, struct loop *loop,
		 cg_removed_fn removed, void (*rescanned)(void *arg), void *arg, char *err,
		 size_t errlen);
int cg_view_sync(struct cg_view *v);
int cg_view_rescan(struct cg_view *v);
int cg_view_forget_in(struct cg_view *v, int fd, size_t key_size);
struct cg_node **cg_view_exported(struct cg_view *v,
				  bool (*wanted)(const struct cg_node *n, void *arg), void *arg,
				  size_t *n, size_t *dropped);
void cg_view_free(struct cg_view *v);

#endif
