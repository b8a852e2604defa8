/* rabbitmq/bodies.h — how a response body is read as it streams: the management API's JSON, the
 * Prometheus plugin's text, or kept whole. */
#ifndef HOSTMON_RABBITMQ_BODIES_H
#define HOSTMON_RABBITMQ_BODIES_H

#include <stddef.h>

#include "lib/buf.h"
#include "rabbitmq/fetch.h"
#include "rabbitmq/parse.h"

/*
 * API (internal to fetch.c):
 *   open() starts reading one response into out (records) or raw (the
 *   bytes; rmq_raw_parser only) for vhost (NULL: the vhost listing, or a
 *   raw GET), keeping what lim allows where the format applies it as it
 *   streams (JSON; see parse.h); feed() takes the body in pieces, finish() says whether it
 *   was whole and well-formed, close() frees what open() made. A failed
 *   stream's error (0, or -EBADMSG, -EPROTO...) is named by why(), which
 *   writes the operator's detail and returns the reason.
 */
struct rmq_body_parser {
	void *(*open)(struct rmq_list *out, struct buf *raw, const char *vhost,
		      const struct rmq_limits *lim);
	int (*feed)(void *stream, const char *data, size_t len);
	int (*finish)(void *stream);
	void (*close)(void *stream);
	enum rmq_reason (*why)(void *stream, int rc, const char *vhost, char *detail, size_t len);
};

extern const struct rmq_body_parser rmq_json_parser, rmq_prom_parser, rmq_raw_parser;

#endif
