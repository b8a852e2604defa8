/* web/server.h — the non-blocking HTTP/1.1 server behind /metrics, on the event loop. */
#ifndef HOSTMON_WEB_SERVER_H
#define HOSTMON_WEB_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "lib/buf.h"
#include "web/request.h"
#include "web/settings.h"

/*
 * API:
 *   web_server_new() binds and listens on "ADDR:PORT" (ADDR empty: every
 *   address, IPv6 dual-stack when available, else IPv4) and serves on the
 *   loop. Returns NULL + errno; *err explains. web_server_address()
 *   gives the bound address with the real port (useful with port 0).
 *
 *   For each complete request head the handler fills resp (status,
 *   content type, optional content encoding and extra header lines, body).
 *   The server adds Content-Length and Connection, drops the body for
 *   HEAD, and answers 400/405/408/431/503/505 itself where the request
 *   never reaches the handler.
 *
 *   Limits: max_connections open connections; at the limit a new
 *   connection displaces the longest-idle keep-alive connection (one
 *   between requests with nothing buffered), and if none is idle it gets
 *   503 and is closed. A request head must arrive within
 *   read_header_timeout_ms of its first byte (or of the connection's
 *   start), keep-alive connections close after idle_timeout_ms without a
 *   request, and a response that makes no progress for write_timeout_ms
 *   is abandoned. One response at a time per connection: pipelined
 *   requests are answered in order, the next parsed after the previous
 *   response is fully written.
 */

struct web_response {
	int status;
	const char *content_type;     /* NULL: none */
	const char *content_encoding; /* NULL: identity */
	const char *extra_headers;    /* NULL or "Name: value\r\n..." */
	struct buf *body;	      /* owned by the server; the handler appends */
};

typedef void (*web_handler_fn)(void *arg, const struct web_request *req, struct web_response *resp);

struct web_server_stats {
	uint64_t connections_accepted;
	uint64_t connections_rejected; /* 503 at the connection limit */
	uint64_t connections_evicted;  /* idle ones closed to make room */
	uint64_t requests;
	uint64_t bad_requests; /* answered 400/408/431/505 by the server */
	uint64_t open_connections;
};

struct web_server;

struct web_server *web_server_new(struct loop *l, const struct web_settings *opts,
				  web_handler_fn handler, void *arg, char *err, size_t errlen);
void web_server_free(struct web_server *s); /* accepts NULL; closes every connection */
const char *web_server_address(const struct web_server *s);
void web_server_get_stats(const struct web_server *s, struct web_server_stats *out);

const char *web_status_reason(int status);

#endif
