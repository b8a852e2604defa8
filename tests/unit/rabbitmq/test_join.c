/* test_join.c — a detail poll's values and facts made one list, and that list joined into a count
 * poll's queues. */
#include <stdlib.h>
#include <string.h>

#include "rabbitmq/join.h"
#include "rabbitmq/list.h"
#include "test.h"

/* A record of l with its strings in l's arena (so freeing another list cannot take them). */
static void add(struct rmq_list *l, const char *vhost, const char *name, const char *node,
		const char *type, int durable, int value, double v)
{
	struct rmq_queue q = { .node = "", .type = "", .state = "", .durable = (int8_t)durable };
	q.vhost = rmq_arena_strndup(l, vhost, strlen(vhost));
	q.name = rmq_arena_strndup(l, name, strlen(name));
	if (*node)
		q.node = rmq_arena_strndup(l, node, strlen(node));
	if (*type)
		q.type = rmq_arena_strndup(l, type, strlen(type));
	if (value >= 0) {
		q.v[value] = v;
		q.present = (uint16_t)(1u << value);
	}
	rmq_list_push(l, &q, SIZE_MAX);
}

static const struct rmq_queue *find(const struct rmq_list *l, const char *vhost, const char *name)
{
	for (size_t i = 0; i < l->len; i++)
		if (strcmp(l->items[i].vhost, vhost) == 0 && strcmp(l->items[i].name, name) == 0)
			return &l->items[i];
	return NULL;
}

int main(void)
{
	struct rmq_list det = { 0 }, facts = { 0 }, fast = { 0 };

	/* the plugin's values: node from its identity, no type or durable */
	add(&det, "/", "a", "rabbit@one", "", -1, RMQ_CONSUMERS, 2);
	add(&det, "/", "b", "rabbit@one", "", -1, RMQ_MESSAGE_BYTES, 4096);
	/* the management API's facts: b, c that the values did not list, then b again */
	add(&facts, "/", "b", "rabbit@two", "quorum", 1, -1, 0);
	add(&facts, "/", "c", "rabbit@two", "quorum", 0, -1, 0);
	add(&facts, "/", "b", "rabbit@three", "stream", 0, -1, 0);

	CHECK(rmq_join_facts(&det, &facts) == 0, "joined");
	rmq_list_free(&facts); /* what details took is its own */
	CHECK(det.len == 3, "a, b, and c that only the facts had: %zu", det.len);
	const struct rmq_queue *a = find(&det, "/", "a"), *b = find(&det, "/", "b"),
			       *c = find(&det, "/", "c");
	CHECK(a && !*a->type && a->durable == -1 && a->v[RMQ_CONSUMERS] == 2,
	      "a: no facts, its values");
	CHECK(b && strcmp(b->type, "quorum") == 0 && b->durable == 1 &&
		      strcmp(b->node, "rabbit@one") == 0 && b->v[RMQ_MESSAGE_BYTES] == 4096,
	      "b: the first facts join what it lacked, its own node stays");
	CHECK(c && strcmp(c->type, "quorum") == 0 && c->durable == 0 &&
		      strcmp(c->node, "rabbit@two") == 0 && c->present == 0,
	      "c: its facts, no values");
	CHECK(b && c && b->type == c->type, "a type in a row is stored once");
	CHECK(rmq_join_facts(&det, NULL) == 0 && det.len == 3, "no facts: nothing changes");

	/* a count poll's queues: counts only, as the plugin's coarse metrics */
	add(&fast, "/", "c", "", "", -1, RMQ_MESSAGES, 7);
	add(&fast, "/", "b", "rabbit@one", "", -1, RMQ_MESSAGES, 1);
	add(&fast, "/", "new", "", "", -1, RMQ_MESSAGES, 0);
	struct name_filter all = { 0 }; /* neither include nor exclude: every name */
	struct rmq_join j = { .vhosts = &all, .queues = &all, .max_queues = 100, .details = &det };
	size_t matching = 0, dropped = 0;
	CHECK(rmq_join_build(&j, &fast, &matching, &dropped) == 0 && fast.len == 3 &&
		      matching == 3 && dropped == 0,
	      "built: %zu of %zu", fast.len, matching);
	rmq_list_free(&det);
	c = find(&fast, "/", "c");
	b = find(&fast, "/", "b");
	const struct rmq_queue *n = find(&fast, "/", "new");
	CHECK(c && strcmp(c->type, "quorum") == 0 && c->durable == 0 &&
		      strcmp(c->node, "rabbit@two") == 0 && c->v[RMQ_MESSAGES] == 7,
	      "c: the details' facts in the snapshot, after details are freed");
	CHECK(b && strcmp(b->type, "quorum") == 0 && (b->present & (1u << RMQ_MESSAGE_BYTES)) &&
		      b->v[RMQ_MESSAGE_BYTES] == 4096 && b->v[RMQ_MESSAGES] == 1,
	      "b: its count, the details' bytes and facts");
	CHECK(n && !*n->type && n->present == 1u << RMQ_MESSAGES, "new: nothing to join");
	rmq_list_free(&fast);
	return test_summary("rabbitmq/test_join");
}
