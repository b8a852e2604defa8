/* fuzz_rabbitmq.c — libFuzzer harness for the RabbitMQ response parser (user/rabbitmq/parse.c). */
#include "rabbitmq/parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Feeds body in pieces of `piece` bytes (libcurl's write callback hands over any size). */
static int parse_streamed(bool vhosts, const char *body, size_t len, size_t piece,
			  const struct rmq_limits *lim, struct rmq_list *list)
{
	struct rmq_stream *s = vhosts ? rmq_stream_new_vhosts(list) : rmq_stream_new(list);
	struct rmq_page_info info;
	int rc = 0;

	if (!s)
		return -errno;
	if (lim)
		rmq_stream_set_limits(s, lim);
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

	/* every third input under a queue cap that the length picks, the whole parse then streamed
	 * too (rmq_parse_page has no limits) */
	struct rmq_limits cap = { size / 3 % 5 };
	const struct rmq_limits *lim = size % 3 ? NULL : &cap;
	rc_whole = vhosts || lim ? parse_streamed(vhosts, body, size, size ? size : 1, lim, &whole)
				 : rmq_parse_page(body, size, &whole, &info);
	rc_streamed = parse_streamed(vhosts, body, size, piece, lim, &streamed);
	if (rc_whole != 0 && rc_whole != -EBADMSG && rc_whole != -EPROTO && rc_whole != -ENOMEM)
		abort();
	/* How the body is cut into pieces changes nothing: same result, same records. */
	if (rc_whole != rc_streamed || whole.len != streamed.len ||
	    whole.skipped != streamed.skipped ||
	    memcmp(whole.dropped, streamed.dropped, sizeof(whole.dropped)) != 0)
		abort();
	/* All or nothing: a failed parse leaves the list empty, counts included. */
	if (rc_whole != 0 && (whole.len != 0 || whole.dropped[RMQ_DROP_MAX_QUEUES] ||
			      whole.dropped[RMQ_DROP_NAME_TOO_LONG]))
		abort();
	/* Never more than the cap, and no string kept longer than the name limit. */
	if (lim && whole.len > lim->max_items)
		abort();
	for (size_t i = 0; i < whole.len; i++) {
		if (strcmp(whole.items[i].name, streamed.items[i].name) ||
		    strcmp(whole.items[i].vhost, streamed.items[i].vhost) ||
		    strcmp(whole.items[i].node, streamed.items[i].node) ||
		    strlen(whole.items[i].name) > RMQ_MAX_NAME ||
		    strlen(whole.items[i].node) > RMQ_MAX_NAME)
			abort();
	}
	rmq_list_free(&whole);
	rmq_list_free(&streamed);
	free(body);
	return 0;
}
