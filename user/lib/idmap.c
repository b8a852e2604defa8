/* lib/idmap.c — an open-addressing hash table from 64-bit ids (cgroup ids, ...) to pointers. */
#include "lib/idmap.h"

#include <errno.h>
#include <stdlib.h>

static size_t slot_of(uint64_t id, size_t cap)
{
	/* ids are inode numbers: close together, so mix them before masking */
	id ^= id >> 33;
	id *= 0xff51afd7ed558ccdULL;
	id ^= id >> 33;
	return (size_t)id & (cap - 1);
}

static int grow(struct idmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	struct idmap_slot *slots = calloc(cap, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->slots[i].value)
			continue;
		size_t j = slot_of(m->slots[i].id, cap);
		while (slots[j].value)
			j = (j + 1) & (cap - 1);
		slots[j] = m->slots[i];
	}
	free(m->slots);
	m->slots = slots;
	m->cap = cap;
	return 0;
}

int idmap_put(struct idmap *m, uint64_t id, void *value)
{
	/* keep the load factor under 1/2 so probes stay short */
	if ((m->len + 1) * 2 > m->cap) {
		int rc = grow(m);
		if (rc)
			return rc;
	}
	size_t i = slot_of(id, m->cap);
	while (m->slots[i].value && m->slots[i].id != id)
		i = (i + 1) & (m->cap - 1);
	if (!m->slots[i].value)
		m->len++;
	m->slots[i].id = id;
	m->slots[i].value = value;
	return 0;
}

void *idmap_get(const struct idmap *m, uint64_t id)
{
	if (!m->cap)
		return NULL;
	for (size_t i = slot_of(id, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slots[i].value)
			return NULL;
		if (m->slots[i].id == id)
			return m->slots[i].value;
	}
}

void idmap_del(struct idmap *m, uint64_t id)
{
	if (!m->cap)
		return;
	size_t i = slot_of(id, m->cap);
	while (m->slots[i].value && m->slots[i].id != id)
		i = (i + 1) & (m->cap - 1);
	if (!m->slots[i].value)
		return;
	m->slots[i].value = NULL;
	m->len--;
	/* backward-shift: move later members of the probe run into the hole */
	for (size_t j = (i + 1) & (m->cap - 1); m->slots[j].value; j = (j + 1) & (m->cap - 1)) {
		size_t home = slot_of(m->slots[j].id, m->cap);
		/* can slot j's entry live at i? only if its home is not within (i, j] cyclically */
		int stays = (i <= j) ? (home > i && home <= j) : (home > i || home <= j);
		if (stays)
			continue;
		m->slots[i] = m->slots[j];
		m->slots[j].value = NULL;
		i = j;
	}
}

void idmap_free(struct idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->len = 0;
}
