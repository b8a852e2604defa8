/* rabbitmq/nodes.c — the rabbitmq_prometheus listener of every cluster node, from /api/overview or
 * a configured list. */
#include "rabbitmq/nodes.h"

#include <cJSON.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_base(struct rmq_nodes *out, const char *scheme, const char *host, long port)
{
	bool v6 =
		strchr(host, ':') != NULL && host[0] != '['; /* an address, not yet a URL's host */
	char *url = NULL;

	if (out->n == RMQ_MAX_NODES)
		return 0; /* a cluster this large is not scraped node by node from one poller */
	char **bases = realloc(out->bases, (out->n + 1) * sizeof(*bases));
	if (!bases)
		return -ENOMEM;
	out->bases = bases;
	if (asprintf(&url, "%s://%s%s%s:%ld", scheme, v6 ? "[" : "", host, v6 ? "]" : "", port) < 0)
		return -ENOMEM;
	out->bases[out->n++] = url;
	return 0;
}

/* Where a listener bound to every address is reached: see the API comment. */
static const char *listener_host(const cJSON *l, const char *this_node, const char *mgmt_host)
{
	const cJSON *opts = cJSON_GetObjectItemCaseSensitive(l, "socket_opts");
	const cJSON *ip = cJSON_GetObjectItemCaseSensitive(opts, "ip");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(l, "node");

	if (cJSON_IsString(ip) && strcmp(ip->valuestring, "::") != 0 &&
	    strcmp(ip->valuestring, "0.0.0.0") != 0 && *ip->valuestring)
		return ip->valuestring;
	if (!cJSON_IsString(node) || (this_node && strcmp(node->valuestring, this_node) == 0))
		return mgmt_host;
	const char *at = strchr(node->valuestring, '@');
	return at && at[1] ? at + 1 : mgmt_host;
}

int rmq_nodes_from_overview(const char *json, size_t len, const char *mgmt_host,
			    struct rmq_nodes *out, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(json, len);
	const cJSON *listeners = cJSON_GetObjectItemCaseSensitive(root, "listeners");
	const cJSON *node = cJSON_GetObjectItemCaseSensitive(root, "node");
	const cJSON *l;
	int rc = 0;

	if (!cJSON_IsArray(listeners)) {
		snprintf(err, errlen, "/api/overview has no listeners list");
		cJSON_Delete(root);
		return -EPROTO;
	}
	cJSON_ArrayForEach (l, listeners) {
		const cJSON *proto = cJSON_GetObjectItemCaseSensitive(l, "protocol");
		const cJSON *port = cJSON_GetObjectItemCaseSensitive(l, "port");
		if (rc || !cJSON_IsString(proto) || !cJSON_IsNumber(port) ||
		    port->valuedouble < 1 || port->valuedouble > 65535)
			continue;
		const char *scheme = strcmp(proto->valuestring, "http/prometheus") == 0	   ? "http"
				     : strcmp(proto->valuestring, "https/prometheus") == 0 ? "https"
											   : NULL;
		if (scheme)
			rc = add_base(out, scheme,
				      listener_host(l,
						    cJSON_IsString(node) ? node->valuestring : NULL,
						    mgmt_host),
				      (long)port->valuedouble);
	}
	cJSON_Delete(root);
	if (!rc && !out->n) {
		snprintf(err, errlen,
			 "no http/prometheus listener in /api/overview: is the rabbitmq_prometheus "
			 "plugin enabled?");
		rc = -ENOENT;
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc)
		rmq_nodes_free(out);
	return rc;
}

int rmq_nodes_from_list(const char *list, struct rmq_nodes *out)
{
	const char *p = list;
	int rc = 0;

	while (!rc && *p && out->n < RMQ_MAX_NODES) {
		size_t n = strcspn(p, ",");
		size_t k = n;
		while (k && (p[k - 1] == '/' || p[k - 1] == ' '))
			k--;
		char **bases = k ? realloc(out->bases, (out->n + 1) * sizeof(*bases)) : out->bases;
		if (k && (!bases || !(bases[out->n] = strndup(p, k))))
			rc = -ENOMEM;
		else if (k)
			out->n++;
		if (bases)
			out->bases = bases;
		p += n + (p[n] == ',');
		while (*p == ' ')
			p++;
	}
	if (rc)
		rmq_nodes_free(out);
	return rc;
}

void rmq_nodes_free(struct rmq_nodes *nodes)
{
	for (size_t i = 0; i < nodes->n; i++)
		free(nodes->bases[i]);
	free(nodes->bases);
	nodes->bases = NULL;
	nodes->n = 0;
}
