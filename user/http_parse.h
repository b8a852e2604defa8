/* http_parse.h — incremental HTTP/1.x request-head parsing and content negotiation. */
#ifndef HOSTMON_HTTP_PARSE_H
#define HOSTMON_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * API:
 *   http_parse_request() looks at the bytes received so far on a connection
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

enum http_method {
	HTTP_GET,
	HTTP_HEAD,
	HTTP_OTHER, /* a syntactically valid token that is neither: answer 405 */
};

struct http_request {
	enum http_method method;
	const char *path; /* origin-form target without the query string */
	size_t path_len;
	int minor_version; /* 0 or 1 */
	bool keep_alive;   /* after Connection header and version defaults */
	bool has_body;
	bool want_openmetrics; /* Accept prefers application/openmetrics-text */
	bool want_gzip;	       /* Accept-Encoding allows gzip */
};

int http_parse_request(const char *buf, size_t len, size_t max_head, struct http_request *req);

/* Content negotiation on one header value (not NUL-terminated). */
bool http_accept_prefers_openmetrics(const char *value, size_t len);
bool http_accept_encoding_allows_gzip(const char *value, size_t len);

#endif
