/* cgroup/kernel_map.c — per-cgroup counters of a BPF hash brought into a cg_tree. */
#include "cgroup/kernel_map.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

void cg_kernel_map_init(struct cg_kernel_map *m, int fd, size_t nvalues)
{
	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->nvalues = nvalues < CG_NVALUES ? nvalues : CG_NVALUES;
}

static size_t stride(const struct cg_kernel_map *m)
{
	return 1 + m->nvalues;
}

static int read_all(struct cg_kernel_map *m)
{
	uint64_t key, next, *prev = NULL, *entries = NULL;
	size_t n = 0, cap = 0, w = stride(m);

	while (bpf_map_get_next_key(m->fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			uint64_t *ne = realloc(entries, ncap * w * sizeof(*ne));
			if (!ne) {
				free(entries);
				return -ENOMEM;
			}
			entries = ne;
			cap = ncap;
		}
		if (bpf_map_lookup_elem(m->fd, &key, entries + n * w + 1))
			continue; /* deleted between the two calls */
		entries[n * w] = key;
		n++;
	}
	if (errno != ENOENT) {
		int rc = -errno;
		free(entries);
		return rc;
	}
	free(m->entries);
	m->entries = entries;
	m->nentries = n;
	return 0;
}

static size_t apply(const struct cg_kernel_map *m, struct cg_tree *t)
{
	size_t unknown = 0, w = stride(m);

	for (size_t i = 0; i < m->nentries; i++) {
		const uint64_t *e = m->entries + i * w;
		struct cg_node *n = cg_tree_find(t, e[0]);
		if (!n) {
			unknown++;
			continue;
		}
		memcpy(n->own, e + 1, m->nvalues * sizeof(*e));
	}
	return unknown;
}

static void fold_orphans(struct cg_kernel_map *m, struct cg_tree *t)
{
	size_t w = stride(m);

	for (size_t i = 0; i < m->nentries; i++) {
		uint64_t id = m->entries[i * w], v[CG_NVALUES];
		if (cg_tree_find(t, id) || bpf_map_lookup_elem(m->fd, &id, v))
			continue;
		bpf_map_delete_elem(m->fd, &id);
		for (size_t k = 0; k < m->nvalues; k++)
			t->root->retired[k] += v[k];
		m->orphaned_total++;
	}
}

int cg_kernel_map_sync(struct cg_kernel_map *m, struct cg_tree *t, bool force_rescan,
		       cg_rescan_fn rescan, void *arg)
{
	int rc = read_all(m);
	if (rc)
		return rc;
	size_t unknown = apply(m, t);
	if (force_rescan || (unknown && cg_tree_unknown_rescan_due(t))) {
		if (rescan(arg) == 0) {
			apply(m, t);
			fold_orphans(m, t);
		}
	}
	return 0;
}

void cg_kernel_map_take_final(struct cg_kernel_map *m, struct cg_node *node)
{
	uint64_t v[CG_NVALUES];

	if (bpf_map_lookup_elem(m->fd, &node->id, v) == 0)
		memcpy(node->own, v, m->nvalues * sizeof(*v));
	bpf_map_delete_elem(m->fd, &node->id);
}

void cg_kernel_map_free(struct cg_kernel_map *m)
{
	free(m->entries);
	m->entries = NULL;
	m->nentries = 0;
}

/* Room for record len of an array of records of size bytes, doubling it; frees it on failure. */
static int room_for_one(char **recs, size_t *cap, size_t len, size_t size)
{
	if (len < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 64;
	char *grown = realloc(*recs, ncap * size);
	if (!grown) {
		free(*recs);
		*recs = NULL;
		return -ENOMEM;
	}
	*recs = grown;
	*cap = ncap;
	return 0;
}

int cg_hash_read_all(int fd, size_t key_size, size_t value_off, size_t entry_size,
		     const struct cg_tree *t, bool prune, void **out, size_t *n)
{
	char *recs = NULL, key[64] = { 0 }, next[64];
	size_t len = 0, cap = 0;
	bool first = true;

	if (key_size > sizeof(key) || key_size < sizeof(uint64_t))
		return -EINVAL;
	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		memcpy(key, next, key_size);
		first = false;
		if (room_for_one(&recs, &cap, len, entry_size))
			return -ENOMEM;
		char *r = recs + len * entry_size;
		if (bpf_map_lookup_elem(fd, key, r + value_off))
			continue; /* deleted since it was listed */
		memcpy(r, key, key_size);
		len++;
	}
	if (errno != ENOENT) {
		int rc = -errno;
		free(recs);
		return rc;
	}
	size_t kept = 0;
	for (size_t i = 0; i < len; i++) {
		char *r = recs + i * entry_size;
		uint64_t id;
		memcpy(&id, r, sizeof(id));
		if (prune && !cg_tree_find(t, id))
			bpf_map_delete_elem(fd, r);
		else if (kept++ != i)
			memcpy(recs + (kept - 1) * entry_size, r, entry_size);
	}
	*out = recs;
	*n = kept;
	return 0;
}

int cg_hash_delete_ids(int fd, size_t key_size, const struct idmap *ids)
{
	char *keys = NULL, key[64] = { 0 }, next[64];
	size_t len = 0, cap = 0;
	bool first = true;
	int rc = 0;

	if (key_size > sizeof(key) || key_size < sizeof(uint64_t))
		return -EINVAL;
	if (!ids->len)
		return 0;
	while (bpf_map_get_next_key(fd, first ? NULL : key, next) == 0) {
		uint64_t id;
		memcpy(key, next, key_size);
		memcpy(&id, key, sizeof(id));
		first = false;
		if (!idmap_get(ids, id))
			continue;
		if (room_for_one(&keys, &cap, len, key_size))
			return -ENOMEM;
		memcpy(keys + len++ * key_size, key, key_size);
	}
	if (errno != ENOENT)
		rc = -errno;
	for (size_t i = 0; i < len; i++)
		bpf_map_delete_elem(fd, keys + i * key_size); /* ENOENT: already gone */
	free(keys);
	return rc;
}
