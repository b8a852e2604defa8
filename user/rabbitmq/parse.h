/* rabbitmq/parse.h — queue records from RabbitMQ management API /api/queues responses. */
#ifndef HOSTMON_RABBITMQ_PARSE_H
#define HOSTMON_RABBITMQ_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   rmq_stream_new(list) starts parsing one response body of GET
 *   /api/queues; rmq_stream_set_limits() (before the first feed) bounds
 *   what it keeps; rmq_stream_feed() takes it in pieces of any size as they
 *   arrive (libcurl's write callback), rmq_stream_finish() checks it ended
 *   and, only then, fills the page info; rmq_stream_free() releases it.
 *   rmq_parse_page() is the same on a whole body in memory.
 *   rmq_stream_new_vhosts() parses a GET /api/vhosts listing the same way:
 *   an item needs only a string name (the vhost's), its vhost is "".
 *   rmq_list_append() moves src's records, and the arena holding their
 *   strings, to the end of dst (counts added) and leaves src empty; on
 *   -ENOMEM both lists are as they were. rmq_list_limit() keeps the first
 *   max records and counts the rest in dropped[RMQ_DROP_MAX_QUEUES] (their
 *   strings stay in the arena until the list is freed). rmq_list_fit()
 *   gives back the items array's unused capacity. No stream may be open on
 *   the lists.
 *
 *   The body is either the plain array of queue objects or the paged form
 *   ({"items": [...], "page": P, "page_count": N, ...}, keys in any order).
 *   Each queue object is appended to the list as soon as it closes, so
 *   memory follows the records kept, not the response. A queue object
 *   missing a field, or holding it with the wrong JSON type (or a negative
 *   or non-finite count), loses only that field: its bit in present stays
 *   clear, node/type/state become "", durable -1. Only top-level fields of
 *   a queue object count; nested values are skipped. An item that is not an
 *   object, or has no string name and vhost, is skipped and counted in
 *   list->skipped. When a key repeats, its first occurrence counts.
 *
 *   Limits: a string field is kept up to RMQ_MAX_NAME bytes (decoded); a
 *   longer name or vhost drops its item, counted in
 *   dropped[RMQ_DROP_NAME_TOO_LONG], a longer node, type, state or leader
 *   is lost alone (as a wrong type is). A kept number over RMQ_MAX_TOKEN
 *   bytes is no value either (a page number then makes the shape wrong).
 *   Beyond that no token has a length limit: what is only checked is never
 *   stored. An item that passes those checks and limits->want (NULL: every
 *   item) is appended while the list holds fewer than limits->max_items
 *   records, else counted in dropped[RMQ_DROP_MAX_QUEUES]; an item want
 *   refuses is neither kept nor counted. The defaults: no want, no
 *   max_items (SIZE_MAX). want sees the item with its defaults filled in;
 *   its strings are gone once it returns false.
 *
 *   Returns 0, -EBADMSG when the bytes are not JSON (including a document
 *   cut short at finish, bytes after it, a lone UTF-16 surrogate in a
 *   \u escape), -EPROTO when the JSON has the wrong shape or nests deeper
 *   than RMQ_MAX_DEPTH, -ENOMEM. The first problem in byte
 *   order decides the error, so a wrong shape is reported as soon as it is
 *   seen. Once a stream has failed, every later feed/finish returns the
 *   same error, and the list is back to what it was at rmq_stream_new():
 *   all or nothing per stream (and per rmq_parse_page call). A successful
 *   finish commits the records; bytes fed after it other than whitespace
 *   fail the stream with -EBADMSG but leave the committed records in place.
 *   String bytes are kept as sent (UTF-8 is not validated); a \u0000
 *   escape ends the C string there.
 *
 *   The list must outlive the stream and is not touched by anyone else
 *   while the stream is open. Strings live in the list's arena until
 *   rmq_list_free(). Besides the records, a stream holds one token buffer
 *   of RMQ_MAX_TOKEN bytes, whatever the size of the response; a list's
 *   memory is bounded by its records, RMQ_MAX_NAME per string (a vhost,
 *   node, type or state equal to the previous record's shares its copy).
 */

#define RMQ_MAX_DEPTH 64
#define RMQ_MAX_TOKEN (64 * 1024)
/* AMQP 0-9-1's short string: the longest queue or vhost name a client can use (RabbitMQ refuses
 * longer queue names: "queue should be less than 255 bytes") */
#define RMQ_MAX_NAME 255

enum rmq_value {
	RMQ_MESSAGES,
	RMQ_MESSAGES_READY,
	RMQ_MESSAGES_UNACKED,
	RMQ_CONSUMERS,
	RMQ_MESSAGE_BYTES,
	RMQ_MESSAGE_BYTES_READY,
	RMQ_MESSAGE_BYTES_UNACKED,
	RMQ_NVALUES,
};

/* The API's field name for each value, in enum order. */
extern const char *const rmq_value_fields[RMQ_NVALUES];

struct rmq_queue {
	const char *vhost;
	const char *name;
	const char *node;  /* "" when absent; a quorum queue's leader when it has no "node" */
	const char *type;  /* classic, quorum, stream; "" when absent */
	const char *state; /* running, down, ...; "" when absent */
	int8_t durable;	   /* 1, 0, or -1 when absent */
	uint16_t present;  /* bit i set: v[i] was in the response */
	double v[RMQ_NVALUES];
};

struct rmq_arena_chunk; /* the list's string arena, kept opaque by list.c */

/* Why an item was counted and not kept. */
enum rmq_drop {
	RMQ_DROP_MAX_QUEUES,	/* past limits->max_items */
	RMQ_DROP_NAME_TOO_LONG, /* its name or vhost is over RMQ_MAX_NAME bytes */
	RMQ_DROP_MAX,
};

/* The reason label of hostmon_rabbitmq_queues_dropped, in enum order. */
extern const char *const rmq_drop_names[RMQ_DROP_MAX];

struct rmq_list {
	struct rmq_queue *items;
	size_t len, cap;
	size_t skipped;
	size_t dropped[RMQ_DROP_MAX];
	struct rmq_arena_chunk *chunks;
};

struct rmq_limits {
	size_t max_items;
	bool (*want)(const struct rmq_queue *q, const void *arg);
	const void *arg; /* want's; must outlive the stream */
};

struct rmq_page_info {
	bool paged;
	long page, page_count;
};

struct rmq_stream;

struct rmq_stream *rmq_stream_new(struct rmq_list *out); /* NULL and errno on failure */
struct rmq_stream *rmq_stream_new_vhosts(struct rmq_list *out);
void rmq_stream_set_limits(struct rmq_stream *s, const struct rmq_limits *limits);
int rmq_stream_feed(struct rmq_stream *s, const char *data, size_t len);
int rmq_stream_finish(struct rmq_stream *s, struct rmq_page_info *info); /* info may be NULL */
void rmq_stream_free(struct rmq_stream *s);				 /* accepts NULL */

int rmq_parse_page(const char *body, size_t len, struct rmq_list *list, struct rmq_page_info *info);
int rmq_list_append(struct rmq_list *dst, struct rmq_list *src);
void rmq_list_limit(struct rmq_list *list, size_t max);
void rmq_list_fit(struct rmq_list *list);
void rmq_list_free(struct rmq_list *list); /* leaves an empty list */

#endif
