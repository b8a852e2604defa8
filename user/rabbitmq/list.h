/* rabbitmq/list.h — storage of the queue record list for the parser: its string arena and growth.
 */
#ifndef HOSTMON_RABBITMQ_LIST_H
#define HOSTMON_RABBITMQ_LIST_H

#include <stddef.h>

#include "rabbitmq/parse.h"

/*
 * API:
 *   Internal to the RabbitMQ parser; callers see struct rmq_list,
 *   rmq_list_append() and rmq_list_free() in parse.h.
 *
 *   rmq_arena_strndup() copies len bytes of s and a NUL into the list's
 *   arena; NULL when out of memory. The copy lives until the arena is
 *   rewound past it or the list is freed.
 *
 *   rmq_arena_mark() notes where the arena stands; rmq_arena_rewind() frees
 *   every string stored since that mark, so a skipped item or a failed
 *   stream gives its memory back. A mark is good while the arena has not
 *   been rewound to before it.
 *
 *   rmq_list_push() appends a copy of q, growing the items array by
 *   doubling but never past max_len records (more than len), so a list
 *   bounded by a limit is never allocated beyond it; -ENOMEM leaves the
 *   list as it was.
 */

/* Where the arena stood: its newest chunk and how much of it was used. */
struct rmq_arena_mark {
	struct rmq_arena_chunk *chunk;
	size_t used;
};

const char *rmq_arena_strndup(struct rmq_list *l, const char *s, size_t len);
struct rmq_arena_mark rmq_arena_mark(const struct rmq_list *l);
void rmq_arena_rewind(struct rmq_list *l, struct rmq_arena_mark m);
int rmq_list_push(struct rmq_list *l, const struct rmq_queue *q, size_t max_len);

#endif
