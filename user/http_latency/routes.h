/* http_latency/routes.h — --http-routes patterns for the kernel's route keys, and the labels of
 * the routes the kernel recorded. */
#ifndef HOSTMON_HTTP_LATENCY_ROUTES_H
#define HOSTMON_HTTP_LATENCY_ROUTES_H

#include <stddef.h>

#include "bpf/http_latency/http_latency.h"

/*
 * API:
 *   http_routes_parse(spec, out, err): "/users/:id,/api/orders/" followed by a star (NULL
 *     or "": none) into out: at most HTTP_MAX_ROUTE_PATTERNS patterns, each
 *     starting with '/', of literal segments, ":name" parameters (any one
 *     segment) and an optional last "*" (any rest, including nothing), at
 *     most HTTP_ROUTE_MAX_SEGS segments besides the star. Each becomes a
 *     struct http_route_pattern for the kernel (bpf/http_latency/route.bpf.h
 *     hashes) and keeps its text for the label. 0, or -EINVAL with one line
 *     in err, or -ENOMEM. http_routes_free() accepts a zeroed struct.
 *   http_route_label(r, routes, out, len): the label of a route the kernel
 *     recorded: the configured pattern's text, or the folded form of its
 *     first path ("/users/:id/orders"). 0, or -EINVAL for a pattern index
 *     this configuration does not have.
 */
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
