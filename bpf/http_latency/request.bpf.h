/* http_latency/request.bpf.h — recognising HTTP/1.x request and status lines and FastCGI records in
 * the first bytes of a buffer. Plain C on fixed-size arrays: compiled into the BPF programs and run
 * through BPF_PROG_TEST_RUN wrappers (bpf/http_latency/http_latency_test.bpf.c) by the tests. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_REQUEST_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_REQUEST_BPF_H

#include "http_latency.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/*
 * API:
 *   Every function takes the first n bytes of a buffer copied into b (an
 *   array of HTTP_PEEK bytes; n <= HTTP_PEEK) and never reads past n.
 *   http_parse_method(): the method (enum http_method; unknown ones are
 *     OTHER) when b starts a request line: 3-10 upper-case letters, a space,
 *     then '/', '*' or 'h' (an absolute URI). -1 otherwise.
 *   http_parse_status(): the status code when b starts a status line
 *     "HTTP/1.0 NNN" or "HTTP/1.1 NNN" followed by a space, CR or the end of
 *     the peeked bytes. -1 otherwise.
 *   fcgi_parse_header(): version-1 FastCGI record header at b: type,
 *     content length and padding; -1 when b is not one.
 *   fcgi_parse_stdout_status(): for an FCGI_STDOUT record at b, the status
 *     from a leading "Status: NNN" header; 0 when the output starts without
 *     one (PHP sends 200 that way), -1 when b is not FCGI_STDOUT.
 */

#define FCGI_BEGIN_REQUEST 1
#define FCGI_END_REQUEST   3
#define FCGI_PARAMS	   4
#define FCGI_STDIN	   5
#define FCGI_STDOUT	   6
#define FCGI_HEADER_LEN	   8

static __always_inline int http_is_upper(__u8 c)
{
	return c >= 'A' && c <= 'Z';
}

static __always_inline int http_is_digit(__u8 c)
{
	return c >= '0' && c <= '9';
}

static __always_inline int http_known_method(const __u8 *b, __u32 len)
{
	__u8 c0 = b[0], c1 = b[1], c2 = b[2];

	switch (len) {
	case 3:
		if (c0 == 'G' && c1 == 'E' && c2 == 'T')
			return HTTP_METHOD_GET;
		if (c0 == 'P' && c1 == 'U' && c2 == 'T')
			return HTTP_METHOD_PUT;
		break;
	case 4:
		if (c0 == 'H' && c1 == 'E' && c2 == 'A' && b[3] == 'D')
			return HTTP_METHOD_HEAD;
		if (c0 == 'P' && c1 == 'O' && c2 == 'S' && b[3] == 'T')
			return HTTP_METHOD_POST;
		break;
	case 5:
		if (c0 == 'P' && c1 == 'A' && c2 == 'T' && b[3] == 'C' && b[4] == 'H')
			return HTTP_METHOD_PATCH;
		if (c0 == 'T' && c1 == 'R' && c2 == 'A' && b[3] == 'C' && b[4] == 'E')
			return HTTP_METHOD_TRACE;
		break;
	case 6:
		if (c0 == 'D' && c1 == 'E' && c2 == 'L' && b[3] == 'E' && b[4] == 'T' &&
		    b[5] == 'E')
			return HTTP_METHOD_DELETE;
		break;
	case 7:
		if (c0 == 'O' && c1 == 'P' && c2 == 'T' && b[3] == 'I' && b[4] == 'O' &&
		    b[5] == 'N' && b[6] == 'S')
			return HTTP_METHOD_OPTIONS;
		if (c0 == 'C' && c1 == 'O' && c2 == 'N' && b[3] == 'N' && b[4] == 'E' &&
		    b[5] == 'C' && b[6] == 'T')
			return HTTP_METHOD_CONNECT;
		break;
	}
	return HTTP_METHOD_OTHER;
}

static __always_inline int http_parse_method(const __u8 *b, __u32 n)
{
	__u32 len = 0;

	if (n > HTTP_PEEK)
		n = HTTP_PEEK;
	for (__u32 i = 0; i < 11; i++) {
		if (i >= n)
			return -1;
		if (b[i] == ' ') {
			len = i;
			break;
		}
		if (!http_is_upper(b[i]))
			return -1;
	}
	if (len < 3 || len + 1 >= n || len + 1 >= HTTP_PEEK)
		return -1;
	__u8 target = b[len + 1];
	if (target != '/' && target != '*' && target != 'h')
		return -1;
	return http_known_method(b, len);
}

/* Three digits at b[at..at+2] as a status 100-599, or -1. */
static __always_inline int http_three_digits(const __u8 *b, __u32 at)
{
	if (at + 2 >= HTTP_PEEK)
		return -1;
	__u8 d0 = b[at], d1 = b[at + 1], d2 = b[at + 2];
	if (!http_is_digit(d0) || !http_is_digit(d1) || !http_is_digit(d2) || d0 < '1' || d0 > '5')
		return -1;
	return (d0 - '0') * 100 + (d1 - '0') * 10 + (d2 - '0');
}

static __always_inline int http_parse_status(const __u8 *b, __u32 n)
{
	if (n > HTTP_PEEK)
		n = HTTP_PEEK;
	if (n < 12)
		return -1;
	if (b[0] != 'H' || b[1] != 'T' || b[2] != 'T' || b[3] != 'P' || b[4] != '/' ||
	    b[5] != '1' || b[6] != '.' || (b[7] != '0' && b[7] != '1') || b[8] != ' ')
		return -1;
	if (n > 12 && b[12] != ' ' && b[12] != '\r')
		return -1;
	return http_three_digits(b, 9);
}

static __always_inline int fcgi_parse_header(const __u8 *b, __u32 n, __u32 *content_len,
					     __u32 *padding)
{
	if (n < FCGI_HEADER_LEN || b[0] != 1 || b[1] < FCGI_BEGIN_REQUEST || b[1] > 11)
		return -1;
	*content_len = ((__u32)b[4] << 8) | b[5];
	*padding = b[6];
	return b[1];
}

static __always_inline int fcgi_parse_stdout_status(const __u8 *b, __u32 n)
{
	__u32 clen, pad;

	if (n > HTTP_PEEK)
		n = HTTP_PEEK;
	if (fcgi_parse_header(b, n, &clen, &pad) != FCGI_STDOUT)
		return -1;
	/* "Status: NNN" fills b[8..18] */
	if (clen < 11 || n < FCGI_HEADER_LEN + 11)
		return 0;
	if (b[8] != 'S' || b[9] != 't' || b[10] != 'a' || b[11] != 't' || b[12] != 'u' ||
	    b[13] != 's' || b[14] != ':' || b[15] != ' ')
		return 0;
	int status = http_three_digits(b, 16);
	return status < 0 ? 0 : status;
}

#endif
