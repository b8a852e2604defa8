/* rabbitmq/health.c — nodes, alarms and limits from /api/nodes, connection totals from
 * /api/overview, as metrics beside the queues. */
#include "rabbitmq/health.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* /api/nodes field, metric name (after rabbitmq_node_), help; in enum order */
static const struct {
	const char *field, *metric, *help;
} node_fields[RMQ_NODE_NVALUES] = {
	[RMQ_NODE_RUNNING] = { "running", "running",
			       "1 when the node runs (0: in the cluster, down)." },
	[RMQ_NODE_MEM_USED] = { "mem_used", "memory_used_bytes", "Memory the node uses." },
	[RMQ_NODE_MEM_LIMIT] = { "mem_limit", "memory_limit_bytes",
				 "The memory high watermark: above it publishers are blocked." },
	[RMQ_NODE_MEM_ALARM] = { "mem_alarm", "memory_alarm",
				 "1 while the memory alarm is in effect (publishers blocked)." },
	[RMQ_NODE_DISK_FREE] = { "disk_free", "disk_free_bytes", "Free disk space of the node." },
	[RMQ_NODE_DISK_FREE_LIMIT] = { "disk_free_limit", "disk_free_limit_bytes",
				       "Free disk space below which publishers are blocked." },
	[RMQ_NODE_DISK_FREE_ALARM] = { "disk_free_alarm", "disk_free_alarm",
				       "1 while the disk alarm is in effect (publishers "
				       "blocked)." },
	[RMQ_NODE_FD_USED] = { "fd_used", "fds_used", "File descriptors the node has open." },
	[RMQ_NODE_FD_TOTAL] = { "fd_total", "fds_limit", "File descriptors the node may open." },
	[RMQ_NODE_SOCKETS_USED] = { "sockets_used", "sockets_used", "Sockets the node has open." },
	[RMQ_NODE_SOCKETS_TOTAL] = { "sockets_total", "sockets_limit",
				     "Sockets the node may open." },
};

static const struct {
	const char *field, *metric, *help;
} totals[RMQ_NTOTALS] = {
	[RMQ_TOTAL_CONNECTIONS] = { "connections", "rabbitmq_connections",
				    "Client connections to the cluster." },
	[RMQ_TOTAL_CHANNELS] = { "channels", "rabbitmq_channels", "Channels in the cluster." },
	[RMQ_TOTAL_CONSUMERS] = { "consumers", "rabbitmq_consumers", "Consumers in the cluster." },
};

static const char nodes_path[] =
	"/api/nodes?columns=name,running,mem_used,mem_limit,mem_alarm,disk_free,disk_free_limit,"
	"disk_free_alarm,fd_used,fd_total,sockets_used,sockets_total";

/* A count or a flag: a finite non-negative number, or a boolean as 0/1. */
static bool value_of(const cJSON *j, double *out)
{
	if (cJSON_IsBool(j)) {
		*out = cJSON_IsTrue(j) ? 1 : 0;
		return true;
	}
	if (cJSON_IsNumber(j) && isfinite(j->valuedouble) && j->valuedouble >= 0) {
		*out = j->valuedouble;
		return true;
	}
	return false;
}

static int parse_nodes(const cJSON *arr, struct rmq_health *out)
{
	const cJSON *n;
	size_t cap = (size_t)cJSON_GetArraySize(arr);
	cap = cap > RMQ_HEALTH_MAX_NODES ? RMQ_HEALTH_MAX_NODES : cap;
	out->nodes = calloc(cap ? cap : 1, sizeof(*out->nodes));
	if (!out->nodes)
		return -ENOMEM;
	cJSON_ArrayForEach (n, arr) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(n, "name");
		if (out->n == cap || !cJSON_IsString(name))
			continue;
		struct rmq_health_node *node = &out->nodes[out->n];
		if (!(node->name = strdup(name->valuestring)))
			return -ENOMEM;
		out->n++;
		for (int i = 0; i < RMQ_NODE_NVALUES; i++)
			if (value_of(cJSON_GetObjectItemCaseSensitive(n, node_fields[i].field),
				     &node->v[i]))
				node->present |= (uint16_t)(1u << i);
	}
	return 0;
}

int rmq_health_parse(const char *nodes_json, size_t nodes_len, const char *overview_json,
		     size_t overview_len, struct rmq_health *out)
{
	cJSON *nodes = cJSON_ParseWithLength(nodes_json, nodes_len);
	cJSON *ov = cJSON_ParseWithLength(overview_json, overview_len);
	const cJSON *ot = cJSON_GetObjectItemCaseSensitive(ov, "object_totals");
	int rc = cJSON_IsArray(nodes) && cJSON_IsObject(ot) ? parse_nodes(nodes, out) : -EPROTO;

	for (int i = 0; !rc && i < RMQ_NTOTALS; i++)
		if (value_of(cJSON_GetObjectItemCaseSensitive(ot, totals[i].field),
			     &out->totals[i]))
			out->totals_present |= (uint8_t)(1u << i);
	cJSON_Delete(nodes);
	cJSON_Delete(ov);
	if (rc)
		rmq_health_free(out);
	return rc;
}

int rmq_health_poll(struct rmq_fetch *mgmt, struct rmq_health *out, struct rmq_fetch_error *fail)
{
	uint64_t deadline = rmq_fetch_deadline(mgmt);
	struct buf nodes = { 0 }, ov = { 0 };

	int rc = rmq_fetch_get(mgmt, nodes_path, deadline, &nodes, fail);
	if (!rc)
		rc = rmq_fetch_get(mgmt, "/api/overview?columns=object_totals", deadline, &ov,
				   fail);
	if (!rc) {
		int prc = rmq_health_parse(nodes.len ? nodes.data : "", nodes.len,
					   ov.len ? ov.data : "", ov.len, out);
		if (prc) {
			fail->reason = prc == -ENOMEM ? RMQ_REASON_TRANSFER
						      : RMQ_REASON_UNEXPECTED_RESPONSE;
			snprintf(fail->detail, sizeof(fail->detail), "%s",
				 prc == -ENOMEM
					 ? "out of memory"
					 : "not a node list and an overview with object_totals");
			rc = -EIO;
		}
	}
	buf_free(&nodes);
	buf_free(&ov);
	return rc;
}

void rmq_health_free(struct rmq_health *h)
{
	for (size_t i = 0; h->nodes && i < h->n; i++)
		free(h->nodes[i].name);
	free(h->nodes);
	memset(h, 0, sizeof(*h));
}

void rmq_health_add_series(struct metric_snapshot *s, const char *host, const struct rmq_health *h)
{
	static const char *const node_labels[] = { "host", "node" };
	static const char *const host_label[] = { "host" };
	char name[80];

	for (int i = 0; i < RMQ_NODE_NVALUES; i++) {
		snprintf(name, sizeof(name), "rabbitmq_node_%s", node_fields[i].metric);
		struct metric_family *f = metric_family_get(s, name, node_fields[i].help,
							    METRIC_GAUGE, 2, node_labels);
		for (size_t k = 0; k < h->n; k++) {
			const char *v[] = { host, h->nodes[k].name };
			if (h->nodes[k].present & (1u << i))
				metric_add(f, v, h->nodes[k].v[i]);
		}
	}
	for (int i = 0; i < RMQ_NTOTALS; i++) {
		const char *v[] = { host };
		if (h->totals_present & (1u << i))
			metric_add(metric_family_get(s, totals[i].metric, totals[i].help,
						     METRIC_GAUGE, 1, host_label),
				   v, h->totals[i]);
	}
}
