/* fuzz_rabbitmq_prom.c — libFuzzer harness for the rabbitmq_prometheus page parser
 * (user/rabbitmq/prom_parse.c, with the line splitter of user/exposition/expo_parse.c). */
#include "rabbitmq/prom_parse.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The vhost asked for: the first byte picks one, odd names included. */
static const char *const vhosts[] = { "/", "v \"x\" \\ \xc3\xbc", "a,b}c=\"d\"", "" };

static int parse(const char *vhost, const char *body, size_t len, size_t piece,
		 struct rmq_list *list)
{
	struct rmq_prom_stream *s = rmq_prom_stream_new(list, vhost);
	int rc = 0;

	if (!s)
		return -ENOMEM;
	for (size_t off = 0; off < len && rc == 0; off += piece)
		rc = rmq_prom_stream_feed(s, body + off, len - off < piece ? len - off : piece);
	if (rc == 0)
		rc = rmq_prom_stream_finish(s);
	if (rc && !rmq_prom_stream_error(s)[0] && rc != -ENOMEM)
		abort(); /* a refusal always says why */
	rmq_prom_stream_free(s);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rmq_list whole = { 0 }, streamed = { 0 };
	const char *vhost = vhosts[size ? data[0] % 4 : 0];

	if (size) {
		data++;
		size--;
	}
	char *body = malloc(size ? size : 1); /* exactly size bytes: ASan sees reads past the end */
	if (!body)
		return 0;
	memcpy(body, data, size);
	int rc_whole = parse(vhost, body, size, size ? size : 1, &whole);
	int rc_streamed = parse(vhost, body, size, size % 61 + 1, &streamed);
	if (rc_whole != 0 && rc_whole != -EBADMSG && rc_whole != -EPROTO && rc_whole != -ENOMEM)
		abort();
	/* how the body is cut into pieces changes nothing; a failure leaves no record */
	if (rc_whole != rc_streamed || whole.len != streamed.len || (rc_whole && whole.len))
		abort();
	for (size_t i = 0; i < whole.len; i++)
		if (strcmp(whole.items[i].name, streamed.items[i].name) != 0 ||
		    strcmp(whole.items[i].vhost, vhost) != 0 ||
		    whole.items[i].present != streamed.items[i].present)
			abort();
	rmq_list_free(&whole);
	rmq_list_free(&streamed);
	free(body);
	return 0;
}
