/* rabbitmq/join.c — one poll's queue list made a snapshot's: filters, duplicates, the cap, and
 * the fields of the slower detail poll joined by (vhost, name). */
#include "rabbitmq/join.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rabbitmq/list.h"

static bool passes_filters(const struct rmq_join *j, const struct rmq_queue *q)
{
	return name_filter_pass(j->vhosts, q->vhost) && name_filter_pass(j->queues, q->name);
}

/* FNV-1a over vhost, a separator that cannot occur in either string, and name. */
static uint64_t key_hash(const char *vhost, const char *name)
{
	uint64_t h = 1469598103934665603ull;
	for (const char *p = vhost; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return h;
}

/* An index over a list by (vhost, name): open addressing on item indexes + 1. */
struct key_index {
	size_t *slots;
	size_t cap;
};

/* Room for n records at half load. */
static int index_build(struct key_index *ix, size_t n)
{
	ix->cap = 16;
	while (ix->cap < n * 2)
		ix->cap *= 2;
	ix->slots = calloc(ix->cap, sizeof(*ix->slots));
	if (!ix->slots)
		return -ENOMEM;
	return 0;
}

/* Finds (vhost, name); with insert_as > 0 adds it when absent. Returns the item index + 1, or 0. */
static size_t index_find(struct key_index *ix, const struct rmq_list *l, const char *vhost,
			 const char *name, size_t insert_as)
{
	size_t i = key_hash(vhost, name) & (ix->cap - 1);
	while (ix->slots[i]) {
		const struct rmq_queue *q = &l->items[ix->slots[i] - 1];
		if (strcmp(q->name, name) == 0 && strcmp(q->vhost, vhost) == 0)
			return ix->slots[i];
		i = (i + 1) & (ix->cap - 1);
	}
	if (insert_as)
		ix->slots[i] = insert_as;
	return 0;
}

/* An index of every item of l, with room for extra more; the first of a repeated key wins. */
static int index_all(struct key_index *ix, const struct rmq_list *l, size_t extra)
{
	int rc = index_build(ix, l->len + extra);
	for (size_t i = 0; !rc && i < l->len; i++)
		index_find(ix, l, l->items[i].vhost, l->items[i].name, i + 1);
	return rc;
}

/* The last string copied into a list's arena for one field: queues in a row mostly share their
 * node, type, state and vhost, which are then stored once per run instead of once per queue. */
struct copy_cache {
	const char *src, *copy;
};

static const char *copy_once(struct rmq_list *l, struct copy_cache *c, const char *s)
{
	if (c->src && (c->src == s || strcmp(c->src, s) == 0))
		return c->copy;
	const char *copy = rmq_arena_strndup(l, s, strlen(s));
	if (copy) {
		c->src = s;
		c->copy = copy;
	}
	return copy;
}

struct fact_copies {
	struct copy_cache node, type, state, vhost;
};

/* A fact the record lacks, copied into dst's arena (the list it comes from is freed or replaced
 * while dst lives on). */
static int join_fact(struct rmq_list *dst, struct copy_cache *c, const char **field,
		     const char *fact)
{
	if (**field || !*fact)
		return 0;
	const char *copy = copy_once(dst, c, fact);
	if (!copy)
		return -ENOMEM;
	*field = copy;
	return 0;
}

static int join_facts(struct rmq_list *dst, struct fact_copies *cc, struct rmq_queue *k,
		      const struct rmq_queue *f)
{
	if (k->durable < 0)
		k->durable = f->durable;
	int rc = join_fact(dst, &cc->type, &k->type, f->type);
	if (!rc)
		rc = join_fact(dst, &cc->state, &k->state, f->state);
	if (!rc)
		rc = join_fact(dst, &cc->node, &k->node, f->node);
	return rc;
}

int rmq_join_facts(struct rmq_list *details, const struct rmq_list *facts)
{
	struct key_index ix = { 0 };
	struct fact_copies cc = { 0 };

	if (!facts || !facts->len)
		return 0;
	/* room for every record details may end up with */
	int rc = index_all(&ix, details, facts->len);
	for (size_t i = 0; !rc && i < facts->len; i++) {
		const struct rmq_queue *f = &facts->items[i];
		size_t d = index_find(&ix, details, f->vhost, f->name, 0);
		if (d) {
			rc = join_facts(details, &cc, &details->items[d - 1], f);
			continue;
		}
		/* a queue the values' listing did not have (created between the two): its facts */
		struct rmq_queue q = { .node = "", .type = "", .state = "", .durable = -1 };
		q.vhost = copy_once(details, &cc.vhost, f->vhost);
		q.name = q.vhost ? rmq_arena_strndup(details, f->name, strlen(f->name)) : NULL;
		if (!q.name || join_facts(details, &cc, &q, f) ||
		    rmq_list_push(details, &q, SIZE_MAX)) {
			rc = -ENOMEM;
			break;
		}
		index_find(&ix, details, q.vhost, q.name, details->len);
	}
	free(ix.slots);
	return rc;
}

int rmq_join_build(const struct rmq_join *j, struct rmq_list *fast, size_t *matching,
		   size_t *dropped)
{
	struct key_index seen = { 0 }, details = { 0 };
	struct fact_copies cc = { 0 };
	const struct rmq_list *dl = j->details;
	bool use_details = dl && dl->len;
	size_t kept = 0;
	int rc = index_build(&seen, fast->len);
	if (!rc && use_details)
		rc = index_all(&details, dl, 0);
	if (rc)
		goto out;
	for (size_t i = 0; i < fast->len; i++) {
		struct rmq_queue *q = &fast->items[i];
		if (!passes_filters(j, q))
			continue;
		/* compacting in place: slot kept is free, and the index points at kept slots */
		if (index_find(&seen, fast, q->vhost, q->name, 0))
			continue;
		(*matching)++;
		if (kept >= j->max_queues) {
			(*dropped)++;
			continue;
		}
		fast->items[kept] = *q;
		index_find(&seen, fast, q->vhost, q->name, kept + 1);
		struct rmq_queue *k = &fast->items[kept++];
		size_t d = use_details ? index_find(&details, dl, k->vhost, k->name, 0) : 0;
		if (!d)
			continue;
		const struct rmq_queue *dq = &dl->items[d - 1];
		/* only what the count poll lacks: the plugin's consumers are fresher */
		for (int f = RMQ_CONSUMERS; f < RMQ_NVALUES; f++) {
			if ((dq->present & (1u << f)) && !(k->present & (1u << f))) {
				k->v[f] = dq->v[f];
				k->present |= (uint16_t)(1u << f);
			}
		}
		if ((rc = join_facts(fast, &cc, k, dq)))
			goto out;
	}
	fast->len = kept;
out:
	free(seen.slots);
	free(details.slots);
	return rc;
}
