/* http_latency/settings.c — the http_latency collector's option rows, and the parsers of its
 * bucket and target-name lists. */
#include "http_latency/settings.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_latency/routes.h"

int latency_parse_buckets(const char *s, struct latency_buckets *out, char *err, size_t errlen)
{
	struct latency_buckets b = { .n = 0 };
	const char *p = s;

	while (*p) {
		char *end;
		errno = 0;
		double v = strtod(p, &end);
		if (errno || end == p || (*end && *end != ',') || !isfinite(v) || v < 1e-6 ||
		    v > 1e6) {
			snprintf(err, errlen,
				 "invalid --http-buckets \"%s\": expected seconds such as "
				 "0.005,0.1,1",
				 s);
			return -EINVAL;
		}
		if (b.n == HTTP_MAX_BUCKETS) {
			snprintf(err, errlen, "invalid --http-buckets: at most %d bounds",
				 HTTP_MAX_BUCKETS);
			return -EINVAL;
		}
		/* nanoseconds rounded to nearest, so 0.1 is exactly 100000000 */
		uint64_t ns = (uint64_t)llround(v * 1e9);
		if (b.n && ns <= b.ns[b.n - 1]) {
			snprintf(err, errlen, "invalid --http-buckets: bounds must increase");
			return -EINVAL;
		}
		b.ns[b.n] = ns;
		b.seconds[b.n] = v;
		b.n++;
		p = *end ? end + 1 : end;
	}
	if (b.n == 0) {
		snprintf(err, errlen, "invalid --http-buckets: no bounds");
		return -EINVAL;
	}
	*out = b;
	return 0;
}

int latency_parse_targets(const char *s, struct latency_targets *out, char *err, size_t errlen)
{
	struct latency_targets t = { .n = 0 };
	const char *p = s;

	while (*p) {
		size_t len = strcspn(p, ",");
		struct latency_target_name *n = &t.items[t.n];
		if (t.n == HTTP_MAX_NAMES || len == 0) {
			snprintf(err, errlen,
				 "invalid --http-targets \"%s\": 1 to %d comma-separated names", s,
				 HTTP_MAX_NAMES);
			return -EINVAL;
		}
		n->prefix = p[len - 1] == '*';
		size_t nlen = len - n->prefix;
		if (nlen == 0 || nlen >= HTTP_NAME_LEN || memchr(p, '/', nlen) ||
		    memchr(p, '*', nlen)) {
			snprintf(err, errlen,
				 "invalid --http-targets name \"%.*s\": an executable name of 1 to "
				 "%d "
				 "bytes, optionally ending in *",
				 (int)len, p, HTTP_NAME_LEN - 1);
			return -EINVAL;
		}
		memcpy(n->name, p, nlen);
		n->name[nlen] = '\0';
		if (strncmp(n->name, "php-fpm", 7) == 0) {
			n->runtime = HTTP_RUNTIME_PHP;
			n->mode = HTTP_MODE_PHP_FCGI; /* USDT once its probes are attached */
		} else {
			n->runtime = strncmp(n->name, "node", 4) == 0	 ? HTTP_RUNTIME_NODE
				     : strncmp(n->name, "php", 3) == 0	 ? HTTP_RUNTIME_PHP
				     : strncmp(n->name, "nginx", 5) == 0 ? HTTP_RUNTIME_NGINX
									 : HTTP_RUNTIME_HTTP;
			n->mode = HTTP_MODE_HTTP;
		}
		t.n++;
		p += len;
		if (*p == ',')
			p++;
	}
	if (t.n == 0) {
		snprintf(err, errlen, "invalid --http-targets: no names");
		return -EINVAL;
	}
	*out = t;
	return 0;
}

int latency_targets_match(const struct latency_targets *names, const char *exe)
{
	for (size_t i = 0; i < names->n; i++) {
		const struct latency_target_name *n = &names->items[i];
		size_t len = strlen(n->name);
		if (n->prefix ? strncmp(exe, n->name, len) == 0 : strcmp(exe, n->name) == 0)
			return (int)i;
	}
	return -1;
}

#define OFF(field) offsetof(struct http_latency_settings, field)

static const struct option_def rows[] = {
	{ "http-targets", OPT_STRING, OFF(targets), "node,nodejs,php-fpm*,php,nginx", 0, 0, "NAMES",
	  "executables whose processes are measured (comma list, * = prefix); node* names are "
	  "also the event loops nodejs_eventloop measures" },
	{ "http-include-cgroup", OPT_REGEX, OFF(include_cgroup), NULL, 0, 0, "REGEX",
	  "measure only target processes whose cgroup path matches" },
	{ "http-exclude-cgroup", OPT_REGEX, OFF(exclude_cgroup), NULL, 0, 0, "REGEX",
	  "do not measure target processes whose cgroup path matches" },
	{ "http-buckets", OPT_STRING, OFF(buckets),
	  "0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10", 0, 0, "SECONDS",
	  "histogram bucket bounds in seconds (at most 32, increasing)" },
	{ "http-max-series", OPT_U64, OFF(max_series), "4096", 16, 1u << 20, "N",
	  "histograms (label sets) and (cgroup, route) pairs the kernel holds; more are counted" },
	{ "http-php-usdt", OPT_BOOL, OFF(php_usdt), "true", 0, 0, NULL,
	  "use PHP's USDT probes where the binary has them (else FastCGI on syscalls)" },
	{ "http-routes", OPT_STRING, OFF(routes), NULL, 0, 0, "PATTERNS",
	  "route patterns, e.g. /users/:id,/api/v1/orders/* (else ids in paths fold to :id)" },
	{ "http-max-routes", OPT_U64, OFF(max_routes), "50", 1, 10000, "N",
	  "distinct routes per cgroup; further ones are counted under route=\"other\"" },
	{ "http-removed-retention", OPT_DURATION, OFF(removed_retention_ms), "5m", 0, 86400000,
	  "DURATION",
	  "a removed cgroup's histograms stay on the page this long, then are deleted" },
};

/* The lists and patterns are parsed again at start; parsing them here makes a bad one a usage
 * error. */
static int check(const void *settings, char *err, size_t errlen)
{
	const struct http_latency_settings *s = settings;
	struct latency_buckets buckets;
	struct latency_targets targets;

	struct http_routes routes;
	if (latency_parse_buckets(s->buckets, &buckets, err, errlen) ||
	    latency_parse_targets(s->targets, &targets, err, errlen) ||
	    http_routes_parse(s->routes, &routes, err, errlen))
		return -EINVAL;
	http_routes_free(&routes);
	return 0;
}

const struct option_group http_latency_option_group = {
	.title = "http_latency collector (request latency of node and PHP servers)",
	.options = rows,
	.noptions = sizeof(rows) / sizeof(rows[0]),
	.check = check,
};
