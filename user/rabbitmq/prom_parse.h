/* rabbitmq/prom_parse.h — queue records from the rabbitmq_prometheus plugin's
 * /metrics/detailed?vhost=V page, parsed as it streams. */
#ifndef HOSTMON_RABBITMQ_PROM_PARSE_H
#define HOSTMON_RABBITMQ_PROM_PARSE_H

#include <stddef.h>

#include "rabbitmq/parse.h"

/*
 * API:
 *   rmq_prom_stream_new(out, vhost) starts reading one response of GET
 *   /metrics/detailed?vhost=vhost&family=...; rmq_prom_stream_feed() takes
 *   it in pieces of any size, rmq_prom_stream_finish() checks it ended;
 *   rmq_prom_stream_free() accepts NULL. rmq_prom_stream_error() is why
 *   the stream failed, "line N: ..." (empty while it has not).
 *
 *   The plugin writes label values as they are, unescaped (a queue named
 *   a"b} 1 comes out as queue="a"b} 1"), so the labels are not read as the
 *   exposition format defines them: a queue sample must be exactly
 *   NAME{vhost="<the vhost asked for, byte for byte>",queue="<Q>"} VALUE,
 *   where Q runs to the last "} of the line. That is unambiguous because
 *   the vhost is known and a value holds no quote. RabbitMQ removes control
 *   characters from queue names, but not from vhost names: a vhost with a
 *   line break cannot be read (rmq_prom_vhost_readable() says so before
 *   anything is asked).
 *
 *   Families read (others are skipped): rabbitmq_detailed_queue_messages,
 *   _messages_ready, _messages_unacked, _consumers, _messages_bytes,
 *   _messages_ready_bytes, _messages_unacked_bytes, into the values of the
 *   same meaning; rabbitmq_identity_info's rabbitmq_node label is every
 *   record's node (the plugin lists the queues of the node it runs on).
 *   type and state are "", durable -1. A record is added when its queue is
 *   first seen; a value seen twice for a queue keeps the first; a negative
 *   or non-finite value is left out, as the JSON path does.
 *
 *   Returns 0, -EBADMSG for text that is not the format (a line that is
 *   neither a comment nor a sample, a bad value, a NUL byte, a line over
 *   RMQ_PROM_MAX_LINE bytes, bytes after the last newline at finish),
 *   -EPROTO for a page of the wrong shape (a queue sample for another vhost
 *   or without these labels, no rabbitmq_identity_info by the end: not the
 *   plugin's page, or cut short at a line's end), -ENOMEM. All or nothing:
 *   on failure the list is as it was at rmq_prom_stream_new(), and later
 *   calls return the same error. Memory: the records, one partial line and
 *   an index of the stream's queues.
 */

#define RMQ_PROM_MAX_LINE (64 * 1024)

struct rmq_prom_stream;

struct rmq_prom_stream *rmq_prom_stream_new(struct rmq_list *out, const char *vhost);
int rmq_prom_stream_feed(struct rmq_prom_stream *s, const char *data, size_t len);
int rmq_prom_stream_finish(struct rmq_prom_stream *s);
const char *rmq_prom_stream_error(const struct rmq_prom_stream *s);
void rmq_prom_stream_free(struct rmq_prom_stream *s);
bool rmq_prom_vhost_readable(const char *vhost);

#endif
