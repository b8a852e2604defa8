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

static int index_build(struct key_index *ix, const struct rmq_list *l)
{
	ix->cap = 16;
	while (ix->cap < l->len * 2)
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

/* An index of every item of l; the first of a repeated key wins. */
static int index_all(struct key_index *ix, const struct rmq_list *l)
{
	int rc = index_build(ix, l);
	for (size_t i = 0; !rc && i < l->len; i++)
		index_find(ix, l, l->items[i].vhost, l->items[i].name, i + 1);
	return rc;
}

/* A fact the count source lacks, copied into the snapshot's own arena (the facts list is replaced
 * by the next detail poll while scrapes may still hold this snapshot). */
static int join_fact(struct rmq_list *fast, const char **dst, const char *fact)
{
	if (**dst || !*fact)
		return 0;
	const char *copy = rmq_arena_strndup(fast, fact, strlen(fact));
	if (!copy)
		return -ENOMEM;
	*dst = copy;
	return 0;
}

static int join_facts(struct rmq_list *fast, struct rmq_queue *k, const struct rmq_queue *f)
{
	if (k->durable < 0)
		k->durable = f->durable;
	int rc = join_fact(fast, &k->type, f->type);
	if (!rc)
		rc = join_fact(fast, &k->state, f->state);
	if (!rc)
		rc = join_fact(fast, &k->node, f->node);
	return rc;
}

int rmq_join_build(const struct rmq_join *j, struct rmq_list *fast, size_t *matching,
		   size_t *dropped)
{
	struct key_index seen = { 0 }, details = { 0 }, facts = { 0 };
	const struct rmq_list *dl = j->details, *fl = j->facts;
	bool use_details = dl && dl->len;
	size_t kept = 0;
	bool use_facts = fl && fl->len;
	int rc = index_build(&seen, fast);
	if (!rc && use_details)
		rc = index_all(&details, dl);
	if (!rc && use_facts)
		rc = index_all(&facts, fl);
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
		if (d) {
			const struct rmq_queue *dq = &dl->items[d - 1];
			/* only what the count poll lacks: the plugin's consumers are fresher */
			for (int f = RMQ_CONSUMERS; f < RMQ_NVALUES; f++) {
				if ((dq->present & (1u << f)) && !(k->present & (1u << f))) {
					k->v[f] = dq->v[f];
					k->present |= (uint16_t)(1u << f);
				}
			}
		}
		size_t fi = use_facts ? index_find(&facts, fl, k->vhost, k->name, 0) : 0;
		if (fi && (rc = join_facts(fast, k, &fl->items[fi - 1])))
			goto out;
	}
	fast->len = kept;
out:
	free(seen.slots);
	free(details.slots);
	free(facts.slots);
	return rc;
}
