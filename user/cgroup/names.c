/* cgroup/names.c — names people recognise for a cgroup: its container's (docker's per-container
 * config, the kubelet's log layout), its pod's and namespace's (the kubelet's log layout). */
#include "cgroup/names.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ID_MAX 64 /* a container id: 64 hex digits */

struct cg_name_entry {
	char key[ID_MAX + 1]; /* the full id or uid: the map's key is only its first 64 bits */
	char *a;	      /* container name, or pod name */
	char *b;	      /* namespace (pods only) */
	int64_t mtime_ns;     /* docker: of config.v2.json when read */
	uint64_t round;	      /* docker: the round it was last checked in */
};

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* The first 16 hex digits of an id or a uid (dashes skipped) as the map key; false if fewer. */
static bool key_of(const char *s, uint64_t *key)
{
	uint64_t k = 0;
	int n = 0;

	for (; *s && n < 16; s++) {
		if (*s == '-')
			continue;
		int v = hexval(*s);
		if (v < 0)
			return false;
		k = k << 4 | (uint64_t)v;
		n++;
	}
	*key = k;
	return n == 16;
}

static void entry_free(struct cg_name_entry *e)
{
	if (!e)
		return;
	free(e->a);
	free(e->b);
	free(e);
}

static void map_clear(struct idmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		entry_free(m->slots[i].value);
	idmap_free(m);
}

static struct cg_name_entry *map_find(const struct idmap *m, const char *id)
{
	uint64_t k;
	struct cg_name_entry *e;

	if (!key_of(id, &k) || !(e = idmap_get(m, k)) || strcmp(e->key, id) != 0)
		return NULL;
	return e;
}

/* Inserts (or replaces) id -> (a, b); the strings are copied. 0 or -errno. */
static int map_set(struct idmap *m, const char *id, const char *a, size_t alen, const char *b,
		   size_t blen)
{
	uint64_t k;

	if (strlen(id) > ID_MAX || !key_of(id, &k))
		return -EINVAL;
	struct cg_name_entry *old = idmap_get(m, k);
	if (!old && m->len >= CG_NAMES_MAX)
		return -ENOSPC;
	struct cg_name_entry *e = calloc(1, sizeof(*e));
	if (!e || !(e->a = strndup(a, alen)) || (b && !(e->b = strndup(b, blen))) ||
	    idmap_put(m, k, e)) {
		entry_free(e);
		return -ENOMEM;
	}
	strcpy(e->key, id);
	entry_free(old);
	return 0;
}

static void map_remove(struct idmap *m, const char *id)
{
	uint64_t k;
	struct cg_name_entry *e = map_find(m, id);

	if (e && key_of(id, &k)) {
		idmap_del(m, k);
		entry_free(e);
	}
}

int cg_names_init(struct cg_names *c, const char *docker_root, const char *kubelet_logs)
{
	memset(c, 0, sizeof(*c));
	c->pods_mtime_ns = c->ctrs_mtime_ns = -1;
	c->docker_root = strdup(docker_root ? docker_root : "");
	c->kubelet_logs = strdup(kubelet_logs ? kubelet_logs : "");
	if (!c->docker_root || !c->kubelet_logs) {
		cg_names_free(c);
		return -ENOMEM;
	}
	return 0;
}

void cg_names_free(struct cg_names *c)
{
	if (!c)
		return;
	map_clear(&c->docker);
	map_clear(&c->kube_ctrs);
	map_clear(&c->kube_pods);
	free(c->docker_root);
	free(c->kubelet_logs);
	c->docker_root = c->kubelet_logs = NULL;
}

static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* kubelet_logs/pods/<namespace>_<pod>_<uid>: none of the three may contain '_'. */
static void add_pod(struct cg_names *c, const char *entry)
{
	const char *u1 = strchr(entry, '_');
	const char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;

	if (!u1 || !u2 || u1 == entry || u2 == u1 + 1 || strchr(u2 + 1, '_'))
		return;
	map_set(&c->kube_pods, u2 + 1, u1 + 1, (size_t)(u2 - u1 - 1), entry, (size_t)(u1 - entry));
}

/* kubelet_logs/containers/<pod>_<namespace>_<container>-<64 hex id>.log */
static void add_container(struct cg_names *c, const char *entry)
{
	size_t len = strlen(entry);
	const char *u1 = strchr(entry, '_');
	const char *u2 = u1 ? strchr(u1 + 1, '_') : NULL;

	if (!u2 || len < ID_MAX + 6 || strcmp(entry + len - 4, ".log") != 0)
		return;
	const char *id = entry + len - 4 - ID_MAX;
	const char *name = u2 + 1;
	if (id - 1 <= name || id[-1] != '-')
		return;
	char key[ID_MAX + 1];
	memcpy(key, id, ID_MAX);
	key[ID_MAX] = '\0';
	map_set(&c->kube_ctrs, key, name, (size_t)(id - 1 - name), NULL, 0);
}

/* Rescans kubelet_logs/<sub> into m if the directory changed since *seen (its mtime). */
static void scan_kubelet(struct cg_names *c, const char *sub, struct idmap *m, int64_t *seen,
			 void (*add)(struct cg_names *, const char *))
{
	char dir[4096];
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/%s", c->kubelet_logs, sub);
	if (!c->kubelet_logs[0] || stat(dir, &st) < 0) {
		if (*seen != -1)
			map_clear(m);
		*seen = -1;
		return;
	}
	if (mtime_ns(&st) == *seen)
		return;
	DIR *d = opendir(dir);
	if (!d)
		return;
	map_clear(m);
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			add(c, e->d_name);
	closedir(d);
	*seen = mtime_ns(&st);
}

void cg_names_round(struct cg_names *c)
{
	c->round++;
	scan_kubelet(c, "pods", &c->kube_pods, &c->pods_mtime_ns, add_pod);
	scan_kubelet(c, "containers", &c->kube_ctrs, &c->ctrs_mtime_ns, add_container);
}

/* The "Name" of a docker config.v2.json ("/laravel" -> "laravel"); NULL if unreadable. */
static char *docker_name_read(int fd, size_t size)
{
	char *text = malloc(size + 1), *name = NULL;
	size_t got = 0;

	if (!text)
		return NULL;
	while (got < size) {
		ssize_t n = read(fd, text + got, size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	text[got] = '\0';
	cJSON *root = cJSON_ParseWithLength(text, got);
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(root, "Name");
	if (cJSON_IsString(n) && n->valuestring[0])
		name = strdup(n->valuestring + (n->valuestring[0] == '/'));
	cJSON_Delete(root);
	free(text);
	return name;
}

/* Docker's name for a container id, checked against its config file once per round. */
static const char *docker_name(struct cg_names *c, const char *id)
{
	struct cg_name_entry *e = map_find(&c->docker, id);
	char path[4096];
	struct stat st;

	if (e && e->round == c->round)
		return e->a;
	if (!c->docker_root[0])
		return "";
	snprintf(path, sizeof(path), "%s/containers/%s/config.v2.json", c->docker_root, id);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > CG_NAMES_MAX_FILE) {
		if (fd >= 0)
			close(fd);
		map_remove(&c->docker, id); /* removed, or never a docker container */
		return "";
	}
	if (!e || e->mtime_ns != mtime_ns(&st)) {
		char *name = docker_name_read(fd, (size_t)st.st_size);
		if (map_set(&c->docker, id, name ? name : "", name ? strlen(name) : 0, NULL, 0) ==
		    0)
			e = map_find(&c->docker, id);
		else
			e = NULL;
		free(name);
	}
	close(fd);
	if (!e)
		return "";
	e->mtime_ns = mtime_ns(&st);
	e->round = c->round;
	return e->a;
}

void cg_names_lookup(struct cg_names *c, const char *container_id, const char *pod_uid,
		     struct cg_name_result *out)
{
	const struct cg_name_entry *e;

	out->container = out->pod = out->namespace = "";
	if (container_id && container_id[0]) {
		e = map_find(&c->kube_ctrs, container_id);
		out->container = e ? e->a : docker_name(c, container_id);
	}
	if (pod_uid && pod_uid[0] && (e = map_find(&c->kube_pods, pod_uid))) {
		out->pod = e->a;
		out->namespace = e->b;
	}
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);
	return len > n && memcmp(s + len - n, suffix, n) == 0;
}

void cgroup_unit_from_path(const char *path, char *unit, size_t len)
{
	const char *best = NULL;
	size_t best_len = 0;

	if (!len)
		return;
	unit[0] = '\0';
	for (const char *p = path ? path : ""; *p;) {
		size_t n = strcspn(p, "/");
		if (ends_with(p, n, ".service") || ends_with(p, n, ".scope")) {
			best = p;
			best_len = n;
		}
		p += n;
		if (*p)
			p++;
	}
	if (best && best_len < len) {
		memcpy(unit, best, best_len);
		unit[best_len] = '\0';
	}
}
