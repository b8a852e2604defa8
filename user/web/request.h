/* web/request.h — incremental HTTP/1.x request-head parsing and content negotiation. */
#ifndef HOSTMON_WEB_REQUEST_H
#define HOSTMON_WEB_REQUEST_H

#include <stdbool.h>
#include <stddef.h>

/*
 * API:
 *   web_request_parse() looks at the bytes received so far on a connection
 *   and, once the whole request head (request line + headers + empty line)
 *   is present, fills *req and returns the head's length in bytes (> 0).
 *   It returns 0 when more bytes are needed, -EMSGSIZE when the head is
 *   (or would become) longer than max_head without being complete (answer
 *   431), -EBADMSG when the bytes are not an HTTP/1.x request head
 *   (answer 400), -EPROTONOSUPPORT for a well-formed request line with an
 *   HTTP version other than 1.0/1.1 (answer 505). *req is written only
 *   when the return value is > 0. Pointers in *req point into buf.
 *
 *   Accepted line endings: CRLF, and bare LF (as most servers do).
 *   Request body: this server answers only GET and HEAD; has_body tells the
 *   caller that a body follows (Content-Length > 0 or any
 *   Transfer-Encoding), so it can answer and close instead of parsing it.
 */

enum web_method {
	WEB_GET,
	WEB_HEAD,
	WEB_OTHER, /* a syntactically valid token that is neither: answer 405 */
};

struct web_request {
	enum web_method method;
	const char *path; /* origin-form target without the query string */
	size_t path_len;
	int minor_version; /* 0 or 1 */
	bool keep_alive;   /* after Connection header and version defaults */
	bool has_body;
	bool want_openmetrics; /* Accept prefers application/openmetrics-text */
	bool want_gzip;	       /* Accept-Encoding allows gzip */
};

int web_request_parse(const char *buf, size_t len, size_t max_head, struct web_request *req);

/* Content negotiation on one header value (not NUL-terminated). */
bool web_accept_prefers_openmetrics(const char *value, size_t len);
bool web_accept_encoding_allows_gzip(const char *value, size_t len);

#endif
