/* rabbitmq/health.h — the broker's own health beside the queues: nodes running, alarms, memory,
 * disk, file descriptors and sockets against their limits; connections, channels, consumers. */
#ifndef HOSTMON_RABBITMQ_HEALTH_H
#define HOSTMON_RABBITMQ_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "exposition/metrics.h"
#include "rabbitmq/fetch.h"

/*
 * API:
 *   rmq_health_poll() asks the management API (whatever the queue source:
 *   the plugin's pages are per node and lack the cluster's view of which
 *   nodes run) GET /api/nodes?columns=... and GET
 *   /api/overview?columns=object_totals, and fills out: a node per entry
 *   (at most RMQ_HEALTH_MAX_NODES), each value present only when the
 *   broker gave a number (a node that is down has no memory figures).
 *   0, or -EIO with *fail set (an answer that is not a node list or an
 *   overview: unexpected_response); -ECANCELED at shutdown. out is left
 *   empty on failure. rmq_health_free() leaves it empty.
 *
 *   rmq_health_add_series() adds the rabbitmq_node_* and rabbitmq_*
 *   families (docs/rabbitmq.md#broker-health) to s, label host first.
 */

#define RMQ_HEALTH_MAX_NODES 64

enum rmq_node_value {
	RMQ_NODE_RUNNING,
	RMQ_NODE_MEM_USED,
	RMQ_NODE_MEM_LIMIT,
	RMQ_NODE_MEM_ALARM,
	RMQ_NODE_DISK_FREE,
	RMQ_NODE_DISK_FREE_LIMIT,
	RMQ_NODE_DISK_FREE_ALARM,
	RMQ_NODE_FD_USED,
	RMQ_NODE_FD_TOTAL,
	RMQ_NODE_SOCKETS_USED,
	RMQ_NODE_SOCKETS_TOTAL,
	RMQ_NODE_NVALUES,
};

enum rmq_total { RMQ_TOTAL_CONNECTIONS, RMQ_TOTAL_CHANNELS, RMQ_TOTAL_CONSUMERS, RMQ_NTOTALS };

struct rmq_health_node {
	char *name;
	uint16_t present; /* bit i: v[i] was given */
	double v[RMQ_NODE_NVALUES];
};

struct rmq_health {
	struct rmq_health_node *nodes;
	size_t n;
	uint8_t totals_present;
	double totals[RMQ_NTOTALS];
};

int rmq_health_poll(struct rmq_fetch *mgmt, struct rmq_health *out, struct rmq_fetch_error *fail);
int rmq_health_parse(const char *nodes_json, size_t nodes_len, const char *overview_json,
		     size_t overview_len, struct rmq_health *out);
void rmq_health_free(struct rmq_health *h);
void rmq_health_add_series(struct metric_snapshot *s, const char *host, const struct rmq_health *h);

#endif
