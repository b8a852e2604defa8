/* rabbitmq/join.h — one poll's queue list made a snapshot's: filters, duplicates, the cap, and
 * the detail poll's fields joined. */
#ifndef HOSTMON_RABBITMQ_JOIN_H
#define HOSTMON_RABBITMQ_JOIN_H

#include <stddef.h>
#include <stdint.h>

#include "lib/namefilter.h"
#include "rabbitmq/parse.h"

/*
 * API:
 *   rmq_join_build() keeps, in place, the queues of fast that pass the
 *   filters, once each (a listing that names a vhost twice repeats its
 *   queues), at most max_queues of them, counting in *matching those that
 *   passed and in *dropped those the cap left out. Into each kept queue it
 *   joins by (vhost, name) the values of details (NULL: none) the count
 *   poll lacks, and from facts (NULL: none) the node, type, state and
 *   durable it lacks, copied into fast's arena: details and facts may be
 *   freed afterwards. 0 or -ENOMEM (fast is then still a valid list).
 */

struct rmq_join {
	const struct name_filter *vhosts, *queues;
	uint64_t max_queues;
	const struct rmq_list *details; /* fresh enough to join, or NULL */
	const struct rmq_list *facts;	/* the same */
};

int rmq_join_build(const struct rmq_join *j, struct rmq_list *fast, size_t *matching,
		   size_t *dropped);

#endif
