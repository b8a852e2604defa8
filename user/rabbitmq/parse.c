/* rabbitmq/parse.c — queue records from RabbitMQ management API /api/queues responses. */
#include "rabbitmq/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rabbitmq/list.h"

/*
 * A push parser: the JSON grammar as an explicit state machine, so a token
 * may be split anywhere between two feeds, and no tree is ever built. A
 * token that lies whole inside one feed is used where it lies; only one
 * split across feeds is copied, into a buffer bounded by RMQ_MAX_TOKEN.
 * Everything else lives in the list, appended as each queue object closes
 * (its storage: list.c), and only while the stream's limits allow: what the
 * broker sends beyond them is counted, never stored.
 */

const char *const rmq_value_fields[RMQ_NVALUES] = {
	[RMQ_MESSAGES] = "messages",
	[RMQ_MESSAGES_READY] = "messages_ready",
	[RMQ_MESSAGES_UNACKED] = "messages_unacknowledged",
	[RMQ_CONSUMERS] = "consumers",
	[RMQ_MESSAGE_BYTES] = "message_bytes",
	[RMQ_MESSAGE_BYTES_READY] = "message_bytes_ready",
	[RMQ_MESSAGE_BYTES_UNACKED] = "message_bytes_unacknowledged",
};

const char *const rmq_drop_names[RMQ_DROP_MAX] = {
	[RMQ_DROP_MAX_QUEUES] = "max_queues",
	[RMQ_DROP_NAME_TOO_LONG] = "name_too_long",
};

/* Keys that matter: a queue's (K_VALUE..K_DURABLE), then the paged wrapper's. */
enum key {
	K_NONE,
	K_VALUE, /* K_VALUE + enum rmq_value */
	K_NAME = K_VALUE + RMQ_NVALUES,
	K_VHOST,
	K_NODE,
	K_TYPE,
	K_STATE,
	K_LEADER, /* quorum queues name their leader, not a node, in light listings */
	K_DURABLE,
	K_ITEMS,
	K_PAGE,
	K_PAGE_COUNT,
	K_COUNT
};
static const char *const named_keys[K_COUNT - K_NAME] = { "name",  "vhost",	"node",	   "type",
							  "state", "leader",	"durable", "items",
							  "page",  "page_count" };

/*
 * Between tokens: ST_VALUE wants a value, ST_ARRAY_FIRST a value or ']',
 * ST_OBJECT_FIRST a key or '}', ST_KEY a key, ST_COLON ':', ST_AFTER ','
 * or the close of the container (at depth 0: only whitespace).
 */
enum state {
	ST_VALUE,
	ST_ARRAY_FIRST,
	ST_OBJECT_FIRST,
	ST_KEY,
	ST_COLON,
	ST_AFTER,
	ST_STRING,
	ST_NUMBER,
	ST_LITERAL
};
/* What a container is to us; everything under R_OTHER is only checked and skipped. */
enum role { R_OTHER, R_ROOT, R_ITEMS, R_QUEUE };
enum esc { ESC_NONE, ESC_START, ESC_HEX };
/* Number grammar; N_ZERO, N_INT, N_FRAC and N_EXP may end the number. */
enum num { N_START, N_MINUS, N_ZERO, N_INT, N_DOT, N_FRAC, N_E, N_ESIGN, N_EXP };
enum scalar { SC_STRING, SC_NUMBER, SC_TRUE, SC_FALSE, SC_NULL };

struct level {
	uint8_t object; /* 1 object, 0 array */
	uint8_t role;	/* enum role */
	uint8_t key;	/* enum key of the member being read, in R_ROOT and R_QUEUE */
};

struct rmq_stream {
	struct rmq_list *list;
	int err;
	bool vhosts; /* a /api/vhosts listing: an item needs only its name */
	enum state st;
	unsigned depth;
	struct level stack[RMQ_MAX_DEPTH];
	const char *key[K_COUNT];
	size_t key_len[K_COUNT]; /* so a lookup rejects most keys without memcmp */

	/* the token in progress; keep: its bytes are needed, not only checked, up to keep_max
	 * decoded bytes; over: it had more, so its value is not used */
	bool is_key, keep, over;
	size_t keep_max, longest_key;
	enum esc esc;
	enum num num;
	enum scalar lit_kind;
	const char *lit;
	uint32_t cp, hi; /* \u code unit being read; pending high surrogate */
	unsigned hex_n;
	size_t raw; /* bytes of the token as written so far */
	size_t tok_len;
	/* decoded bytes of a kept token split across feeds; never longer than as written */
	char tok[RMQ_MAX_TOKEN + 1];

	struct rmq_queue q; /* the queue object being read */
	const char *leader; /* its "leader", the node when "node" is absent */
	bool q_too_long;    /* its name or vhost is over RMQ_MAX_NAME bytes */
	/* the last record kept's vhost, node, type, state, leader: a repeated value shares its copy
	 */
	const char *last[K_LEADER - K_NAME + 1];
	uint32_t q_seen, root_seen;
	struct rmq_limits lim;
	struct rmq_arena_mark q_mark;
	bool paged;
	long page, page_count; /* -1 until given */

	/* what the list held when the stream started, or at the last successful finish */
	size_t start_len, start_skipped, start_dropped[RMQ_DROP_MAX];
	struct rmq_arena_mark start_mark;
};

/* 1 for bytes that end a run of plain string content: '"', '\\' and control characters */
static const uint8_t str_special[256] = { [0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1 };

static enum key key_lookup(const struct rmq_stream *s, const char *v, size_t n, enum key first,
			   enum key last)
{
	for (int k = first; k <= (int)last; k++)
		if (s->key_len[k] == n && s->key[k][0] == v[0] && memcmp(s->key[k], v, n) == 0)
			return (enum key)k;
	return K_NONE;
}

/* keep_max <= RMQ_MAX_TOKEN, so the token and strtod's terminator always fit. */
static void tok_put(struct rmq_stream *s, const void *data, size_t n)
{
	if (!s->keep)
		return;
	if (n > s->keep_max - s->tok_len) {
		s->keep = false; /* the rest is only checked */
		s->over = true;
		return;
	}
	memcpy(s->tok + s->tok_len, data, n);
	s->tok_len += n;
}

static struct level *top(struct rmq_stream *s)
{
	return s->depth ? &s->stack[s->depth - 1] : NULL;
}

/* A queue object closed: keep it, or count why not; an item not kept keeps no memory. */
static int queue_end(struct rmq_stream *s)
{
	struct rmq_list *l = s->list;
	struct rmq_queue *q = &s->q;
	const char *seen[] = { q->name, q->vhost, q->node, q->type, q->state, s->leader };
	int rc = 0;

	if (s->q_too_long) {
		l->dropped[RMQ_DROP_NAME_TOO_LONG]++;
	} else if (!q->name || (!q->vhost && !s->vhosts)) {
		l->skipped++;
	} else {
		/* a shared "" needs no arena space: the list only ever frees whole chunks */
		q->vhost = q->vhost ? q->vhost : "";
		q->node = q->node ? q->node : s->leader ? s->leader : "";
		q->type = q->type ? q->type : "";
		q->state = q->state ? q->state : "";
		if (s->lim.want && !s->lim.want(q, s->lim.arg))
			; /* filtered out: neither kept nor counted */
		else if (l->len >= s->lim.max_items)
			l->dropped[RMQ_DROP_MAX_QUEUES]++;
		else if (!(rc = rmq_list_push(l, q, s->lim.max_items))) {
			memcpy(s->last, seen, sizeof(s->last));
			return 0;
		}
	}
	rmq_arena_rewind(l, s->q_mark);
	return rc;
}

static int container_end(struct rmq_stream *s)
{
	struct level *t = &s->stack[--s->depth];

	s->st = ST_AFTER;
	if (t->role == R_QUEUE)
		return queue_end(s);
	if (t->role == R_ROOT &&
	    (!(s->root_seen & 1u << K_ITEMS) || s->page < 1 || s->page_count < 0))
		return -EPROTO;
	return 0;
}

/* A number's value; the grammar is already checked. */
static double number_value(struct rmq_stream *s, const char *v, size_t n)
{
	uint64_t x = 0;
	size_t i = 0;
	char *end;

	/* integers below 10^15 are exact in a double, so the usual count needs no strtod */
	while (n <= 15 && i < n && v[i] >= '0' && v[i] <= '9')
		x = x * 10 + (uint64_t)(v[i++] - '0');
	if (n <= 15 && i == n)
		return (double)x;
	if (v != s->tok)
		memcpy(s->tok, v, n); /* n <= RMQ_MAX_TOKEN, checked by the lexer */
	s->tok[n] = '\0';
	/* overflow gives HUGE_VAL, which callers drop as non-finite; underflow is a fine ~0 */
	double d = strtod(s->tok, &end);
	return end == s->tok + n ? d : NAN;
}

static bool number_key(enum key k)
{
	return (k >= K_VALUE && k < K_VALUE + RMQ_NVALUES) || k == K_PAGE || k == K_PAGE_COUNT;
}

/* A string field's copy in the arena; vhost and the rest repeat, so the last record's may serve. */
static const char *field_copy(struct rmq_stream *s, enum key k, const char *v, size_t n)
{
	const char *last = k == K_NAME ? NULL : s->last[k - K_NAME];

	if (last && strnlen(last, n + 1) == n && memcmp(last, v, n) == 0)
		return last;
	return rmq_arena_strndup(s->list, v, n);
}

/* A scalar inside a container ended: store it if it is a field we want. */
static int scalar_end(struct rmq_stream *s, enum scalar kind, const char *v, size_t n)
{
	struct level *t = top(s);
	enum key k = t ? t->key : K_NONE;
	double d;

	s->st = ST_AFTER;
	if (k >= K_NAME && k <= K_LEADER && kind == SC_STRING) {
		const char **field[] = { &s->q.name, &s->q.vhost, &s->q.node,
					 &s->q.type, &s->q.state, &s->leader };
		/* a name or vhost this long is no queue's; another field this long is lost alone */
		if (s->over)
			s->q_too_long |= k == K_NAME || k == K_VHOST;
		else if (!(*field[k - K_NAME] = field_copy(s, k, v, n)))
			return -ENOMEM;
	} else if (k == K_DURABLE && (kind == SC_TRUE || kind == SC_FALSE)) {
		s->q.durable = kind == SC_TRUE;
	} else if (kind == SC_NUMBER && number_key(k)) {
		/* digits past RMQ_MAX_TOKEN were not kept: no value, as for a wrong type */
		d = s->over ? NAN : number_value(s, v, n);
		/* as before: a page number in [0, 1e9) counts, truncated */
		if (k == K_PAGE)
			s->page = d >= 0 && d < 1e9 ? (long)d : -1;
		else if (k == K_PAGE_COUNT)
			s->page_count = d >= 0 && d < 1e9 ? (long)d : -1;
		else if (isfinite(d) && d >= 0) {
			/* counts are never negative; anything else is not the field */
			s->q.v[k - K_VALUE] = d;
			s->q.present |= (uint16_t)(1u << (k - K_VALUE));
		}
	}
	return 0;
}

/* A string ended; of a key, only the first occurrence counts, as with cJSON's lookup. */
static int string_end(struct rmq_stream *s, const char *v, size_t n)
{
	struct level *t = top(s);
	uint32_t *seen = t->role == R_QUEUE ? &s->q_seen : &s->root_seen;
	enum key k = K_NONE;

	if (!s->is_key)
		return scalar_end(s, SC_STRING, v, n);
	if (!s->over && (t->role == R_QUEUE || t->role == R_ROOT))
		k = t->role == R_QUEUE ? key_lookup(s, v, n, K_VALUE, K_DURABLE)
				       : key_lookup(s, v, n, K_ITEMS, K_PAGE_COUNT);
	if (k && (*seen & 1u << k))
		k = K_NONE;
	else if (k)
		*seen |= 1u << k;
	t->key = (uint8_t)k;
	s->st = ST_COLON;
	return 0;
}

/* keep_max: how many decoded bytes of the token are needed; 0 when it is only checked. */
static void token_begin(struct rmq_stream *s, enum state st, size_t keep_max, bool is_key)
{
	s->st = st;
	s->keep = keep_max > 0;
	s->keep_max = keep_max;
	s->over = false;
	s->is_key = is_key;
	s->raw = s->tok_len = 0;
	s->esc = ESC_NONE;
	s->hi = 0;
	s->num = N_START;
}

/* A value starts with c: decide what it is to us, then open its container or token. */
static int value_begin(struct rmq_stream *s, unsigned char c)
{
	struct level *t = top(s);
	enum key k = t ? t->key : K_NONE;
	enum role role = R_OTHER;
	bool container = c == '{' || c == '[', number = c == '-' || (c >= '0' && c <= '9');

	if (!container && !number && c != '"' && c != 't' && c != 'f' && c != 'n')
		return -EBADMSG;
	if (!t) {
		/* the document: only a list of queues or the paged wrapper */
		if (!container)
			return -EPROTO;
		role = c == '[' ? R_ITEMS : R_ROOT;
		s->paged = c == '{';
	} else if (t->role == R_ITEMS) {
		if (c == '{') {
			role = R_QUEUE;
			memset(&s->q, 0, sizeof(s->q));
			s->leader = NULL;
			s->q_too_long = false;
			s->q.durable = -1;
			s->q_seen = 0;
			s->q_mark = rmq_arena_mark(s->list);
		} else {
			s->list->skipped++;
		}
	} else if (k == K_ITEMS) {
		if (c != '[')
			return -EPROTO;
		role = R_ITEMS;
	}

	if (container) {
		if (s->depth == RMQ_MAX_DEPTH)
			return -EPROTO;
		s->stack[s->depth++] = (struct level){ c == '{', (uint8_t)role, K_NONE };
		s->st = c == '{' ? ST_OBJECT_FIRST : ST_ARRAY_FIRST;
	} else if (c == '"') {
		token_begin(s, ST_STRING, k >= K_NAME && k <= K_LEADER ? RMQ_MAX_NAME : 0, false);
	} else if (c == 't' || c == 'f' || c == 'n') {
		s->st = ST_LITERAL;
		s->lit_kind = c == 't' ? SC_TRUE : c == 'f' ? SC_FALSE : SC_NULL;
		s->lit = c == 't' ? "rue" : c == 'f' ? "alse" : "ull";
	} else {
		token_begin(s, ST_NUMBER, number_key(k) ? RMQ_MAX_TOKEN : 0, false);
	}
	return 0;
}

/* One byte after a backslash: a simple escape, or the next of \uXXXX. */
static int escape_char(struct rmq_stream *s, unsigned char c)
{
	static const char simple[256] = { ['"'] = '"',	['\\'] = '\\', ['/'] = '/',  ['b'] = '\b',
					  ['f'] = '\f', ['n'] = '\n',  ['r'] = '\r', ['t'] = '\t' };
	static const unsigned char lead[5] = { 0, 0, 0xc0, 0xe0, 0xf0 };
	unsigned char b[4];
	uint32_t cp;

	if (s->esc == ESC_START) {
		if (c == 'u') {
			s->esc = ESC_HEX;
			s->cp = s->hex_n = 0;
			return 0;
		}
		/* after a high surrogate only its low half may come */
		if (!simple[c] || s->hi)
			return -EBADMSG;
		s->esc = ESC_NONE;
		tok_put(s, &simple[c], 1);
		return 0;
	}
	if (!isxdigit(c))
		return -EBADMSG;
	s->cp = s->cp << 4 | (uint32_t)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
	if (++s->hex_n < 4)
		return 0;
	/* UTF-16 surrogates must pair; a lone one is not text, so not JSON */
	cp = s->cp;
	s->esc = ESC_NONE;
	if (s->hi) {
		if (cp < 0xdc00 || cp > 0xdfff)
			return -EBADMSG;
		cp = 0x10000 + ((s->hi - 0xd800) << 10) + (cp - 0xdc00);
		s->hi = 0;
	} else if (cp >= 0xd800 && cp <= 0xdbff) {
		s->hi = cp;
		return 0;
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return -EBADMSG;
	}
	size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		b[i] = (unsigned char)(0x80 | (cp & 0x3f));
	b[0] = (unsigned char)(lead[n] | cp);
	tok_put(s, b, n);
	return 0;
}

static int lex_string(struct rmq_stream *s, const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp;
	int rc = 0;

	while (p < end && !rc) {
		if (s->esc != ESC_NONE) {
			s->raw++;
			rc = escape_char(s, *p++);
			continue;
		}
		if (s->hi && *p != '\\')
			return -EBADMSG; /* a high surrogate not followed by a \u escape */
		/* the hot loop: plain content runs to the next quote, backslash or control byte */
		const unsigned char *run = p;
		while (p < end && !str_special[*p])
			p++;
		size_t n = (size_t)(p - run);
		if (p < end && *p == '"' && !s->raw) {
			/* the whole token is in this feed, unescaped: use it in place */
			*pp = p + 1;
			s->over = s->keep && n > s->keep_max;
			return string_end(s, (const char *)run, n);
		}
		s->raw += n;
		tok_put(s, run, n);
		if (p == end)
			break;
		if (*p == '"') {
			p++;
			rc = string_end(s, s->tok, s->tok_len);
			break;
		}
		if (*p++ != '\\')
			rc = -EBADMSG; /* a raw control character */
		else
			s->esc = ESC_START;
		s->raw++;
	}
	*pp = p;
	return rc;
}

/* Byte classes of the number grammar; 0 is any byte that cannot continue a number. */
static const uint8_t num_class[256] = {
	['0'] = 1, ['1' ... '9'] = 2, ['.'] = 3, ['e'] = 4, ['E'] = 4, ['+'] = 5, ['-'] = 6
};
/* Next state by state and class; -1: the number ended before this byte. */
static const int8_t num_next[][7] = {
	[N_START] = { -1, N_ZERO, N_INT, -1, -1, -1, N_MINUS },
	[N_MINUS] = { -1, N_ZERO, N_INT, -1, -1, -1, -1 },
	[N_ZERO] = { -1, -1, -1, N_DOT, N_E, -1, -1 },
	[N_INT] = { -1, N_INT, N_INT, N_DOT, N_E, -1, -1 },
	[N_DOT] = { -1, N_FRAC, N_FRAC, -1, -1, -1, -1 },
	[N_FRAC] = { -1, N_FRAC, N_FRAC, -1, N_E, -1, -1 },
	[N_E] = { -1, N_EXP, N_EXP, -1, -1, N_ESIGN, N_ESIGN },
	[N_ESIGN] = { -1, N_EXP, N_EXP, -1, -1, -1, -1 },
	[N_EXP] = { -1, N_EXP, N_EXP, -1, -1, -1, -1 },
};

static int lex_number(struct rmq_stream *s, const unsigned char **pp, const unsigned char *end)
{
	const unsigned char *p = *pp, *run = p;
	int next, rc = 0;

	while (p < end && (next = num_next[s->num][num_class[*p]]) >= 0) {
		s->num = (enum num)next;
		p++;
	}
	size_t n = (size_t)(p - run);
	*pp = p;
	/* the byte after the number is left for ST_AFTER to judge */
	bool done = p < end &&
		    (s->num == N_ZERO || s->num == N_INT || s->num == N_FRAC || s->num == N_EXP);
	if (p < end && !done)
		return -EBADMSG;
	if (done && !s->raw) {
		s->over = s->keep && n > s->keep_max;
		return scalar_end(s, SC_NUMBER, (const char *)run, n);
	}
	s->raw += n;
	tok_put(s, run, n);
	if (done)
		rc = scalar_end(s, SC_NUMBER, s->tok, s->tok_len);
	return rc;
}

/* One byte outside any token, not whitespace: punctuation or the first byte of a value. */
static int structural(struct rmq_stream *s, unsigned char c)
{
	struct level *t = top(s);

	switch (s->st) {
	case ST_ARRAY_FIRST:
		return c == ']' ? container_end(s) : value_begin(s, c);
	case ST_VALUE:
		return value_begin(s, c);
	case ST_OBJECT_FIRST:
		if (c == '}')
			return container_end(s);
		/* fall through */
	case ST_KEY:
		if (c != '"')
			return -EBADMSG;
		/* a key longer than every key looked for cannot be one of them */
		token_begin(s, ST_STRING,
			    t->role == R_QUEUE || t->role == R_ROOT ? s->longest_key : 0, true);
		return 0;
	case ST_COLON:
		if (c != ':')
			return -EBADMSG;
		s->st = ST_VALUE;
		return 0;
	case ST_LITERAL:
		if (c != (unsigned char)*s->lit++)
			return -EBADMSG;
		return *s->lit ? 0 : scalar_end(s, s->lit_kind, "", 0);
	default: /* ST_AFTER */
		if (!t)
			return -EBADMSG; /* bytes after the document */
		if (c == ',') {
			s->st = t->object ? ST_KEY : ST_VALUE;
			return 0;
		}
		return c == (t->object ? '}' : ']') ? container_end(s) : -EBADMSG;
	}
}

/* What a failure puts the list back to: its state at the start, or at a successful finish. */
static void stream_commit(struct rmq_stream *s)
{
	s->start_len = s->list->len;
	s->start_skipped = s->list->skipped;
	memcpy(s->start_dropped, s->list->dropped, sizeof(s->start_dropped));
	s->start_mark = rmq_arena_mark(s->list);
}

/* Puts the list back to the stream's start and makes the error stick. */
static int stream_fail(struct rmq_stream *s, int err)
{
	s->err = err;
	s->list->len = s->start_len;
	s->list->skipped = s->start_skipped;
	memcpy(s->list->dropped, s->start_dropped, sizeof(s->start_dropped));
	rmq_arena_rewind(s->list, s->start_mark);
	return err;
}

struct rmq_stream *rmq_stream_new(struct rmq_list *out)
{
	if (!out) {
		errno = EINVAL;
		return NULL;
	}
	struct rmq_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL; /* calloc set errno */
	s->list = out;
	s->st = ST_VALUE;
	stream_commit(s);
	s->page = s->page_count = -1;
	s->lim.max_items = SIZE_MAX;
	for (int k = K_VALUE; k < K_COUNT; k++) {
		s->key[k] = k < K_NAME ? rmq_value_fields[k - K_VALUE] : named_keys[k - K_NAME];
		s->key_len[k] = strlen(s->key[k]);
		if (s->key_len[k] > s->longest_key)
			s->longest_key = s->key_len[k];
	}
	return s;
}

void rmq_stream_set_limits(struct rmq_stream *s, const struct rmq_limits *lim)
{
	s->lim = *lim;
}

struct rmq_stream *rmq_stream_new_vhosts(struct rmq_list *out)
{
	struct rmq_stream *s = rmq_stream_new(out);
	if (s)
		s->vhosts = true;
	return s;
}

int rmq_stream_feed(struct rmq_stream *s, const char *data, size_t len)
{
	const unsigned char *p = (const unsigned char *)data, *end;
	int rc = 0;

	if (s->err)
		return s->err;
	if (!len)
		return 0; /* data may be NULL then */
	end = p + len;
	while (p < end && !rc) {
		if (s->st == ST_STRING) {
			rc = lex_string(s, &p, end);
		} else if (s->st == ST_NUMBER) {
			rc = lex_number(s, &p, end);
		} else if (s->st != ST_LITERAL &&
			   (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) {
			p++;
		} else {
			rc = structural(s, *p++);
			/* a number's first byte is its own: lex_number reads it again */
			if (s->st == ST_NUMBER)
				p--;
		}
	}
	return rc ? stream_fail(s, rc) : 0;
}

int rmq_stream_finish(struct rmq_stream *s, struct rmq_page_info *info)
{
	if (s->err)
		return s->err;
	/* complete once the outermost container has closed; a number never ends the document */
	if (s->st != ST_AFTER || s->depth)
		return stream_fail(s, -EBADMSG);
	stream_commit(s); /* bytes fed later cannot take these records back */
	if (info) {
		info->paged = s->paged;
		info->page = s->paged ? s->page : 1;
		info->page_count = s->paged ? s->page_count : 1;
	}
	return 0;
}

void rmq_stream_free(struct rmq_stream *s)
{
	free(s);
}

int rmq_parse_page(const char *body, size_t len, struct rmq_list *list, struct rmq_page_info *info)
{
	struct rmq_stream *s = rmq_stream_new(list);
	if (!s)
		return -errno;
	int rc = rmq_stream_feed(s, body, len);
	if (!rc)
		rc = rmq_stream_finish(s, info);
	rmq_stream_free(s);
	return rc;
}
