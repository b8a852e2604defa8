/* http_latency/retire.c — the kernel entries of removed cgroups: kept for
 * --http-removed-retention, so the last requests reach a scrape, then deleted, so the maps do not
 * fill up with cgroups that no longer exist (a node with container churn would otherwise stop
 * counting new cgroups once the histogram or route maps were full). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>

#include "http_latency/state.h"
#include "lib/clock.h"
#include "skel/http_latency.skel.h"

struct retiring {
	uint64_t since_ns; /* when it was seen removed (or first seen unnamed) */
	bool unnamed;	   /* never named: its final values go to the merged cgroup="" series */
};

void latency_retire_mark(struct http_latency *st, uint64_t id, bool unnamed)
{
	if (idmap_get(&st->retiring, id))
		return;
	struct retiring *r = malloc(sizeof(*r));
	if (!r)
		return; /* tried again at the next removal or export */
	r->since_ns = clock_monotonic_ns();
	r->unnamed = unnamed;
	if (idmap_put(&st->retiring, id, r))
		free(r);
}

void latency_retire_unmark(struct http_latency *st, uint64_t id)
{
	struct retiring *r = idmap_get(&st->retiring, id);
	if (r && r->unnamed) { /* it was only new: a rescan has named it since */
		idmap_del(&st->retiring, id);
		free(r);
	}
}

int unnamed_hists_add(struct unnamed_hists *u, const struct http_hist_key *key,
		      const uint64_t *buckets, size_t nbuckets, uint64_t sum_ns)
{
	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 16;
		struct unnamed_hist *grown = realloc(u->v, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		u->v = grown;
		u->cap = cap;
	}
	struct unnamed_hist *h = &u->v[u->n++];
	memset(h, 0, sizeof(*h));
	h->key = *key;
	h->key.cgroup_id = 0; /* they share one label set */
	memcpy(h->buckets, buckets, (nbuckets + 1) * sizeof(h->buckets[0]));
	h->sum_ns = sum_ns;
	return 0;
}

/* Adds a deleted unnamed histogram to the one kept for its label set (they share cgroup=""). */
static int retired_add(struct unnamed_hists *u, const struct http_hist_key *key,
		       const uint64_t *buckets, size_t nbuckets, uint64_t sum_ns)
{
	struct http_hist_key k = *key;
	k.cgroup_id = 0;
	for (size_t i = 0; i < u->n; i++) {
		if (memcmp(&u->v[i].key, &k, sizeof(k)))
			continue;
		for (size_t b = 0; b <= nbuckets; b++)
			u->v[i].buckets[b] += buckets[b];
		u->v[i].sum_ns += sum_ns;
		return 0;
	}
	return unnamed_hists_add(u, &k, buckets, nbuckets, sum_ns);
}

/* Keys (of key_size bytes) of map fd whose first 8 bytes, a cgroup id, is due; collected before
 * deleting, since deleting the key a walk stands on restarts a hash map's walk. */
static void *due_keys(int fd, size_t key_size, const struct idmap *due, size_t *n)
{
	unsigned char key[32], next[32];
	unsigned char *keys = NULL;
	size_t cap = 0;
	void *prev = NULL;

	*n = 0;
	while (bpf_map_get_next_key(fd, prev, next) == 0) {
		memcpy(key, next, key_size);
		prev = key;
		uint64_t id;
		memcpy(&id, key, sizeof(id));
		if (!idmap_get(due, id))
			continue;
		if (*n == cap) {
			size_t grown_cap = cap ? cap * 2 : 64;
			unsigned char *grown = realloc(keys, grown_cap * key_size);
			if (!grown)
				break; /* the rest is retired at the next collect */
			keys = grown;
			cap = grown_cap;
		}
		memcpy(keys + *n * key_size, key, key_size);
		(*n)++;
	}
	return keys;
}

/* Final values of unnamed cgroups' histograms, kept in the merged series, then the entries. */
static void delete_histograms(struct http_latency *st, const struct idmap *due)
{
	int fd = bpf_map__fd(st->skel->maps.hists);
	size_t n;
	struct http_hist_key *keys = due_keys(fd, sizeof(*keys), due, &n);
	struct http_hist h;
	uint64_t buckets[HTTP_MAX_BUCKETS + 1];

	for (size_t i = 0; i < n; i++) {
		const struct retiring *r = idmap_get(&st->retiring, keys[i].cgroup_id);
		if (r && r->unnamed && bpf_map_lookup_elem(fd, &keys[i], &h) == 0) {
			memcpy(buckets, h.buckets, sizeof(buckets));
			if (retired_add(&st->unnamed_retired, &keys[i], buckets, st->buckets.n,
					h.sum_ns))
				continue; /* no room to keep its counts: the entry stays for now */
		}
		bpf_map_delete_elem(fd, &keys[i]);
	}
	free(keys);
}

/* The route names no admitted (cgroup, route) pair refers to any more, nor a kept unnamed
 * histogram (whose label would turn into "other"). */
static void delete_unused_routes(struct http_latency *st)
{
	int seen_fd = bpf_map__fd(st->skel->maps.route_seen);
	int routes_fd = bpf_map__fd(st->skel->maps.routes);
	struct http_route_seen_key sk, *sprev = NULL;
	struct idmap used = { 0 };
	__u64 key, next, *prev = NULL;
	static char mark;

	while (bpf_map_get_next_key(seen_fd, sprev, &sk) == 0) {
		sprev = &sk;
		if (idmap_put(&used, sk.route, &mark)) {
			idmap_free(&used);
			return; /* out of memory: keep every name */
		}
	}
	for (size_t i = 0; i < st->unnamed_retired.n; i++) {
		if (idmap_put(&used, st->unnamed_retired.v[i].key.route, &mark)) {
			idmap_free(&used);
			return;
		}
	}
	size_t n = 0, cap = 0;
	__u64 *unused = NULL;
	while (bpf_map_get_next_key(routes_fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (idmap_get(&used, key))
			continue;
		if (n == cap) {
			size_t grown_cap = cap ? cap * 2 : 64;
			__u64 *grown = realloc(unused, grown_cap * sizeof(*grown));
			if (!grown)
				break;
			unused = grown;
			cap = grown_cap;
		}
		unused[n++] = key;
	}
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(routes_fd, &unused[i]);
	free(unused);
	idmap_free(&used);
}

int latency_retire_due(struct http_latency *st)
{
	if (!st->retiring.len)
		return 0;
	uint64_t now = clock_monotonic_ns();
	struct idmap due = { 0 };
	static char mark;
	size_t ndue = 0;

	for (size_t i = 0; i < st->retiring.cap; i++) {
		const struct idmap_slot *s = &st->retiring.slots[i];
		const struct retiring *r = s->value;
		/* an unnamed one waits out rescans too: it may be new rather than gone */
		uint64_t wait = r && r->unnamed && st->unnamed_grace_ns > st->retention_ns
					? st->unnamed_grace_ns
					: st->retention_ns;
		if (r && now - r->since_ns >= wait) {
			if (idmap_put(&due, s->id, &mark)) {
				idmap_free(&due);
				return -ENOMEM;
			}
			ndue++;
		}
	}
	if (!ndue)
		return 0;
	delete_histograms(st, &due);
	size_t n;
	int seen_fd = bpf_map__fd(st->skel->maps.route_seen);
	struct http_route_seen_key *seen = due_keys(seen_fd, sizeof(*seen), &due, &n);
	for (size_t i = 0; i < n; i++)
		bpf_map_delete_elem(seen_fd, &seen[i]);
	free(seen);
	delete_unused_routes(st);
	for (size_t i = 0; i < due.cap; i++) {
		if (!due.slots[i].value)
			continue;
		uint64_t id = due.slots[i].id;
		bpf_map_delete_elem(bpf_map__fd(st->skel->maps.route_count), &id);
		latency_label_forget(st, id);
		free(idmap_get(&st->retiring, id));
		idmap_del(&st->retiring, id);
	}
	st->cgroups_retired_total += ndue;
	idmap_free(&due);
	return 0;
}

void latency_retire_free(struct http_latency *st)
{
	for (size_t i = 0; i < st->retiring.cap; i++)
		free(st->retiring.slots ? st->retiring.slots[i].value : NULL);
	idmap_free(&st->retiring);
	free(st->unnamed_retired.v);
	st->unnamed_retired = (struct unnamed_hists){ 0 };
}
