/* http_latency/routes.h — PLACEHOLDER until the route patterns land: no patterns, labels are the
 * stored path up to '?'. */
#ifndef HOSTMON_HTTP_LATENCY_ROUTES_H
#define HOSTMON_HTTP_LATENCY_ROUTES_H

#include <stddef.h>

#include "bpf/http_latency/http_latency.h"

struct http_routes {
	struct http_route_pattern patterns[HTTP_MAX_ROUTE_PATTERNS];
	char *names[HTTP_MAX_ROUTE_PATTERNS];
	size_t n;
};

int http_routes_parse(const char *spec, struct http_routes *out, char *err, size_t errlen);
void http_routes_free(struct http_routes *r);
int http_route_label(const struct http_route *r, const struct http_routes *routes, char *out,
		     size_t len);

#endif
