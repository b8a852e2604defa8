/* rabbitmq/nodes.h — the rabbitmq_prometheus listener of every cluster node: from /api/overview's
 * listeners, or a configured list. */
#ifndef HOSTMON_RABBITMQ_NODES_H
#define HOSTMON_RABBITMQ_NODES_H

#include <stddef.h>

/*
 * API:
 *   rmq_nodes_from_overview() reads the body of GET /api/overview: every
 *   listener whose protocol is http/prometheus (or https/prometheus)
 *   becomes a base URL, scheme://ADDRESS:port, where ADDRESS is the
 *   listener's socket_opts.ip when it names one address, else (bound to all
 *   addresses) mgmt_host for the node the management API runs on (the
 *   overview's "node") and the host part of the node name (rabbit@HOST) for
 *   the others. At most RMQ_MAX_NODES. 0; -ENOENT when there is no such
 *   listener (the plugin is not enabled); -EPROTO for a body that is not an
 *   overview; -ENOMEM. err says why.
 *
 *   rmq_nodes_from_list() splits a comma-separated list of URLs (trailing
 *   slashes dropped). rmq_nodes_free() leaves an empty set. out must be
 *   empty; on failure it stays so.
 */

#define RMQ_MAX_NODES 64

struct rmq_nodes {
	char **bases;
	size_t n;
};

int rmq_nodes_from_overview(const char *json, size_t len, const char *mgmt_host,
			    struct rmq_nodes *out, char *err, size_t errlen);
int rmq_nodes_from_list(const char *list, struct rmq_nodes *out);
void rmq_nodes_free(struct rmq_nodes *nodes);

#endif
