/* rabbitmq/bodies.c — how a response body is read as it streams: the management API's JSON, the
 * Prometheus plugin's text, or kept whole (small documents such as /api/overview). */
#include "rabbitmq/bodies.h"

#include <errno.h>
#include <stdio.h>

#include "rabbitmq/prom_parse.h"

static void *json_open(struct rmq_list *out, struct buf *raw, const char *vhost,
		       const struct rmq_limits *lim)
{
	(void)raw;
	struct rmq_stream *s = vhost ? rmq_stream_new(out) : rmq_stream_new_vhosts(out);
	if (s && lim)
		rmq_stream_set_limits(s, lim);
	return s;
}

static int json_feed(void *s, const char *data, size_t len)
{
	return rmq_stream_feed(s, data, len);
}

static int json_finish(void *s)
{
	return rmq_stream_finish(s, NULL);
}

static void json_close(void *s)
{
	rmq_stream_free(s);
}

static enum rmq_reason json_why(void *s, int rc, const char *vhost, char *detail, size_t len)
{
	(void)s;
	if (rc == -EBADMSG) {
		snprintf(detail, len, "response is not valid JSON (or was cut short)");
		return RMQ_REASON_INVALID_JSON;
	}
	snprintf(detail, len, "%s",
		 vhost ? "JSON is not a queue listing" : "JSON is not a vhost listing");
	return RMQ_REASON_UNEXPECTED_RESPONSE;
}

const struct rmq_body_parser rmq_json_parser = { json_open, json_feed, json_finish, json_close,
						 json_why };

/* lim is applied by the fetcher when the response ends: a queue's families come in several places
 * of the page, so whether it is past the cap is known only at the end */
static void *prom_open(struct rmq_list *out, struct buf *raw, const char *vhost,
		       const struct rmq_limits *lim)
{
	(void)raw;
	(void)lim;
	return rmq_prom_stream_new(out, vhost);
}

static int prom_feed(void *s, const char *data, size_t len)
{
	return rmq_prom_stream_feed(s, data, len);
}

static int prom_finish(void *s)
{
	return rmq_prom_stream_finish(s);
}

static void prom_close(void *s)
{
	rmq_prom_stream_free(s);
}

static enum rmq_reason prom_why(void *s, int rc, const char *vhost, char *detail, size_t len)
{
	(void)vhost;
	snprintf(detail, len, "%s", rmq_prom_stream_error(s));
	return rc == -EBADMSG ? RMQ_REASON_INVALID_TEXT : RMQ_REASON_UNEXPECTED_RESPONSE;
}

const struct rmq_body_parser rmq_prom_parser = { prom_open, prom_feed, prom_finish, prom_close,
						 prom_why };

static void *raw_open(struct rmq_list *out, struct buf *raw, const char *vhost,
		      const struct rmq_limits *lim)
{
	(void)out;
	(void)lim;
	(void)vhost;
	return raw;
}

static int raw_feed(void *s, const char *data, size_t len)
{
	buf_append(s, data, len);
	return ((struct buf *)s)->err;
}

static int raw_finish(void *s)
{
	buf_putc(s, '\0'); /* a C string for the caller's parser; not counted in len */
	((struct buf *)s)->len--;
	return ((struct buf *)s)->err;
}

static void raw_close(void *s)
{
	(void)s; /* the job owns the buffer */
}

static enum rmq_reason raw_why(void *s, int rc, const char *vhost, char *detail, size_t len)
{
	(void)s;
	(void)rc;
	(void)vhost;
	snprintf(detail, len, "out of memory");
	return RMQ_REASON_TRANSFER;
}

const struct rmq_body_parser rmq_raw_parser = { raw_open, raw_feed, raw_finish, raw_close,
						raw_why };
