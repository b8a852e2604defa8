/* test_tree.c — the cgroup tree on a directory tree made for the test: removed cgroups fold into
 * their parent, and one made again at the same path (a restarted container) takes its values back,
 * whether the removal and the new directory are seen in one walk or in two. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/tree.h"
#include "test.h"

static char root[256];

static void path_of(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", root, rel);
}

static struct cg_node *node_at(struct cg_tree *t, const char *rel)
{
	char p[512];
	struct stat st;
	path_of(p, sizeof(p), rel);
	if (stat(p, &st))
		return NULL;
	return cg_tree_find(t, st.st_ino);
}

static void mk(const char *rel)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	CHECK(mkdir(p, 0755) == 0, "mkdir %s", p);
}

static void rm(const char *rel)
{
	char p[512];
	path_of(p, sizeof(p), rel);
	CHECK(rmdir(p) == 0, "rmdir %s", p);
}

static uint64_t total(struct cg_tree *t, const char *rel)
{
	cg_tree_totals(t);
	struct cg_node *n = rel ? node_at(t, rel) : t->root;
	return n ? n->total[0] : UINT64_MAX;
}

int main(void)
{
	struct cg_tree t;

	snprintf(root, sizeof(root), "/tmp/hostmon-tree-%d", getpid());
	CHECK(mkdir(root, 0755) == 0, "mkdir root");
	mk("pod");
	mk("pod/ctr");
	mk("pod/gone");
	CHECK(cg_tree_init(&t, root, NULL, NULL) == 0, "init");
	node_at(&t, "pod/ctr")->own[0] = 5;
	node_at(&t, "pod/gone")->own[0] = 3;
	CHECK(total(&t, "pod") == 8, "the parent sums its children");

	/* removed, seen gone, then made again: the new one takes its 5 back from the parent */
	rm("pod/ctr");
	rm("pod/gone");
	CHECK(cg_tree_walk(&t) == 0, "walk");
	CHECK(total(&t, "pod") == 8, "a removed cgroup's values stay in the parent: %llu",
	      (unsigned long long)total(&t, "pod"));
	mk("pod/ctr");
	CHECK(cg_tree_walk(&t) == 0, "walk");
	CHECK(total(&t, "pod/ctr") == 5, "made again at the same path, it shows its values: %llu",
	      (unsigned long long)total(&t, "pod/ctr"));
	CHECK(total(&t, "pod") == 8, "and the parent counts them once: %llu",
	      (unsigned long long)total(&t, "pod"));

	/* removed and made again between two walks: same result */
	node_at(&t, "pod/ctr")->own[0] = 2; /* the new instance's own count */
	/* made while the old one exists, so neither can reuse its inode number */
	mk("pod/ctr.next");
	mk("pod/other");
	rm("pod/ctr");
	char from[512], to[512];
	path_of(from, sizeof(from), "pod/ctr.next");
	path_of(to, sizeof(to), "pod/ctr");
	CHECK(rename(from, to) == 0, "rename");
	CHECK(cg_tree_walk(&t) == 0, "walk");
	CHECK(total(&t, "pod/ctr") == 7, "both instances' values at the path: %llu",
	      (unsigned long long)total(&t, "pod/ctr"));
	CHECK(total(&t, "pod/other") == 0, "an unrelated new cgroup starts at 0: %llu",
	      (unsigned long long)total(&t, "pod/other"));
	CHECK(total(&t, "pod") == 10, "the parent: %llu", (unsigned long long)total(&t, "pod"));
	CHECK(total(&t, NULL) == 10, "the root: %llu", (unsigned long long)total(&t, NULL));

	cg_tree_free(&t);
	rm("pod/ctr");
	rm("pod/other");
	rm("pod");
	rmdir(root);
	return test_summary("unit/cgroup/test_tree");
}
