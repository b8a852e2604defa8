/* cgroup_cpu/limits.c — CPU limits (quota/period) and throttled time read from a cgroup's own
 * files. */
#include "cgroup_cpu/limits.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileutil.h"

static int parse_i64(const char *s, char **end, long long *out)
{
	errno = 0;
	long long v = strtoll(s, end, 10);
	if (errno || *end == s)
		return -EINVAL;
	*out = v;
	return 0;
}

int cpu_limits_parse_max(const char *text, double *cores)
{
	char *end;
	long long quota, period;

	if (strncmp(text, "max", 3) == 0)
		return -ENOENT;
	if (parse_i64(text, &end, &quota) || *end != ' ' || parse_i64(end + 1, &end, &period) ||
	    (*end != '\n' && *end != '\0') || quota <= 0 || period <= 0)
		return -EINVAL;
	*cores = (double)quota / (double)period;
	return 0;
}

/* v1: cfs_quota_us of -1 means no limit. */
static int read_v1_limit(const char *dir, double *cores)
{
	char path[PATH_MAX + 32], text[64];
	char *end;
	long long quota, period;

	snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
	if (file_read_text(path, text, sizeof(text)) || parse_i64(text, &end, &quota))
		return -ENOENT;
	if (quota <= 0)
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
	if (file_read_text(path, text, sizeof(text)) || parse_i64(text, &end, &period) ||
	    period <= 0)
		return -EINVAL;
	*cores = (double)quota / (double)period;
	return 0;
}

static void refresh_node(struct cg_tree *t, const char *v1_cpu_dir, struct cg_node *n)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], text[64];
	double cores = 0;
	const char *stat_key = NULL;
	uint64_t unit = 0;

	snprintf(dir, sizeof(dir), "%s%s", t->root_dir, strcmp(n->path, "/") ? n->path : "");
	snprintf(path, sizeof(path), "%s/cpu.max", dir);
	if (file_read_text(path, text, sizeof(text)) == 0) {
		if (cpu_limits_parse_max(text, &cores) == 0) {
			stat_key = "throttled_usec";
			unit = 1000;
		}
	} else if (v1_cpu_dir && *v1_cpu_dir) {
		snprintf(dir, sizeof(dir), "%s%s", v1_cpu_dir, strcmp(n->path, "/") ? n->path : "");
		if (read_v1_limit(dir, &cores) == 0) {
			stat_key = "throttled_time";
			unit = 1;
		}
	}

	struct cpu_limit *l = n->user;
	if (!stat_key) {
		cpu_limits_free(l);
		n->user = NULL;
		return;
	}
	if (!l) {
		l = calloc(1, sizeof(*l));
		if (!l)
			return;
		n->user = l;
	}
	snprintf(path, sizeof(path), "%s/cpu.stat", dir);
	if (!l->stat_path || strcmp(l->stat_path, path) != 0) {
		char *p = strdup(path);
		if (!p)
			return;
		free(l->stat_path);
		l->stat_path = p;
	}
	l->cores = cores;
	l->stat_key = stat_key;
	l->ns_per_unit = unit;
}

static void refresh_subtree(struct cg_tree *t, const char *v1_cpu_dir, struct cg_node *n)
{
	refresh_node(t, v1_cpu_dir, n);
	for (struct cg_node *c = n->children; c; c = c->next_sibling)
		refresh_subtree(t, v1_cpu_dir, c);
}

void cpu_limits_refresh(struct cg_tree *t, const char *v1_cpu_dir)
{
	if (t->root)
		refresh_subtree(t, v1_cpu_dir, t->root);
}

int cpu_limits_read_throttled(const struct cpu_limit *l, uint64_t *ns)
{
	char text[1024];
	int rc = file_read_text(l->stat_path, text, sizeof(text));
	if (rc)
		return rc;
	size_t klen = strlen(l->stat_key);
	for (char *line = text; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, l->stat_key, klen) == 0 && line[klen] == ' ') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(line + klen + 1, &end, 10);
			if (errno || end == line + klen + 1)
				return -EINVAL;
			*ns = v * l->ns_per_unit;
			return 0;
		}
	}
	return -ENOENT;
}

void cpu_limits_free(struct cpu_limit *l)
{
	if (!l)
		return;
	free(l->stat_path);
	free(l);
}

static void free_subtree(struct cg_node *n)
{
	cpu_limits_free(n->user);
	n->user = NULL;
	for (struct cg_node *c = n->children; c; c = c->next_sibling)
		free_subtree(c);
}

void cpu_limits_free_tree(struct cg_tree *t)
{
	if (t->root)
		free_subtree(t->root);
}
