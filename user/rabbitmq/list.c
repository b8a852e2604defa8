/* rabbitmq/list.c — the queue record list's storage: items array growth and the string arena. */
#include "rabbitmq/list.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* chunks grow from the first to the usual size: a list of a few queues (a small vhost) stays small
 */
#define ARENA_FIRST_CHUNK (2u * 1024u)
#define ARENA_CHUNK	  (64u * 1024u)
#define LIST_FIRST_CAP	  16

/* Newest chunk first, so rewinding frees from the front of the chain. */
struct rmq_arena_chunk {
	struct rmq_arena_chunk *next;
	size_t used, cap;
	char data[];
};

struct rmq_arena_mark rmq_arena_mark(const struct rmq_list *l)
{
	return (struct rmq_arena_mark){ l->chunks, l->chunks ? l->chunks->used : 0 };
}

void rmq_arena_rewind(struct rmq_list *l, struct rmq_arena_mark m)
{
	while (l->chunks && l->chunks != m.chunk) {
		struct rmq_arena_chunk *c = l->chunks;
		l->chunks = c->next;
		free(c);
	}
	if (l->chunks)
		l->chunks->used = m.used;
}

const char *rmq_arena_strndup(struct rmq_list *l, const char *s, size_t len)
{
	struct rmq_arena_chunk *c = l->chunks;

	if (!c || c->cap - c->used < len + 1) {
		size_t cap = !c			    ? ARENA_FIRST_CHUNK
			     : c->cap < ARENA_CHUNK ? 2 * c->cap
						    : ARENA_CHUNK;
		cap = len + 1 > cap ? len + 1 : cap;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = l->chunks;
		l->chunks = c;
	}
	char *p = c->data + c->used;
	memcpy(p, s, len);
	p[len] = '\0';
	c->used += len + 1;
	return p;
}

int rmq_list_push(struct rmq_list *l, const struct rmq_queue *q, size_t max_len)
{
	if (l->len == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : LIST_FIRST_CAP;
		cap = cap > max_len ? max_len : cap;
		struct rmq_queue *items = realloc(l->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		l->cap = cap;
	}
	l->items[l->len++] = *q;
	return 0;
}

int rmq_list_append(struct rmq_list *dst, struct rmq_list *src)
{
	if (!dst->len && src->len) {
		/* the usual first append: take src's array rather than copy it beside itself */
		struct rmq_queue *spare = dst->items;
		size_t spare_cap = dst->cap;
		dst->items = src->items;
		dst->cap = src->cap;
		dst->len = src->len;
		src->items = spare; /* freed with src below */
		src->cap = spare_cap;
		src->len = 0;
	} else if (dst->cap - dst->len < src->len) {
		/* doubling: a poll of many vhosts appends many times */
		size_t cap =
			dst->len + src->len > 2 * dst->cap ? dst->len + src->len : 2 * dst->cap;
		struct rmq_queue *items = realloc(dst->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		dst->items = items;
		dst->cap = cap;
	}
	if (src->len)
		memcpy(dst->items + dst->len, src->items, src->len * sizeof(*src->items));
	dst->len += src->len;
	dst->skipped += src->skipped;
	for (int i = 0; i < RMQ_DROP_MAX; i++)
		dst->dropped[i] += src->dropped[i];
	/* the strings stay where they are: src's chunks join dst's, in front */
	if (src->chunks) {
		struct rmq_arena_chunk *tail = src->chunks;
		while (tail->next)
			tail = tail->next;
		tail->next = dst->chunks;
		dst->chunks = src->chunks;
		src->chunks = NULL;
	}
	rmq_list_free(src);
	return 0;
}

void rmq_list_limit(struct rmq_list *list, size_t max)
{
	if (list->len <= max)
		return;
	list->dropped[RMQ_DROP_MAX_QUEUES] += list->len - max;
	list->len = max;
}

void rmq_list_fit(struct rmq_list *list)
{
	if (list->cap == list->len)
		return;
	if (!list->len) {
		free(list->items);
		list->items = NULL;
		list->cap = 0;
		return;
	}
	struct rmq_queue *items = realloc(list->items, list->len * sizeof(*items));
	if (items) { /* else the larger array serves as well */
		list->items = items;
		list->cap = list->len;
	}
}

void rmq_list_free(struct rmq_list *list)
{
	rmq_arena_rewind(list, (struct rmq_arena_mark){ NULL, 0 });
	free(list->items);
	memset(list, 0, sizeof(*list));
}
