/* fuzz_request.c — libFuzzer harness for the HTTP request-head parser (user/web/request.c). */
#include "web/request.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The server's own head limit is 8 KiB; a smaller one also exercises -EMSGSIZE often. */
#define FUZZ_MAX_HEAD 8192

static void check_result(const char *buf, size_t len, int rc, const struct web_request *req)
{
	if (rc > 0) {
		/* A parsed head lies inside the bytes given, and its path inside the head
		 * (or is the constant "/" that an absolute-form target without a path means). */
		bool constant_root = req->path_len == 1 && !strcmp(req->path, "/");

		if ((size_t)rc > len || (size_t)rc > FUZZ_MAX_HEAD)
			abort();
		if (!constant_root && (req->path < buf || req->path + req->path_len > buf + rc))
			abort();
		if (req->minor_version != 0 && req->minor_version != 1)
			abort();
		return;
	}
	if (rc != 0 && rc != -EMSGSIZE && rc != -EBADMSG && rc != -EPROTONOSUPPORT)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any read past the end. */
	char *buf = malloc(size ? size : 1);
	struct web_request req;
	int rc;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	memset(&req, 0, sizeof(req));
	rc = web_request_parse(buf, size, FUZZ_MAX_HEAD, &req);
	check_result(buf, size, rc, &req);
	/* The server calls the parser again as bytes arrive: every prefix must agree (0 or the
	 * same). */
	if (size > 1) {
		struct web_request half;
		int rc_half = web_request_parse(buf, size / 2, FUZZ_MAX_HEAD, &half);

		check_result(buf, size / 2, rc_half, &half);
		if (rc_half > 0 && rc != rc_half)
			abort();
	}
	web_accept_prefers_openmetrics(buf, size);
	web_accept_encoding_allows_gzip(buf, size);
	free(buf);
	return 0;
}
