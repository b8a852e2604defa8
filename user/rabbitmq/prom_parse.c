/* rabbitmq/prom_parse.c — queue records from the rabbitmq_prometheus plugin's per-vhost page,
 * line by line as it arrives. */
#include "rabbitmq/prom_parse.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exposition/expo_parse.h"
#include "rabbitmq/list.h"

static const struct {
	const char *name;
	enum rmq_value value;
} families[] = {
	{ "rabbitmq_detailed_queue_messages", RMQ_MESSAGES },
	{ "rabbitmq_detailed_queue_messages_ready", RMQ_MESSAGES_READY },
	{ "rabbitmq_detailed_queue_messages_unacked", RMQ_MESSAGES_UNACKED },
	{ "rabbitmq_detailed_queue_consumers", RMQ_CONSUMERS },
	{ "rabbitmq_detailed_queue_messages_bytes", RMQ_MESSAGE_BYTES },
	{ "rabbitmq_detailed_queue_messages_ready_bytes", RMQ_MESSAGE_BYTES_READY },
	{ "rabbitmq_detailed_queue_messages_unacked_bytes", RMQ_MESSAGE_BYTES_UNACKED },
};

static const char identity[] = "rabbitmq_identity_info";

struct rmq_prom_stream {
	struct rmq_list *out;
	size_t start_len; /* out->len at the start: records from here on are this stream's */
	struct rmq_arena_mark start_mark;
	struct expo_lines lines;
	char *prefix; /* {vhost="V",queue=" */
	size_t prefix_len;
	const char *vhost; /* in out's arena */
	const char *node;  /* NULL until rabbitmq_identity_info */
	size_t *slots;	   /* open addressing over record index + 1, by queue name */
	size_t nslots;
	int rc;
	char err[200];
};

__attribute__((format(printf, 3, 4))) static int fail(struct rmq_prom_stream *s, int rc,
						      const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(s->err, sizeof(s->err), "line %zu: ", s->lines.line);

	if (n >= 0 && (size_t)n < sizeof(s->err)) {
		va_start(ap, fmt);
		vsnprintf(s->err + n, sizeof(s->err) - n, fmt, ap);
		va_end(ap);
	}
	return rc;
}

bool rmq_prom_vhost_readable(const char *vhost)
{
	return !strpbrk(vhost, "\r\n");
}

static uint64_t name_hash(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
	return h;
}

static int grow_index(struct rmq_prom_stream *s)
{
	size_t n = s->nslots ? s->nslots * 2 : 64;
	size_t *slots = calloc(n, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = s->start_len; i < s->out->len; i++) {
		const char *name = s->out->items[i].name;
		size_t j = name_hash(name, strlen(name)) & (n - 1);
		while (slots[j])
			j = (j + 1) & (n - 1);
		slots[j] = i + 1;
	}
	free(s->slots);
	s->slots = slots;
	s->nslots = n;
	return 0;
}

/* The record of queue name[0..n), added when first seen; NULL when out of memory. */
static struct rmq_queue *record(struct rmq_prom_stream *s, const char *name, size_t n)
{
	size_t count = s->out->len - s->start_len;
	if ((count + 1) * 2 > s->nslots && grow_index(s))
		return NULL;
	size_t j = name_hash(name, n) & (s->nslots - 1);
	while (s->slots[j]) {
		struct rmq_queue *q = &s->out->items[s->slots[j] - 1];
		if (strncmp(q->name, name, n) == 0 && q->name[n] == '\0')
			return q;
		j = (j + 1) & (s->nslots - 1);
	}
	struct rmq_queue q = {
		.vhost = s->vhost, .node = "", .type = "", .state = "", .durable = -1
	};
	q.name = rmq_arena_strndup(s->out, name, n);
	if (!q.name || rmq_list_push(s->out, &q, SIZE_MAX))
		return NULL;
	s->slots[j] = s->out->len;
	return &s->out->items[s->out->len - 1];
}

/* rabbitmq_identity_info{rabbitmq_node="N",...} 1: the node every record of the page is on. */
static int identity_line(struct rmq_prom_stream *s, const char *l, size_t len)
{
	static const char key[] = "rabbitmq_node=\"";
	const char *k = memmem(l, len, key, sizeof(key) - 1);
	if (!k)
		return fail(s, -EPROTO, "%s without a rabbitmq_node label", identity);
	k += sizeof(key) - 1;
	const char *end = memchr(k, '"', (size_t)(l + len - k));
	if (!end)
		return fail(s, -EBADMSG, "unterminated rabbitmq_node label");
	if (!s->node && !(s->node = rmq_arena_strndup(s->out, k, (size_t)(end - k))))
		return -ENOMEM;
	return 0;
}

/* The last "} of l[from..len): where the queue label ends (a value holds no quote). */
static const char *labels_end(const char *l, size_t from, size_t len)
{
	for (size_t i = len; i-- > from + 1;)
		if (l[i] == '}' && l[i - 1] == '"')
			return l + i - 1;
	return NULL;
}

static int queue_line(struct rmq_prom_stream *s, enum rmq_value v, const char *l, size_t len,
		      size_t name_len)
{
	if (len - name_len < s->prefix_len || memcmp(l + name_len, s->prefix, s->prefix_len) != 0)
		return fail(s, -EPROTO, "%.*s: not {vhost=\"<the vhost asked for>\",queue=\"...\"}",
			    (int)name_len, l);
	size_t from = name_len + s->prefix_len;
	const char *end = labels_end(l, from, len);
	double value;
	if (!end)
		return fail(s, -EBADMSG, "%.*s: unterminated queue label", (int)name_len, l);
	if (expo_sample_tail(l, len, (size_t)(end - l) + 2, &value))
		return fail(s, -EBADMSG, "%.*s: bad sample value", (int)name_len, l);
	struct rmq_queue *q = record(s, l + from, (size_t)(end - l) - from);
	if (!q)
		return -ENOMEM;
	/* first occurrence counts; a count that cannot be one is left out, as in the JSON path */
	if (!(q->present & (1u << v)) && isfinite(value) && value >= 0) {
		q->v[v] = value;
		q->present |= (uint16_t)(1u << v);
	}
	return 0;
}

static int on_line(void *arg, const char *l, size_t len)
{
	struct rmq_prom_stream *s = arg;

	if (len == 0 || l[0] == '#')
		return 0;
	size_t n = expo_metric_name_len(l, len);
	if (!n || (n < len && l[n] != '{' && l[n] != ' ' && l[n] != '\t'))
		return fail(s, -EBADMSG, "neither a comment nor a sample");
	if (n == sizeof(identity) - 1 && memcmp(l, identity, n) == 0)
		return identity_line(s, l, len);
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strlen(families[i].name) == n && memcmp(l, families[i].name, n) == 0)
			return queue_line(s, families[i].value, l, len, n);
	return 0; /* a family hostmon does not export */
}

/* Gives back every record and string of this stream: all or nothing. */
static int failed(struct rmq_prom_stream *s, int rc)
{
	if (rc == -E2BIG) {
		fail(s, -EBADMSG, "longer than %d bytes", RMQ_PROM_MAX_LINE);
		rc = -EBADMSG;
	} else if (rc == -EBADMSG && !s->err[0]) {
		fail(s, -EBADMSG, "a NUL byte");
	} else if (rc == -ENOMEM) {
		snprintf(s->err, sizeof(s->err), "out of memory");
	}
	s->out->len = s->start_len;
	rmq_arena_rewind(s->out, s->start_mark);
	s->rc = rc;
	return rc;
}

struct rmq_prom_stream *rmq_prom_stream_new(struct rmq_list *out, const char *vhost)
{
	struct rmq_prom_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->out = out;
	s->start_len = out->len;
	s->start_mark = rmq_arena_mark(out);
	expo_lines_init(&s->lines, RMQ_PROM_MAX_LINE);
	s->vhost = rmq_arena_strndup(out, vhost, strlen(vhost));
	if (!s->vhost || asprintf(&s->prefix, "{vhost=\"%s\",queue=\"", vhost) < 0) {
		s->prefix = NULL;
		rmq_arena_rewind(out, s->start_mark);
		rmq_prom_stream_free(s);
		errno = ENOMEM;
		return NULL;
	}
	s->prefix_len = strlen(s->prefix);
	return s;
}

int rmq_prom_stream_feed(struct rmq_prom_stream *s, const char *data, size_t len)
{
	if (s->rc)
		return s->rc;
	int rc = expo_lines_feed(&s->lines, data, len, on_line, s);
	return rc ? failed(s, rc) : 0;
}

int rmq_prom_stream_finish(struct rmq_prom_stream *s)
{
	if (s->rc)
		return s->rc;
	if (expo_lines_finish(&s->lines)) {
		fail(s, -EBADMSG, "cut short: no newline after the last line");
		return failed(s, -EBADMSG);
	}
	if (!s->node) {
		fail(s, -EPROTO, "no %s: not the rabbitmq_prometheus plugin's page, or cut short",
		     identity);
		return failed(s, -EPROTO);
	}
	for (size_t i = s->start_len; i < s->out->len; i++)
		s->out->items[i].node = s->node;
	return 0;
}

const char *rmq_prom_stream_error(const struct rmq_prom_stream *s)
{
	return s->err;
}

void rmq_prom_stream_free(struct rmq_prom_stream *s)
{
	if (!s)
		return;
	expo_lines_free(&s->lines);
	free(s->prefix);
	free(s->slots);
	free(s);
}
