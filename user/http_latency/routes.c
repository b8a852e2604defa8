/* http_latency/routes.c — PLACEHOLDER until the route patterns land. */
#include "http_latency/routes.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int http_routes_parse(const char *spec, struct http_routes *out, char *err, size_t errlen)
{
	(void)err;
	(void)errlen;
	memset(out, 0, sizeof(*out));
	return spec && *spec ? -EINVAL : 0;
}

void http_routes_free(struct http_routes *r)
{
	(void)r;
}

int http_route_label(const struct http_route *r, const struct http_routes *routes, char *out,
		     size_t len)
{
	size_t n = 0;
	(void)routes;
	while (n < r->len && n < sizeof(r->path) && n + 1 < len && r->path[n] != '?' &&
	       r->path[n] != ' ' && r->path[n] != '\0')
		n++;
	memcpy(out, r->path, n);
	out[n] = '\0';
	return 0;
}
