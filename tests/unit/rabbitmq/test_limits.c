/* test_limits.c — what the RabbitMQ parser keeps of a response (the name limit, the queue cap,
 * the filter) and counts instead, whatever the length of a token on the wire. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "rabbitmq/parse.h"
#include "test.h"

struct body {
	char *p;
	size_t len, cap;
};

static void put(struct body *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p)
			abort();
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void put_str(struct body *b, const char *s)
{
	put(b, s, strlen(s));
}

static void put_times(struct body *b, const char *unit, size_t times)
{
	for (size_t i = 0; i < times; i++)
		put_str(b, unit);
}

/* Parses a whole body in pieces of chunk bytes (0: one piece), with lim unless NULL. */
static int parse_with(struct rmq_list *l, const struct body *b, size_t chunk,
		      const struct rmq_limits *lim, bool vhosts)
{
	struct rmq_stream *s = vhosts ? rmq_stream_new_vhosts(l) : rmq_stream_new(l);
	int rc = 0;

	if (!s)
		return -ENOMEM;
	if (lim)
		rmq_stream_set_limits(s, lim);
	for (size_t off = 0; off < b->len && !rc;) {
		size_t n = chunk && chunk < b->len - off ? chunk : b->len - off;
		rc = rmq_stream_feed(s, b->p + off, n);
		off += n;
	}
	if (!rc)
		rc = rmq_stream_finish(s, NULL);
	rmq_stream_free(s);
	return rc;
}

static const size_t chunks[] = { 0, 1, 7, 100, 16384 };
#define NCHUNKS (sizeof(chunks) / sizeof(chunks[0]))

/* A name or vhost over RMQ_MAX_NAME decoded bytes drops its queue, counted; at the limit it is
 * kept. Escapes count as what they decode to. */
static void test_name_limit(void)
{
	static const char *const fields[] = { "name", "vhost" };
	for (int f = 0; f < 2; f++) {
		for (size_t len = RMQ_MAX_NAME; len <= RMQ_MAX_NAME + 1; len++) {
			for (int escaped = 0; escaped <= 1; escaped++) {
				struct body b = { 0 };
				put_str(&b, "[{\"name\":\"a\",\"vhost\":\"/\"},{");
				put_str(&b, f ? "\"name\":\"b\"," : "\"vhost\":\"/\",");
				put_str(&b, f ? "\"vhost\":\"" : "\"name\":\"");
				put_times(&b, escaped ? "\\u0078" : "x", len);
				put_str(&b, "\"},{\"name\":\"z\",\"vhost\":\"/\"}]");
				for (size_t c = 0; c < NCHUNKS; c++) {
					struct rmq_list l = { 0 };
					int rc = parse_with(&l, &b, chunks[c], NULL, false);
					bool kept = len <= RMQ_MAX_NAME;
					const char *got =
						l.len == 3 ? f ? l.items[1].vhost : l.items[1].name
							   : "";
					CHECK(rc == 0 &&
						      (kept ? l.len == 3 && strlen(got) == len &&
								       !l.dropped
										[RMQ_DROP_NAME_TOO_LONG]
							    : l.len == 2 &&
								       l.dropped[RMQ_DROP_NAME_TOO_LONG] ==
									       1 &&
								       strcmp(l.items[1].name,
									      "z") == 0) &&
						      !l.dropped[RMQ_DROP_MAX_QUEUES] && !l.skipped,
					      "%s of %zu bytes (escaped %d, chunk %zu): rc %d, %zu "
					      "kept, "
					      "%zu too long",
					      fields[f], len, escaped, chunks[c], rc, l.len,
					      l.dropped[RMQ_DROP_NAME_TOO_LONG]);
					rmq_list_free(&l);
				}
				free(b.p);
			}
		}
	}

	/* the vhost listing: a vhost name over the limit is dropped the same way */
	struct body b = { 0 };
	put_str(&b, "[{\"name\":\"/\"},{\"name\":\"");
	put_times(&b, "v", RMQ_MAX_NAME + 1);
	put_str(&b, "\"}]");
	struct rmq_list l = { 0 };
	CHECK(parse_with(&l, &b, 7, NULL, true) == 0 && l.len == 1 &&
		      l.dropped[RMQ_DROP_NAME_TOO_LONG] == 1,
	      "a vhost listing drops a vhost name over the limit: %zu kept", l.len);
	rmq_list_free(&l);
	free(b.p);
}

/* node, type, state and leader over the limit are lost alone: the queue stays. */
static void test_other_fields_over(void)
{
	static const char *const fields[] = { "node", "type", "state", "leader" };
	for (int f = 0; f < 4; f++) {
		struct body b = { 0 };
		put_str(&b, "[{\"name\":\"q\",\"vhost\":\"/\",\"messages\":3,\"");
		put_str(&b, fields[f]);
		put_str(&b, "\":\"");
		put_times(&b, "n", RMQ_MAX_NAME + 1);
		put_str(&b, "\"}]");
		for (size_t c = 0; c < NCHUNKS; c++) {
			struct rmq_list l = { 0 };
			int rc = parse_with(&l, &b, chunks[c], NULL, false);
			const struct rmq_queue *q = l.len == 1 ? &l.items[0] : NULL;
			CHECK(rc == 0 && q && !*q->node && !*q->type && !*q->state &&
				      q->v[RMQ_MESSAGES] == 3 && !l.dropped[RMQ_DROP_NAME_TOO_LONG],
			      "%s over the limit (chunk %zu): the queue kept without it", fields[f],
			      chunks[c]);
			rmq_list_free(&l);
		}
		free(b.p);
	}
}

/*
 * No token is too long on the wire: a 1 MiB queue name is one dropped queue,
 * a 1 MiB value or key nobody keeps is checked and skipped, and neither
 * fails the response.
 */
static void test_long_tokens(void)
{
	struct body b = { 0 };
	size_t mib = 1u << 20;

	put_str(&b, "[{\"name\":\"a\",\"vhost\":\"/\"},{\"vhost\":\"/\",\"name\":\"");
	put_times(&b, "x", mib);
	put_str(&b, "\"},{\"name\":\"b\",\"vhost\":\"/\",\"arguments\":{\"x-long\":\"");
	put_times(&b, "y", mib);
	put_str(&b, "\"},\"");
	put_times(&b, "k", mib);
	put_str(&b, "\":1,\"messages\":");
	put_times(&b, "7", mib);
	put_str(&b, ",\"consumers\":2}]");
	for (size_t c = 0; c < NCHUNKS; c++) {
		struct rmq_list l = { 0 };
		int rc = parse_with(&l, &b, chunks[c], NULL, false);
		CHECK(rc == 0 && l.len == 2 && strcmp(l.items[1].name, "b") == 0 &&
			      l.dropped[RMQ_DROP_NAME_TOO_LONG] == 1 &&
			      !(l.items[1].present & 1u << RMQ_MESSAGES) &&
			      l.items[1].v[RMQ_CONSUMERS] == 2,
		      "1 MiB tokens (chunk %zu): rc %d, %zu kept, %zu too long", chunks[c], rc,
		      l.len, l.dropped[RMQ_DROP_NAME_TOO_LONG]);
		rmq_list_free(&l);
	}
	free(b.p);
}

/* A key that begins like one looked for but goes on is another key, however it is split. */
static void test_long_keys(void)
{
	static const char body[] = "[{\"name\":\"q\",\"vhost\":\"/\","
				   "\"message_bytes_unacknowledgedXYZ\":5,"
				   "\"messagesmessagesmessagesmessagesmessages\":6,"
				   "\"message_bytes_unacknowledged\":7}]";
	struct body b = { (char *)body, strlen(body), 0 };
	bool ok = true;

	for (size_t chunk = 0; chunk <= 40; chunk++) {
		struct rmq_list l = { 0 };
		int rc = parse_with(&l, &b, chunk, NULL, false);
		ok = ok && rc == 0 && l.len == 1 &&
		     l.items[0].present == 1u << RMQ_MESSAGE_BYTES_UNACKED &&
		     l.items[0].v[RMQ_MESSAGE_BYTES_UNACKED] == 7;
		rmq_list_free(&l);
	}
	CHECK(ok, "longer keys that start like known ones are not them, in any pieces");
}

/* A kept number: RMQ_MAX_TOKEN bytes are a value, one more is none (a page number: wrong shape). */
static void test_long_numbers(void)
{
	for (size_t len = RMQ_MAX_TOKEN; len <= RMQ_MAX_TOKEN + 1; len++) {
		struct body b = { 0 }, p = { 0 };
		/* 0.000...01: underflows to 0, a valid count */
		put_str(&b, "[{\"name\":\"q\",\"vhost\":\"/\",\"messages\":0.");
		put_times(&b, "0", len - 3);
		put_str(&b, "1}]");
		put_str(&p, "{\"items\":[],\"page_count\":1,\"page\":1.");
		put_times(&p, "0", len - 2);
		put_str(&p, "}");
		for (size_t c = 0; c < NCHUNKS; c++) {
			struct rmq_list l = { 0 };
			int rc = parse_with(&l, &b, chunks[c], NULL, false);
			bool value = len <= RMQ_MAX_TOKEN;
			CHECK(rc == 0 && l.len == 1 &&
				      !!(l.items[0].present & 1u << RMQ_MESSAGES) == value,
			      "a count of %zu bytes (chunk %zu): rc %d, present %d", len, chunks[c],
			      rc, l.len ? l.items[0].present : -1);
			rmq_list_free(&l);
			rc = parse_with(&l, &p, chunks[c], NULL, false);
			CHECK(value ? rc == 0 : rc == -EPROTO, "a page number of %zu bytes: %d",
			      len, rc);
			rmq_list_free(&l);
		}
		free(b.p);
		free(p.p);
	}
}

static bool starts_keep(const struct rmq_queue *q, const void *arg)
{
	const char *prefix = arg;
	return strncmp(q->name, prefix, strlen(prefix)) == 0;
}

/* Records stop at max_items, counting the rest; want's refusals are neither kept nor counted. */
static void test_cap_and_want(void)
{
	struct body b = { 0 };
	char item[128];

	put_str(&b, "[");
	for (int i = 0; i < 10; i++) {
		snprintf(item, sizeof(item),
			 "%s{\"name\":\"%s%d\",\"vhost\":\"/\",\"messages\":%d}", i ? "," : "",
			 i % 2 ? "other" : "keep", i, i);
		put_str(&b, item);
	}
	put_str(&b, ",{\"vhost\":\"/\"},{\"vhost\":\"/\",\"name\":\"");
	put_times(&b, "x", RMQ_MAX_NAME + 1);
	put_str(&b, "\"}]");

	for (size_t c = 0; c < NCHUNKS; c++) {
		struct rmq_list l = { 0 };
		struct rmq_limits lim = { 3, NULL, NULL };
		int rc = parse_with(&l, &b, chunks[c], &lim, false);
		CHECK(rc == 0 && l.len == 3 && l.cap <= 3 && l.items[2].v[RMQ_MESSAGES] == 2 &&
			      l.dropped[RMQ_DROP_MAX_QUEUES] == 7 &&
			      l.dropped[RMQ_DROP_NAME_TOO_LONG] == 1 && l.skipped == 1,
		      "cap 3 (chunk %zu): %zu kept (array of %zu), %zu over the cap, %zu too long, "
		      "%zu skipped",
		      chunks[c], l.len, l.cap, l.dropped[RMQ_DROP_MAX_QUEUES],
		      l.dropped[RMQ_DROP_NAME_TOO_LONG], l.skipped);
		/* the cap counts what the list already holds */
		rc = parse_with(&l, &b, chunks[c], &(struct rmq_limits){ 4, NULL, NULL }, false);
		CHECK(rc == 0 && l.len == 4 && l.dropped[RMQ_DROP_MAX_QUEUES] == 7 + 9,
		      "a second stream into the same list keeps only up to the cap: %zu", l.len);
		rmq_list_free(&l);

		lim = (struct rmq_limits){ 3, starts_keep, "keep" };
		rc = parse_with(&l, &b, chunks[c], &lim, false);
		CHECK(rc == 0 && l.len == 3 && strcmp(l.items[2].name, "keep4") == 0 &&
			      l.dropped[RMQ_DROP_MAX_QUEUES] == 2,
		      "filtered, then capped (chunk %zu): %zu kept, %zu over the cap", chunks[c],
		      l.len, l.dropped[RMQ_DROP_MAX_QUEUES]);
		rmq_list_free(&l);

		lim = (struct rmq_limits){ SIZE_MAX, starts_keep, "nothing" };
		rc = parse_with(&l, &b, chunks[c], &lim, false);
		CHECK(rc == 0 && l.len == 0 && l.chunks == NULL && !l.dropped[RMQ_DROP_MAX_QUEUES],
		      "all refused: nothing kept, counted or left in the arena");
		rmq_list_free(&l);
	}
	free(b.p);
}

/* A failed stream takes its counts back with its records. */
static void test_counts_roll_back(void)
{
	static const char good[] =
		"[{\"name\":\"a\",\"vhost\":\"/\"},{\"name\":\"b\",\"vhost\":\"/\"}]";
	static const char bad[] =
		"[{\"name\":\"c\",\"vhost\":\"/\"},{\"name\":\"d\",\"vhost\":\"/\"},x";
	struct body g = { (char *)good, strlen(good), 0 }, x = { (char *)bad, strlen(bad), 0 };
	struct rmq_limits lim = { 1, NULL, NULL };
	struct rmq_list l = { 0 };

	CHECK(parse_with(&l, &g, 0, &lim, false) == 0 && l.len == 1 &&
		      l.dropped[RMQ_DROP_MAX_QUEUES] == 1,
	      "one kept, one over the cap");
	lim.max_items = 2;
	CHECK(parse_with(&l, &x, 0, &lim, false) == -EBADMSG && l.len == 1 &&
		      l.dropped[RMQ_DROP_MAX_QUEUES] == 1 && strcmp(l.items[0].name, "a") == 0,
	      "a failed stream: records and counts as before it: %zu, %zu", l.len,
	      l.dropped[RMQ_DROP_MAX_QUEUES]);
	rmq_list_free(&l);
}

/* Repeated vhost, node, type and state share one copy; a dropped item's copy is not reused. */
static void test_shared_values(void)
{
	struct body b = { 0 };
	put_str(&b, "[{\"name\":\"q1\",\"vhost\":\"/\",\"node\":\"n1\",\"type\":\"classic\","
		    "\"state\":\"running\"},"
		    "{\"name\":\"q2\",\"vhost\":\"/\",\"node\":\"n2\",\"type\":\"classic\","
		    "\"state\":\"running\"},"
		    "{\"vhost\":\"v3\",\"node\":\"n3\",\"name\":\"");
	put_times(&b, "x", RMQ_MAX_NAME + 1);
	put_str(&b, "\"},{\"name\":\"q4\",\"vhost\":\"v3\",\"node\":\"n3\",\"type\":\"classic\"},"
		    "{\"name\":\"q5\",\"vhost\":\"v3\",\"leader\":\"n3\"}]");
	for (size_t c = 0; c < NCHUNKS; c++) {
		struct rmq_list l = { 0 };
		int rc = parse_with(&l, &b, chunks[c], NULL, false);
		const struct rmq_queue *q = l.items;
		CHECK(rc == 0 && l.len == 4, "4 kept: %d %zu", rc, l.len);
		if (l.len != 4)
			continue;
		CHECK(q[0].vhost == q[1].vhost && q[0].type == q[1].type &&
			      q[0].state == q[1].state && q[0].type == q[2].type &&
			      q[2].vhost == q[3].vhost,
		      "equal values share a copy (chunk %zu)", chunks[c]);
		CHECK(strcmp(q[0].node, "n1") == 0 && strcmp(q[1].node, "n2") == 0 &&
			      strcmp(q[2].vhost, "v3") == 0 && strcmp(q[2].node, "n3") == 0 &&
			      strcmp(q[3].node, "n3") == 0 && !*q[3].type && !*q[3].state,
		      "and each record has its own values (chunk %zu)", chunks[c]);
		rmq_list_free(&l);
	}
	free(b.p);
}

/* list.c: the cap applied to a finished list, its array fitted, and counts added on append. */
static void test_list_limit_fit_append(void)
{
	static const char body[] =
		"[{\"name\":\"a\",\"vhost\":\"/\"},{\"name\":\"b\",\"vhost\":\"/\"},"
		"{\"name\":\"c\",\"vhost\":\"/\"}]";
	struct body b = { (char *)body, strlen(body), 0 };
	struct rmq_list one = { 0 }, all = { 0 };

	CHECK(parse_with(&one, &b, 0, NULL, false) == 0 && one.len == 3, "three");
	rmq_list_limit(&one, 5);
	CHECK(one.len == 3 && !one.dropped[RMQ_DROP_MAX_QUEUES],
	      "a limit above len changes nothing");
	rmq_list_limit(&one, 2);
	CHECK(one.len == 2 && one.dropped[RMQ_DROP_MAX_QUEUES] == 1, "limit 2: one counted");
	rmq_list_fit(&one);
	CHECK(one.cap == 2 && strcmp(one.items[1].name, "b") == 0, "fitted: cap %zu", one.cap);
	const struct rmq_queue *array = one.items;
	one.dropped[RMQ_DROP_NAME_TOO_LONG] = 4;
	CHECK(rmq_list_append(&all, &one) == 0 && all.items == array && all.len == 2 &&
		      all.dropped[RMQ_DROP_MAX_QUEUES] == 1 &&
		      all.dropped[RMQ_DROP_NAME_TOO_LONG] == 4 && !one.len && !one.items &&
		      !one.dropped[RMQ_DROP_MAX_QUEUES],
	      "the first append takes the array as it is, and the counts");
	CHECK(parse_with(&one, &b, 0, NULL, false) == 0 && rmq_list_append(&all, &one) == 0 &&
		      all.len == 5 && strcmp(all.items[4].name, "c") == 0 &&
		      all.dropped[RMQ_DROP_MAX_QUEUES] == 1,
	      "a second append copies after them");
	rmq_list_limit(&all, 0);
	rmq_list_fit(&all);
	CHECK(all.len == 0 && all.items == NULL && all.dropped[RMQ_DROP_MAX_QUEUES] == 6,
	      "limit 0 and fit: an empty array");
	rmq_list_free(&all);
	CHECK(!all.dropped[RMQ_DROP_MAX_QUEUES] && !all.chunks, "free leaves an empty list");
}

int main(void)
{
	test_name_limit();
	test_other_fields_over();
	test_long_tokens();
	test_long_keys();
	test_long_numbers();
	test_cap_and_want();
	test_counts_roll_back();
	test_shared_values();
	test_list_limit_fit_append();
	return test_summary("rabbitmq/test_limits");
}
