/* cgroup/view.c — the tree, names, rescans, kernel map and export caps a per-cgroup collector
 * keeps. */
#include "cgroup/view.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"

static void on_removed(void *arg, struct cg_node *node)
{
	struct cg_view *v = arg;
	if (v->map.fd >= 0)
		cg_kernel_map_take_final(&v->map, node);
	/* out of memory: the entries stay until the collector's own prune after a walk */
	if (v->nforget)
		(void)idmap_put(&v->removed_ids, node->id, v);
	if (v->removed)
		v->removed(v->arg, node);
}

/* The walk's removed cgroups out of the other per-cgroup hashes. */
static void forget_removed(struct cg_view *v)
{
	if (!v->removed_ids.len)
		return;
	for (size_t i = 0; i < v->nforget; i++) {
		int rc =
			cg_hash_delete_ids(v->forget[i].fd, v->forget[i].key_size, &v->removed_ids);
		if (rc)
			log_warn("cannot delete removed cgroups' entries", "collector",
				 v->collector, "reason", strerror(-rc));
	}
	idmap_free(&v->removed_ids);
}

int cg_view_rescan(struct cg_view *v)
{
	int rc = cg_tree_walk(&v->tree);
	if (rc) {
		v->scan_errors_total++;
		log_warn("cgroup rescan failed", "collector", v->collector, "root",
			 v->tree.root_dir, "reason", strerror(-rc));
		return rc;
	}
	forget_removed(v);
	if (v->rescanned)
		v->rescanned(v->arg);
	return 0;
}

int cg_view_forget_in(struct cg_view *v, int fd, size_t key_size)
{
	if (v->nforget == CG_VIEW_MAX_FORGET)
		return -E2BIG;
	v->forget[v->nforget].fd = fd;
	v->forget[v->nforget++].key_size = key_size;
	return 0;
}

static int rescan_cb(void *arg)
{
	return cg_view_rescan(arg);
}

static int sync_map(struct cg_view *v, bool force_rescan)
{
	if (v->map.fd < 0)
		return force_rescan ? cg_view_rescan(v) : 0;
	return cg_kernel_map_sync(&v->map, &v->tree, force_rescan, rescan_cb, v);
}

int cg_view_sync(struct cg_view *v)
{
	int rc = sync_map(v, false);
	if (rc == 0)
		cg_tree_totals(&v->tree);
	return rc;
}

/* The periodic rescan also forgets removed cgroups and orphans when nobody scrapes. */
static void refresh_tick(struct loop *l, void *arg)
{
	(void)l;
	sync_map(arg, true);
}

int cg_view_init(struct cg_view *v, const char *collector, const char *root,
		 const struct cg_view_settings *s, int map_fd, size_t nvalues, struct loop *loop,
		 cg_removed_fn removed, void (*rescanned)(void *arg), void *arg, char *err,
		 size_t errlen)
{
	int rc;

	memset(v, 0, sizeof(*v));
	v->collector = collector;
	v->max_series = s->max_series;
	v->max_depth = s->max_depth;
	v->loop = loop;
	v->removed = removed;
	v->rescanned = rescanned;
	v->arg = arg;
	cg_kernel_map_init(&v->map, map_fd, nvalues);
	rc = name_filter_init(&v->paths, s->include, s->exclude);
	if (rc) {
		snprintf(err, errlen, "invalid --cpu-include or --cpu-exclude expression");
		return rc;
	}
	rc = cg_tree_init(&v->tree, root, on_removed, v);
	if (rc) {
		snprintf(err, errlen, "cannot scan cgroups under %s: %s", root, strerror(-rc));
		return rc;
	}
	rc = cg_names_init(&v->names, s->docker_root, s->kubelet_logs);
	if (rc) {
		snprintf(err, errlen, "out of memory");
		return rc;
	}
	cg_tree_set_names(&v->tree, &v->names);
	if (rescanned)
		rescanned(arg);
	v->refresh_timer = loop_timer_add(loop, s->refresh_ms, s->refresh_ms, refresh_tick, v);
	if (!v->refresh_timer) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

struct cg_node **cg_view_exported(struct cg_view *v,
				  bool (*wanted)(const struct cg_node *n, void *arg), void *arg,
				  size_t *n, size_t *dropped)
{
	size_t count = 0, out = 0;
	struct cg_node **order = cg_tree_breadth_first(&v->tree, &count);

	*dropped = 0;
	if (!order)
		return NULL;
	for (size_t i = 0; i < count; i++) {
		struct cg_node *node = order[i];
		if (wanted && !wanted(node, arg))
			continue;
		if (v->max_depth && node->depth > v->max_depth)
			continue;
		if (!name_filter_pass(&v->paths, node->path))
			continue;
		if (out >= v->max_series) {
			(*dropped)++;
			continue;
		}
		order[out++] = node;
	}
	*n = out;
	return order;
}

void cg_view_free(struct cg_view *v)
{
	if (v->loop)
		loop_timer_del(v->loop, v->refresh_timer);
	v->refresh_timer = NULL;
	cg_tree_free(&v->tree);
	cg_names_free(&v->names);
	cg_kernel_map_free(&v->map);
	idmap_free(&v->removed_ids);
	name_filter_free(&v->paths);
}
