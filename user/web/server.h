/* web/server.h — the non-blocking HTTP/1.1 server behind /metrics, on the event loop. */
#ifndef HOSTMON_WEB_SERVER_H
#define HOSTMON_WEB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/loop.h"
#include "lib/buf.h"
#include "web/page.h"
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
 *
 *   Memory held for clients that read slowly: queued_bytes counts the
 *   private responses being sent, and each shared page once whatever the
 *   number of connections sending it. A response (or new page) larger than
 *   WEB_SMALL_RESPONSE that would take it past max_queued_bytes gets 503
 *   while anything else is queued (alone, it is sent, so a page bigger than
 *   the cap is still served one at a time).
 */
#define WEB_SMALL_RESPONSE (64u * 1024u)

struct web_response {
	int status;
	const char *content_type;     /* NULL: none */
	const char *content_encoding; /* NULL: identity */
	const char *extra_headers;    /* NULL or "Name: value\r\n..." */
	struct buf *body;	      /* owned by the server; the handler appends */
	/* set by web_server_serve_page(): the body is this shared page instead */
	struct web_page *page;
	/* the page is gzip and the client does not take it: send the text it holds, inflated as the
	 * socket takes it (web/unzip.h), Content-Encoding unset */
	bool decode;
	bool close; /* close the connection after this response */
};

enum web_refusal {
	WEB_REFUSED_SCRAPES,	  /* --max-scrapes pages already being sent */
	WEB_REFUSED_QUEUED_BYTES, /* the response would pass --max-queued-bytes */
	WEB_REFUSED_NREASONS,
};

typedef void (*web_handler_fn)(void *arg, const struct web_request *req, struct web_response *resp);
/* Renders a shared page's whole body into out (empty on entry); 0 or -errno. */
typedef int (*web_render_fn)(void *arg, struct buf *out);

struct web_server_stats {
	uint64_t connections_accepted;
	uint64_t connections_rejected; /* 503 at the connection limit */
	uint64_t connections_evicted;  /* idle ones closed to make room */
	uint64_t requests;
	uint64_t bad_requests; /* answered 400/408/431/505 by the server */
	uint64_t open_connections;
	uint64_t refused[WEB_REFUSED_NREASONS]; /* 503 + Retry-After, by reason */
	uint64_t queued_bytes;			/* held for responses not fully sent */
	uint64_t scrapes_in_flight;		/* connections sending a shared page */
	uint64_t pages_rendered;		/* shared pages made */
};

struct web_server;

struct web_server *web_server_new(struct loop *l, const struct web_settings *opts,
				  web_handler_fn handler, void *arg, char *err, size_t errlen);
void web_server_free(struct web_server *s); /* accepts NULL; closes every connection */
const char *web_server_address(const struct web_server *s);
void web_server_get_stats(const struct web_server *s, struct web_server_stats *out);

/*
 * For a handler serving a page many clients scrape (/metrics): answers resp with the shared page
 * of variant (< WEB_PAGE_VARIANTS, one per rendering: format x encoding), the newest one when it
 * is still being sent and younger than WEB_PAGE_SHARE_MS, else a new one from render(arg). The
 * handler sets status and headers as usual. Returns 0 (resp->page set); -EBUSY when
 * max_scrapes pages are being sent, or -ENOBUFS when the page would pass max_queued_bytes: resp
 * is then a 503 with Retry-After that closes the connection, counted and logged (at most one line
 * per WEB_REFUSAL_LOG_MS); or render's error, resp untouched.
 */
#define WEB_PAGE_SHARE_MS  1000u
#define WEB_REFUSAL_LOG_MS 60000u
int web_server_serve_page(struct web_server *s, struct web_response *resp, unsigned variant,
			  web_render_fn render, void *arg);

const char *web_status_reason(int status);
const char *web_refusal_name(enum web_refusal r); /* "scrapes", "queued_bytes" */

#endif
