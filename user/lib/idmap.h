/* lib/idmap.h — an open-addressing hash table from 64-bit ids (cgroup ids, ...) to pointers. */
#ifndef HOSTMON_LIB_IDMAP_H
#define HOSTMON_LIB_IDMAP_H

#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   A zero-initialised struct idmap is empty. idmap_put() inserts or
 *   replaces (0 or -ENOMEM); idmap_get() returns NULL when absent;
 *   idmap_del() removes (no tombstones: later entries shift back, so the
 *   table never degrades after many deletions). Values must not be NULL.
 */
struct idmap_slot {
	uint64_t id;
	void *value; /* NULL: empty slot */
};

struct idmap {
	struct idmap_slot *slots;
	size_t cap; /* power of two */
	size_t len;
};

int idmap_put(struct idmap *m, uint64_t id, void *value);
void *idmap_get(const struct idmap *m, uint64_t id);
void idmap_del(struct idmap *m, uint64_t id);
void idmap_free(struct idmap *m);

#endif
