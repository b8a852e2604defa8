/* http_latency/routes.c — --http-routes compiled for the kernel, and the route labels. */
#include "http_latency/routes.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/http_latency/route.bpf.h"

/* One pattern ("/users/:id", or ending in a "*" segment) of len bytes into p; 0 or -EINVAL. */
static int parse_one(const char *s, size_t len, struct http_route_pattern *p, char *err,
		     size_t errlen)
{
	memset(p, 0, sizeof(*p));
	if (len == 0 || s[0] != '/' || len > HTTP_ROUTE_LEN) {
		snprintf(err, errlen,
			 "invalid --http-routes pattern \"%.*s\": expected a path starting with "
			 "'/', "
			 "at most %d bytes",
			 (int)len, s, HTTP_ROUTE_LEN);
		return -EINVAL;
	}
	for (size_t i = 0; i < len;) {
		while (i < len && s[i] == '/')
			i++;
		if (i == len)
			break;
		size_t n = strcspn(s + i, "/,");
		if (n > len - i)
			n = len - i;
		if (p->star) {
			snprintf(err, errlen,
				 "invalid --http-routes pattern \"%.*s\": \"*\" must be the last "
				 "segment",
				 (int)len, s);
			return -EINVAL;
		}
		if (n == 1 && s[i] == '*') {
			p->star = 1;
		} else if (p->nsegs == HTTP_ROUTE_MAX_SEGS) {
			snprintf(err, errlen,
				 "invalid --http-routes pattern \"%.*s\": at most %d segments",
				 (int)len, s, HTTP_ROUTE_MAX_SEGS);
			return -EINVAL;
		} else {
			/* ":name" matches any one segment: hash 0 */
			p->seg_hash[p->nsegs++] =
				s[i] == ':' ? 0 : http_route_segment_hash(s + i, (__u32)n);
		}
		for (size_t k = 0; k < n; k++) {
			unsigned char c = (unsigned char)s[i + k];
			if (c <= ' ' || c == '?' || c == '#') {
				snprintf(
					err, errlen,
					"invalid --http-routes pattern \"%.*s\": no spaces, '?' or "
					"'#'",
					(int)len, s);
				return -EINVAL;
			}
		}
		i += n;
	}
	p->key = http_route_text_key(s, (__u32)len);
	return 0;
}

int http_routes_parse(const char *spec, struct http_routes *out, char *err, size_t errlen)
{
	struct http_routes r = { .n = 0 };
	const char *p = spec;

	memset(out, 0, sizeof(*out));
	while (p && *p) {
		size_t len = strcspn(p, ",");
		if (r.n == HTTP_MAX_ROUTE_PATTERNS) {
			snprintf(err, errlen, "invalid --http-routes: at most %d patterns",
				 HTTP_MAX_ROUTE_PATTERNS);
			http_routes_free(&r);
			return -EINVAL;
		}
		if (parse_one(p, len, &r.patterns[r.n], err, errlen)) {
			http_routes_free(&r);
			return -EINVAL;
		}
		r.names[r.n] = strndup(p, len);
		if (!r.names[r.n]) {
			http_routes_free(&r);
			return -ENOMEM;
		}
		r.n++;
		p += len;
		if (*p == ',')
			p++;
	}
	*out = r;
	return 0;
}

void http_routes_free(struct http_routes *r)
{
	for (size_t i = 0; i < HTTP_MAX_ROUTE_PATTERNS; i++) {
		free(r->names[i]);
		r->names[i] = NULL;
	}
	r->n = 0;
}

int http_route_label(const struct http_route *r, const struct http_routes *routes, char *out,
		     size_t len)
{
	if (len < 4)
		return -EINVAL;
	if (r->pattern) {
		if (r->pattern > routes->n)
			return -EINVAL;
		snprintf(out, len, "%s", routes->names[r->pattern - 1]);
		return 0;
	}
	http_route_fold((const __u8 *)r->path, r->len < HTTP_ROUTE_LEN ? r->len : HTTP_ROUTE_LEN,
			out, (__u32)len);
	return 0;
}
