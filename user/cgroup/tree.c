/* cgroup/tree.c — the tree of known cgroups: ids from a hierarchy walk, hierarchical totals,
 * removal folding. */
#include "cgroup/tree.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/clock.h"

/* cgroup trees are shallow; a bound keeps a hostile or looping tree from exhausting the stack */
#define CG_MAX_WALK_DEPTH 64

static const char empty[] = "";

/* Sets *dst to a copy of v ("" shared, not allocated); keeps the old value if memory is short. */
static void name_set(char **dst, const char *v)
{
	if (*dst && strcmp(*dst, v) == 0)
		return;
	char *copy = v[0] ? strdup(v) : (char *)empty;
	if (!copy) {
		if (!*dst)
			*dst = (char *)empty;
		return;
	}
	if (*dst != empty)
		free(*dst);
	*dst = copy;
}

static void node_free(struct cg_node *n)
{
	char **names[] = { &n->unit, &n->container, &n->pod, &n->namespace };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (*names[i] != empty)
			free(*names[i]);
	free(n->path);
	free(n);
}

static void node_name(struct cg_tree *t, struct cg_node *n)
{
	struct cg_name_result r = { "", "", "" };
	if (t->names)
		cg_names_lookup(t->names, n->container_id, n->pod_uid, &r);
	name_set(&n->container, r.container);
	name_set(&n->pod, r.pod);
	name_set(&n->namespace, r.namespace);
}

/*
 * A cgroup removed and made again at the same path (a container restarted by its runtime) keeps
 * its series going: what the removed one had moves from the parent's retired[] to the new node.
 * The removed are remembered by parent id and path, the oldest forgotten first.
 */
static void gone_remember(struct cg_tree *t, const struct cg_node *n)
{
	struct cg_gone *g = &t->gone[t->gone_next];
	char *path = strdup(n->path);

	if (!path)
		return; /* the values stay in the parent, as before there was this memory */
	free(g->path);
	g->path = path;
	g->parent_id = n->parent->id;
	for (int i = 0; i < CG_NVALUES; i++)
		g->v[i] = n->own[i] + n->retired[i];
	t->gone_next = (t->gone_next + 1) % CG_GONE_MAX;
}

static void carry(struct cg_node *from_parent, struct cg_node *to, const uint64_t *v)
{
	for (int i = 0; i < CG_NVALUES; i++) {
		uint64_t moved = v[i] < from_parent->retired[i] ? v[i] : from_parent->retired[i];
		from_parent->retired[i] -= moved;
		to->retired[i] += moved;
	}
}

static void gone_take(struct cg_tree *t, struct cg_node *n)
{
	for (size_t i = 0; i < CG_GONE_MAX; i++) {
		struct cg_gone *g = &t->gone[i];
		if (g->path && g->parent_id == n->parent->id && strcmp(g->path, n->path) == 0) {
			carry(n->parent, n, g->v);
			free(g->path);
			g->path = NULL;
			return;
		}
	}
}

static struct cg_node *node_new(struct cg_tree *t, uint64_t id, const char *path,
				struct cg_node *parent)
{
	struct cg_node *n = calloc(1, sizeof(*n));
	if (!n)
		return NULL;
	n->path = strdup(path);
	if (!n->path || idmap_put(&t->by_id, id, n)) {
		free(n->path);
		free(n);
		return NULL;
	}
	n->id = id;
	n->parent = parent;
	n->depth = parent ? parent->depth + 1 : 0;
	cgroup_labels_from_path(path, n->container_id, n->pod_uid);
	/* a container's own sub-cgroups keep its labels even where the path alone would not */
	if (parent && !n->container_id[0])
		memcpy(n->container_id, parent->container_id, sizeof(n->container_id));
	if (parent && !n->pod_uid[0])
		memcpy(n->pod_uid, parent->pod_uid, sizeof(n->pod_uid));
	char unit[256];
	cgroup_unit_from_path(path, unit, sizeof(unit));
	name_set(&n->unit, unit);
	node_name(t, n);
	if (parent) {
		n->next_sibling = parent->children;
		parent->children = n;
		gone_take(t, n);
	}
	t->count++;
	return n;
}

static void node_unlink(struct cg_node *n)
{
	if (!n->parent)
		return;
	struct cg_node **pp = &n->parent->children;
	while (*pp && *pp != n)
		pp = &(*pp)->next_sibling;
	if (*pp)
		*pp = n->next_sibling;
}

int cg_tree_init(struct cg_tree *t, const char *root_dir, cg_removed_fn removed, void *arg)
{
	struct stat st;

	memset(t, 0, sizeof(*t));
	if (strlen(root_dir) >= sizeof(t->root_dir))
		return -ENAMETOOLONG;
	strcpy(t->root_dir, root_dir);
	t->removed = removed;
	t->removed_arg = arg;
	if (stat(root_dir, &st) < 0)
		return -errno;
	t->root = node_new(t, st.st_ino, "/", NULL);
	if (!t->root)
		return -ENOMEM;
	return cg_tree_walk(t);
}

struct cg_node *cg_tree_find(const struct cg_tree *t, uint64_t id)
{
	return idmap_get(&t->by_id, id);
}

static struct cg_node *find_child(struct cg_node *parent, uint64_t id)
{
	for (struct cg_node *c = parent->children; c; c = c->next_sibling)
		if (c->id == id)
			return c;
	return NULL;
}

/* Scans the directory open at fd_dir (node n's) and recurses into every subdirectory. */
static int walk_dir(struct cg_tree *t, struct cg_node *n, int fd_dir, char *path, size_t pathlen)
{
	DIR *d = fdopendir(fd_dir);
	struct dirent *de;
	int rc = 0;

	if (!d) {
		close(fd_dir);
		return -errno;
	}
	n->seen_generation = t->generation;
	while ((de = readdir(d))) {
		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		size_t nlen = strlen(de->d_name);
		size_t sep = pathlen > 1 ? 1 : 0; /* the root's path is "/" */
		if (pathlen + sep + nlen + 1 > CGROUP_PATH_MAX || n->depth + 1 > CG_MAX_WALK_DEPTH)
			continue;
		/* kernfs reports the node id as the inode number in readdir: no stat needed */
		uint64_t id = de->d_ino;
		struct cg_node *child = find_child(n, id);
		if (sep)
			path[pathlen] = '/';
		memcpy(path + pathlen + sep, de->d_name, nlen + 1);
		if (!child) {
			/* an id seen under another parent belongs to a renamed/moved cgroup: start
			 * over */
			struct cg_node *elsewhere = cg_tree_find(t, id);
			if (elsewhere)
				continue; /* folded when its old place is found gone, then re-added
					   */
			child = node_new(t, id, path, n);
			if (!child) {
				rc = -ENOMEM;
				break;
			}
		} else if (strcmp(child->path, path) != 0) {
			char *p = strdup(path);
			if (p) {
				free(child->path);
				child->path = p;
			}
		}
		int fd = openat(dirfd(d), de->d_name,
				O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			/* removed while we walked: it is picked up as gone on this or the next walk
			 */
			continue;
		}
		rc = walk_dir(t, child, fd, path, pathlen + sep + nlen);
		path[pathlen] = '\0';
		if (rc == -ENOMEM)
			break;
		rc = 0;
	}
	closedir(d);
	return rc;
}

static void collect_gone(struct cg_node *n, uint64_t generation, struct cg_node ***list,
			 size_t *len, size_t *cap)
{
	for (struct cg_node *c = n->children; c; c = c->next_sibling) {
		collect_gone(c, generation, list, len, cap);
		if (c->seen_generation == generation)
			continue;
		if (*len == *cap) {
			size_t ncap = *cap ? *cap * 2 : 64;
			struct cg_node **nl = realloc(*list, ncap * sizeof(**list));
			if (!nl)
				return; /* retried on the next walk */
			*list = nl;
			*cap = ncap;
		}
		(*list)[(*len)++] = c; /* post-order: descendants come before their ancestors */
	}
}

static void remove_node(struct cg_tree *t, struct cg_node *n)
{
	if (t->removed)
		t->removed(t->removed_arg, n);
	for (int i = 0; i < CG_NVALUES; i++)
		n->parent->retired[i] += n->own[i] + n->retired[i];
	/* made again at the same path in this very walk: the new node takes it now, else later */
	struct cg_node *again = n->parent->children;
	while (again && (again == n || strcmp(again->path, n->path) != 0))
		again = again->next_sibling;
	if (again) {
		uint64_t v[CG_NVALUES];
		for (int i = 0; i < CG_NVALUES; i++)
			v[i] = n->own[i] + n->retired[i];
		carry(n->parent, again, v);
	} else {
		gone_remember(t, n);
	}
	node_unlink(n);
	idmap_del(&t->by_id, n->id);
	t->count--;
	node_free(n);
}

static void name_subtree(struct cg_tree *t, struct cg_node *n)
{
	node_name(t, n);
	for (struct cg_node *c = n->children; c; c = c->next_sibling)
		name_subtree(t, c);
}

static void name_all(struct cg_tree *t)
{
	if (!t->names || !t->root)
		return;
	cg_names_round(t->names);
	name_subtree(t, t->root);
}

void cg_tree_set_names(struct cg_tree *t, struct cg_names *names)
{
	t->names = names;
	name_all(t);
}

int cg_tree_walk(struct cg_tree *t)
{
	char path[CGROUP_PATH_MAX] = "/";
	struct cg_node **gone = NULL;
	size_t ngone = 0, cap = 0;

	int fd = open(t->root_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	t->generation++;
	int rc = walk_dir(t, t->root, fd, path, 1);
	if (rc)
		return rc; /* a partial walk must not be read as "everything else is gone" */

	collect_gone(t->root, t->generation, &gone, &ngone, &cap);
	for (size_t i = 0; i < ngone; i++)
		remove_node(t, gone[i]);
	free(gone);
	name_all(t);
	return 0;
}

static void totals(struct cg_node *n)
{
	for (int i = 0; i < CG_NVALUES; i++)
		n->total[i] = n->own[i] + n->retired[i];
	for (struct cg_node *c = n->children; c; c = c->next_sibling) {
		totals(c);
		for (int i = 0; i < CG_NVALUES; i++)
			n->total[i] += c->total[i];
	}
}

void cg_tree_totals(struct cg_tree *t)
{
	if (t->root)
		totals(t->root);
}

static void free_subtree(struct cg_node *n)
{
	struct cg_node *c = n->children;
	while (c) {
		struct cg_node *next = c->next_sibling;
		free_subtree(c);
		c = next;
	}
	node_free(n);
}

void cg_tree_free(struct cg_tree *t)
{
	if (t->root)
		free_subtree(t->root);
	idmap_free(&t->by_id);
	for (size_t i = 0; i < CG_GONE_MAX; i++) {
		free(t->gone[i].path);
		t->gone[i].path = NULL;
	}
	t->root = NULL;
	t->count = 0;
}

struct cg_node **cg_tree_breadth_first(const struct cg_tree *t, size_t *n)
{
	size_t cap = t->count ? t->count : 1, head = 0, tail = 0;
	struct cg_node **order = malloc(cap * sizeof(*order));

	if (!order)
		return NULL;
	if (t->root)
		order[tail++] = t->root;
	while (head < tail) {
		const struct cg_node *node = order[head++];
		for (struct cg_node *c = node->children; c && tail < cap; c = c->next_sibling)
			order[tail++] = c;
	}
	*n = tail;
	return order;
}

#define UNKNOWN_RESCAN_MIN_MS 1000

bool cg_tree_unknown_rescan_due(struct cg_tree *t)
{
	uint64_t now = clock_monotonic_ms();

	if (t->unknown_rescan_ms && now - t->unknown_rescan_ms < UNKNOWN_RESCAN_MIN_MS)
		return false;
	t->unknown_rescan_ms = now;
	return true;
}
