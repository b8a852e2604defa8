/* http_latency/settings.h — the http_latency collector's settings: which processes, buckets,
 * map sizes; and the parsers of its bucket and target lists. */
#ifndef HOSTMON_HTTP_LATENCY_SETTINGS_H
#define HOSTMON_HTTP_LATENCY_SETTINGS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/http_latency/http_latency.h" /* shared with bpf/http_latency/http_latency.bpf.c */
#include "config/options.h"

/*
 * API:
 *   latency_parse_buckets() parses "0.005,0.01,..." (seconds, strictly
 *   increasing, at most HTTP_MAX_BUCKETS, each at least 1 us) into the
 *   nanosecond bounds the kernel compares with (exact: a 100 ms request is
 *   <= 100000000 ns) and the seconds the exposition prints.
 *   latency_parse_targets() parses "node,nodejs,php-fpm*,php": at most
 *   HTTP_MAX_NAMES names of up to 15 bytes; a trailing '*' matches a prefix.
 *   Names starting with "php-fpm" are PHP-FPM (USDT, else FastCGI); other
 *   names starting with "php" are PHP's own HTTP server (php -S); any other
 *   name is an HTTP/1.x server measured like node (runtime "node").
 *   Both return 0 or -EINVAL with err set.
 *   latency_targets_match(): the index of the first name an executable's
 *   file name matches (exactly, or by prefix for a name ending in *), or -1.
 */
struct latency_buckets {
	uint64_t ns[HTTP_MAX_BUCKETS];
	double seconds[HTTP_MAX_BUCKETS];
	size_t n;
};

struct latency_target_name {
	char name[HTTP_NAME_LEN];
	uint8_t prefix, runtime, mode;
};

struct latency_targets {
	struct latency_target_name items[HTTP_MAX_NAMES];
	size_t n;
};

struct http_latency_settings {
	char *targets; /* executable names, comma list */
	char *include_cgroup;
	char *exclude_cgroup;
	char *buckets; /* seconds, comma list */
	uint64_t max_series;
	bool php_usdt;
	char *routes; /* --http-routes patterns, or NULL */
	uint64_t max_routes;
	uint64_t removed_retention_ms; /* a removed cgroup's series stay this long */
};

extern const struct option_group http_latency_option_group;

int latency_parse_buckets(const char *s, struct latency_buckets *out, char *err, size_t errlen);
int latency_parse_targets(const char *s, struct latency_targets *out, char *err, size_t errlen);
int latency_targets_match(const struct latency_targets *names, const char *exe);

#endif
