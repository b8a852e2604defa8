/* test_limits.c — cpu.max parsing; limits and throttled time read from a fake cgroup2 tree
 * and a fake cgroup v1 cpu hierarchy built under /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/tree.h"
#include "cgroup_cpu/limits.h"
#include "test.h"

static void test_parse_max(void)
{
	double cores;
	int rc;

	cores = -1;
	rc = cpu_limits_parse_max("max 100000", &cores);
	CHECK(rc == -ENOENT, "\"max 100000\": rc %d", rc);
	rc = cpu_limits_parse_max("max 100000\n", &cores);
	CHECK(rc == -ENOENT, "\"max 100000\\n\": rc %d", rc);

	cores = -1;
	rc = cpu_limits_parse_max("50000 100000\n", &cores);
	CHECK(rc == 0 && cores == 0.5, "\"50000 100000\\n\": rc %d cores %g", rc, cores);
	cores = -1;
	rc = cpu_limits_parse_max("50000 100000", &cores);
	CHECK(rc == 0 && cores == 0.5, "\"50000 100000\": rc %d cores %g", rc, cores);
	cores = -1;
	rc = cpu_limits_parse_max("150000 100000", &cores);
	CHECK(rc == 0 && cores == 1.5, "\"150000 100000\": rc %d cores %g", rc, cores);
	cores = -1;
	rc = cpu_limits_parse_max("20000 100000\n", &cores);
	CHECK(rc == 0 && fabs(cores - 0.2) < 1e-12, "\"20000 100000\": rc %d cores %g", rc, cores);
	cores = -1;
	rc = cpu_limits_parse_max("400000 100000\n", &cores);
	CHECK(rc == 0 && cores == 4.0, "\"400000 100000\": rc %d cores %g", rc, cores);

	static const char *const invalid[] = {
		"0 100000",		       /* a zero quota is not a limit the kernel accepts */
		"-1 100000",		       /* v1's "none", not a cpu.max value */
		"abc",			       /* not a number */
		"",			       /* empty file */
		"\n",			       /* just a newline */
		"50000",		       /* no period */
		"50000\n",		       /* no period */
		"50000 0",		       /* zero period */
		"50000 -100000",	       /* negative period */
		"50000 100000 7",	       /* trailing field */
		"50000 abc",		       /* period not a number */
		"50000,100000",		       /* wrong separator */
		"99999999999999999999 100000", /* quota overflows 64 bits */
		"50000 99999999999999999999",  /* period overflows 64 bits */
	};
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		cores = -1;
		rc = cpu_limits_parse_max(invalid[i], &cores);
		CHECK(rc == -EINVAL, "\"%s\": rc %d (cores %g), want -EINVAL", invalid[i], rc,
		      cores);
	}
}

/* ---- a fake hierarchy under /tmp ---- */

static char base[64]; /* /tmp/hostmon-test-cpu-limits-XXXXXX */

static void put(const char *rel, const char *text)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	FILE *f = fopen(path, "w");
	CHECK(f != NULL, "fopen %s: %s", path, strerror(errno));
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	CHECK(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
}

static void rm(const char *rel)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", base, rel);
	CHECK(unlink(path) == 0, "unlink %s: %s", path, strerror(errno));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static struct cg_node *node_at(struct cg_tree *t, const char *rel_in_v2)
{
	char path[PATH_MAX];
	struct stat st;
	snprintf(path, sizeof(path), "%s/v2%s", base, rel_in_v2);
	if (stat(path, &st) < 0)
		return NULL;
	return cg_tree_find(t, st.st_ino);
}

static const struct cpu_limit *limit_at(struct cg_tree *t, const char *rel_in_v2)
{
	struct cg_node *n = node_at(t, rel_in_v2);
	return n ? n->user : NULL;
}

static int removed_calls;

/* what cgroup_cpu.c's removal callback does with the limit */
static void on_removed(void *arg, struct cg_node *n)
{
	(void)arg;
	removed_calls++;
	cpu_limits_free(n->user);
	n->user = NULL;
}

static void check_throttled(const struct cpu_limit *l, const char *what, uint64_t want)
{
	uint64_t ns = 12345;
	int rc = l ? cpu_limits_read_throttled(l, &ns) : -999;
	CHECK(rc == 0 && ns == want, "%s: rc %d throttled %llu ns, want %llu", what, rc,
	      (unsigned long long)ns, (unsigned long long)want);
}

static void check_stat_path(const struct cpu_limit *l, const char *what, const char *rel)
{
	char want[PATH_MAX];
	snprintf(want, sizeof(want), "%s/%s", base, rel);
	CHECK(l && l->stat_path && strcmp(l->stat_path, want) == 0, "%s: stat_path [%s] want [%s]",
	      what, l && l->stat_path ? l->stat_path : "(null)", want);
}

static void test_fake_hierarchy(void)
{
	char v2[PATH_MAX], v1[PATH_MAX];
	struct cg_tree t;

	strcpy(base, "/tmp/hostmon-test-cpu-limits-XXXXXX");
	if (!mkdtemp(base)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return;
	}
	snprintf(v2, sizeof(v2), "%s/v2", base);
	snprintf(v1, sizeof(v1), "%s/v1", base);

	/*
	 * cgroup2 side (cpu.max where the cpu controller would be enabled):
	 *   /        no cpu.max (like a real cgroup2 root)
	 *   /a       cpu.max 50000 100000 -> 0.5, cpu.stat throttled_usec 1234
	 *   /a/b     cpu.max "max 100000" -> no limit
	 *   /a/b/c   cpu.max 150000 100000 -> 1.5 (a limited cgroup below an unlimited one)
	 *   /v       no cpu.max: falls back to v1 /v (quota 20000 / period 100000 -> 0.2)
	 *   /v/w     no cpu.max: v1 /v/w has quota -1 -> none
	 *   /n       no cpu.max, no v1 directory -> none
	 *   /g       cpu.max garbage -> none
	 * v1 cpu hierarchy: / (quota -1), /v, /v/w, and /a (a quota that cgroup2's cpu.max hides)
	 */
	mk("v2");
	mk("v2/a");
	mk("v2/a/b");
	mk("v2/a/b/c");
	mk("v2/v");
	mk("v2/v/w");
	mk("v2/n");
	mk("v2/g");
	put("v2/cpu.stat", "usage_usec 100\nuser_usec 50\nsystem_usec 50\n");
	put("v2/a/cpu.max", "50000 100000\n");
	put("v2/a/cpu.stat", "usage_usec 9999\nuser_usec 9000\nsystem_usec 999\n"
			     "nr_periods 40\nnr_throttled 7\nthrottled_usec 1234\n"
			     "nr_bursts 0\nburst_usec 0\n");
	put("v2/a/b/cpu.max", "max 100000\n");
	put("v2/a/b/cpu.stat", "usage_usec 1\nnr_throttled 0\nthrottled_usec 0\n");
	put("v2/a/b/c/cpu.max", "150000 100000\n");
	put("v2/a/b/c/cpu.stat", "usage_usec 1\nnr_periods 3\nnr_throttled 1\n"
				 "throttled_usec 18446744073709\n");
	put("v2/g/cpu.max", "banana\n");

	mk("v1");
	mk("v1/v");
	mk("v1/v/w");
	mk("v1/a");
	put("v1/cpu.cfs_quota_us", "-1\n");
	put("v1/cpu.cfs_period_us", "100000\n");
	put("v1/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
	put("v1/v/cpu.cfs_quota_us", "20000\n");
	put("v1/v/cpu.cfs_period_us", "100000\n");
	put("v1/v/cpu.stat", "nr_periods 55\nnr_throttled 54\nthrottled_time 987654321\n"
			     "nr_bursts 0\nburst_time 0\n");
	put("v1/v/w/cpu.cfs_quota_us", "-1\n");
	put("v1/v/w/cpu.cfs_period_us", "100000\n");
	put("v1/v/w/cpu.stat", "nr_periods 0\nnr_throttled 0\nthrottled_time 0\n");
	put("v1/a/cpu.cfs_quota_us", "10000\n");
	put("v1/a/cpu.cfs_period_us", "100000\n");
	put("v1/a/cpu.stat", "nr_periods 1\nnr_throttled 1\nthrottled_time 5\n");

	/* cg_tree_init works on a plain directory tree: ids are inode numbers, readdir's d_ino */
	int rc = cg_tree_init(&t, v2, on_removed, NULL);
	CHECK(rc == 0, "cg_tree_init(%s): %d (%s)", v2, rc, strerror(-rc));
	if (rc) {
		cg_tree_free(&t);
		goto out;
	}
	CHECK(t.count == 8, "nodes %zu, want 8", t.count);
	static const char *const paths[] = { "/a", "/a/b", "/a/b/c", "/v", "/v/w", "/n", "/g" };
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct cg_node *n = node_at(&t, paths[i]);
		CHECK(n && strcmp(n->path, paths[i]) == 0, "node for %s by inode: %s", paths[i],
		      n ? n->path : "(none)");
	}
	CHECK(t.root && strcmp(t.root->path, "/") == 0, "root path");
	{
		struct cg_node *c = node_at(&t, "/a/b/c");
		CHECK(c && c->depth == 3, "depth of /a/b/c: %u", c ? c->depth : 0);
	}

	/* before any refresh no node has a limit */
	CHECK(limit_at(&t, "/a") == NULL, "no limit before the first refresh");

	cpu_limits_refresh(&t, v1);

	/* cgroup2 form */
	const struct cpu_limit *l = limit_at(&t, "/a");
	CHECK(l && l->cores == 0.5, "/a limit %g, want 0.5", l ? l->cores : -1);
	CHECK(l && l->ns_per_unit == 1000 && l->stat_key && !strcmp(l->stat_key, "throttled_usec"),
	      "/a reads throttled_usec in us");
	check_stat_path(l, "/a", "v2/a/cpu.stat");
	check_throttled(l, "/a throttled_usec 1234", 1234000ull);

	CHECK(limit_at(&t, "/a/b") == NULL, "/a/b: cpu.max \"max\" is no limit");
	l = limit_at(&t, "/a/b/c");
	CHECK(l && l->cores == 1.5, "/a/b/c limit %g, want 1.5", l ? l->cores : -1);
	check_throttled(l, "/a/b/c large throttled_usec", 18446744073709ull * 1000ull);

	/* v1 form, at the same relative path in the v1 cpu hierarchy */
	l = limit_at(&t, "/v");
	CHECK(l && fabs(l->cores - 0.2) < 1e-12, "/v limit from v1 %g, want 0.2",
	      l ? l->cores : -1);
	CHECK(l && l->ns_per_unit == 1 && l->stat_key && !strcmp(l->stat_key, "throttled_time"),
	      "/v reads throttled_time in ns");
	check_stat_path(l, "/v", "v1/v/cpu.stat");
	check_throttled(l, "/v throttled_time", 987654321ull);

	CHECK(limit_at(&t, "/v/w") == NULL, "/v/w: v1 quota -1 is no limit");
	CHECK(limit_at(&t, "/n") == NULL, "/n: neither cpu.max nor a v1 directory");
	CHECK(limit_at(&t, "/g") == NULL, "/g: unparsable cpu.max is no limit");
	CHECK(t.root->user == NULL, "root: no limit (no cpu.max, v1 root quota -1)");

	/* the cgroup's cpu.stat is read at each call, not cached */
	put("v2/a/cpu.stat", "usage_usec 1\nnr_throttled 9\nthrottled_usec 5000\n");
	check_throttled(limit_at(&t, "/a"), "/a throttled after an update", 5000000ull);
	put("v1/v/cpu.stat", "nr_periods 1\nnr_throttled 1\nthrottled_time 2000000000\n");
	check_throttled(limit_at(&t, "/v"), "/v throttled after an update", 2000000000ull);

	/* a missing key, a missing file and a bad number are errors, not zeros */
	put("v2/a/cpu.stat", "usage_usec 1\nnr_throttled 9\n");
	{
		uint64_t ns = 77;
		rc = cpu_limits_read_throttled(limit_at(&t, "/a"), &ns);
		CHECK(rc == -ENOENT && ns == 77, "no throttled_usec line: rc %d", rc);
	}
	put("v2/a/cpu.stat", "nr_throttled 9\nthrottled_usec x\n");
	{
		uint64_t ns = 77;
		rc = cpu_limits_read_throttled(limit_at(&t, "/a"), &ns);
		CHECK(rc == -EINVAL && ns == 77, "non-numeric throttled_usec: rc %d", rc);
	}
	rm("v2/a/cpu.stat");
	{
		uint64_t ns = 77;
		rc = cpu_limits_read_throttled(limit_at(&t, "/a"), &ns);
		CHECK(rc == -ENOENT && ns == 77, "cpu.stat gone: rc %d", rc);
	}
	put("v2/a/cpu.stat", "throttled_usec 3\n"); /* the key on the first line */
	check_throttled(limit_at(&t, "/a"), "/a key on the first line", 3000ull);

	/* a refresh follows changed limits: a new value, a limit removed, a limit added */
	put("v2/a/cpu.max", "max 100000\n");
	put("v1/v/cpu.cfs_quota_us", "40000\n");
	put("v1/v/w/cpu.cfs_quota_us", "5000\n");
	put("v1/v/w/cpu.cfs_period_us", "10000\n");
	put("v2/g/cpu.max", "250000 100000\n");
	cpu_limits_refresh(&t, v1);
	CHECK(limit_at(&t, "/a") == NULL, "/a limit removed when cpu.max becomes max");
	l = limit_at(&t, "/v");
	CHECK(l && fabs(l->cores - 0.4) < 1e-12, "/v limit updated to %g, want 0.4",
	      l ? l->cores : -1);
	check_stat_path(l, "/v", "v1/v/cpu.stat");
	l = limit_at(&t, "/v/w");
	CHECK(l && l->cores == 0.5, "/v/w limit added: %g, want 0.5", l ? l->cores : -1);
	check_stat_path(l, "/v/w", "v1/v/w/cpu.stat");
	check_throttled(l, "/v/w throttled_time 0", 0);
	l = limit_at(&t, "/g");
	CHECK(l && l->cores == 2.5, "/g limit added: %g, want 2.5", l ? l->cores : -1);
	CHECK(l && l->ns_per_unit == 1000, "/g reads cgroup2 units");

	/* without a v1 directory (NULL or "") the fallback is off */
	cpu_limits_refresh(&t, "");
	CHECK(limit_at(&t, "/v") == NULL, "/v: no v1 fallback with v1_cpu_dir \"\"");
	CHECK(limit_at(&t, "/a/b/c") != NULL,
	      "/a/b/c keeps its cgroup2 limit with v1_cpu_dir \"\"");
	cpu_limits_refresh(&t, NULL);
	CHECK(limit_at(&t, "/v/w") == NULL, "/v/w: no v1 fallback with v1_cpu_dir NULL");
	cpu_limits_refresh(&t, v1);
	CHECK(limit_at(&t, "/v") != NULL, "/v limit back with the v1 dir");

	/* a removed cgroup's limit is freed through the removal callback */
	rm("v2/a/b/c/cpu.max");
	rm("v2/a/b/c/cpu.stat");
	{
		char p[PATH_MAX];
		snprintf(p, sizeof(p), "%s/v2/a/b/c", base);
		CHECK(rmdir(p) == 0, "rmdir %s: %s", p, strerror(errno));
	}
	removed_calls = 0;
	rc = cg_tree_walk(&t);
	CHECK(rc == 0, "cg_tree_walk after rmdir: %d", rc);
	CHECK(removed_calls == 1, "removal callback ran %d times, want 1", removed_calls);
	CHECK(t.count == 7, "nodes %zu after removal, want 7", t.count);
	cpu_limits_refresh(&t, v1);
	CHECK(limit_at(&t, "/v") != NULL, "/v still limited after another cgroup went");

	cpu_limits_free_tree(&t);
	CHECK(limit_at(&t, "/v") == NULL, "cpu_limits_free_tree clears node->user");
	cg_tree_free(&t);

out:
	CHECK(nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS) == 0, "remove %s: %s", base,
	      strerror(errno));
	CHECK(access(base, F_OK) != 0, "%s is gone", base);
}

int main(void)
{
	test_parse_max();
	test_fake_hierarchy();
	return test_summary("cgroup_cpu/test_limits");
}
