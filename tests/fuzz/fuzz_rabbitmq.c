/* fuzz_rabbitmq.c — libFuzzer harness for the RabbitMQ response parser (user/rabbitmq/parse.c). */
#include "rabbitmq/parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Feeds body in pieces of `piece` bytes (libcurl's write callback hands over any size). */
static int parse_streamed(bool vhosts, const char *body, size_t len, size_t piece,
			  struct rmq_list *list)
{
	struct rmq_stream *s = vhosts ? rmq_stream_new_vhosts(list) : rmq_stream_new(list);
	struct rmq_page_info info;
	int rc = 0;

	if (!s)
		return -errno;
	for (size_t off = 0; off < len && rc == 0; off += piece) {
		size_t n = len - off < piece ? len - off : piece;

		rc = rmq_stream_feed(s, body + off, n);
	}
	if (rc == 0)
		rc = rmq_stream_finish(s, &info);
	rmq_stream_free(s);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rmq_list whole = { 0 }, streamed = { 0 };
	struct rmq_page_info info;
	bool vhosts;
	size_t piece;
	char *body;
	int rc_whole, rc_streamed;

	/* A leading 'V' makes it a vhosts listing, so the fixtures (JSON) seed both as they are;
	 * the piece size of the stream varies with the length. */
	vhosts = size > 0 && data[0] == 'V';
	if (vhosts) {
		data++;
		size--;
	}
	piece = size % 61 + 1;
	body = malloc(size ? size : 1); /* exactly size bytes: ASan sees reads past the end */
	if (!body)
		return 0;
	memcpy(body, data, size);

	rc_whole = vhosts ? parse_streamed(true, body, size, size ? size : 1, &whole)
			  : rmq_parse_page(body, size, &whole, &info);
	rc_streamed = parse_streamed(vhosts, body, size, piece, &streamed);
	if (rc_whole != 0 && rc_whole != -EBADMSG && rc_whole != -EPROTO && rc_whole != -ENOMEM)
		abort();
	/* How the body is cut into pieces changes nothing: same result, same records. */
	if (rc_whole != rc_streamed || whole.len != streamed.len ||
	    whole.skipped != streamed.skipped)
		abort();
	/* All or nothing: a failed parse leaves the list empty. */
	if (rc_whole != 0 && whole.len != 0)
		abort();
	for (size_t i = 0; i < whole.len; i++) {
		if (strcmp(whole.items[i].name, streamed.items[i].name) ||
		    strcmp(whole.items[i].vhost, streamed.items[i].vhost))
			abort();
	}
	rmq_list_free(&whole);
	rmq_list_free(&streamed);
	free(body);
	return 0;
}
