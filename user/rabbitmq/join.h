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
 *   joins by (vhost, name) from details (NULL: none) the values the count
 *   poll lacks and the node, type, state and durable it lacks, the strings
 *   copied into fast's arena: details may be freed afterwards. 0 or -ENOMEM
 *   (fast is then still a valid list).
 *
 *   rmq_join_facts() makes one list of a detail poll's two (the plugin's
 *   values and the management API's facts): into each record of details it
 *   copies from facts' record of the same (vhost, name) the node, type,
 *   state and durable it lacks, and a queue only facts names is added to
 *   details with no values; the strings go into details' arena, so facts
 *   may be freed afterwards. Then a detail poll keeps one list between
 *   count polls, not two (about 9 MB less at 50,000 queues). 0 or -ENOMEM
 *   (details is then still a valid list).
 */

struct rmq_join {
	const struct name_filter *vhosts, *queues;
	uint64_t max_queues;
	const struct rmq_list *details; /* fresh enough to join, or NULL */
};

int rmq_join_build(const struct rmq_join *j, struct rmq_list *fast, size_t *matching,
		   size_t *dropped);
int rmq_join_facts(struct rmq_list *details, const struct rmq_list *facts);

#endif
