/* web/request.c — incremental HTTP/1.x request-head parser and Accept(-Encoding) negotiation. */
#include "web/request.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

/*
 * RFC 9112 asks servers to skip at least one empty line before the request
 * line; a stream of them is no HTTP client, so refuse it without waiting.
 */
#define WEB_MAX_LEADING_EMPTY_LINES 4

/* q values in thousandths: RFC 9110 qvalues have at most three decimals. */
#define Q_ONE 1000

/* Preference classes, most specific first within each group. */
enum pref_class {
	ACC_OM_V1,     /* application/openmetrics-text;version=1.0.0 */
	ACC_OM_OTHER,  /* same without version, or version=0.0.1 */
	ACC_TEXT_V004, /* text/plain;version=0.0.4 */
	ACC_TEXT,      /* text/plain without version */
	ACC_TEXT_ANY,  /* text with a wildcard subtype */
	ACC_ANY,       /* wildcard type and subtype */
	ENC_GZIP,
	ENC_X_GZIP,
	ENC_ANY,
	CONN_CLOSE,
	CONN_KEEP_ALIVE,
	PREF_NCLASS,
};

/* What the client's comma lists (Accept, Accept-Encoding, Connection) said about each class. */
struct prefs {
	bool seen[PREF_NCLASS];
	unsigned int q[PREF_NCLASS]; /* highest q among elements of the class */
};

/* One element of a comma list: a token or media range, with its parameters. */
struct list_elem {
	const char *type, *subtype; /* subtype only for media ranges */
	size_t type_len, subtype_len;
	const char *version; /* NULL when absent */
	size_t version_len;
	unsigned int q;
};

struct head_state {
	struct web_request req;
	struct prefs prefs;
	uint64_t content_length;
	bool have_content_length;
	bool transfer_encoding;
	bool in_headers; /* the request line is behind us */
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* RFC 9110 tchar: the characters allowed in methods, field names and tokens. */
static bool is_tchar(char c)
{
	if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* Field values: VCHAR, obs-text, SP, HT. Bare CR, NUL and DEL are refused. */
static bool is_field_char(char c)
{
	unsigned char u = (unsigned char)c;

	return u == '\t' || (u >= 0x20 && u != 0x7f);
}

/*
 * Request targets: visible ASCII only. RFC 3986 has no room for spaces,
 * controls or raw non-ASCII, and the path ends up in logs.
 */
static bool is_target_char(char c)
{
	return c > 0x20 && c < 0x7f;
}

static size_t skip(const char *p, size_t n, size_t i, bool (*accept_char)(char))
{
	while (i < n && accept_char(p[i]))
		i++;
	return i;
}

/* Case-insensitive compare of a counted string with a literal. */
static bool ieq(const char *p, size_t n, const char *lit)
{
	return n == strlen(lit) && strncasecmp(p, lit, n) == 0;
}

/* RFC 9110 qvalue: "0" ["." 0*3DIGIT] / "1" ["." 0*3"0"]. Anything else counts as q=0. */
static unsigned int parse_qvalue(const char *p, size_t n)
{
	unsigned int q, scale = 100;
	size_t i;

	if (n == 0 || (p[0] != '0' && p[0] != '1'))
		return 0;
	q = (unsigned int)(p[0] - '0') * Q_ONE;
	if (n == 1)
		return q;
	if (p[1] != '.' || n > 5)
		return 0;
	for (i = 2; i < n; i++, scale /= 10) {
		if (!is_digit(p[i]))
			return 0;
		q += (unsigned int)(p[i] - '0') * scale;
	}
	return q > Q_ONE ? 0 : q;
}

/* Index of the comma ending the element at i, or n; commas in quoted strings do not count. */
static size_t skip_element(const char *p, size_t n, size_t i)
{
	bool quoted = false;

	for (; i < n; i++) {
		if (quoted && p[i] == '\\' && i + 1 < n)
			i++;
		else if (p[i] == '"')
			quoted = !quoted;
		else if (!quoted && p[i] == ',')
			break;
	}
	return i;
}

/*
 * Parses the element at i: a token (a media range if media), then ";name=value"
 * parameters. Returns the index of the comma or end after it; *ok tells whether
 * it was well-formed, as broken elements are skipped whole.
 */
static size_t parse_element(const char *p, size_t n, size_t i, bool media, struct list_elem *e,
			    bool *ok)
{
	size_t j, name, name_len, val, val_len;
	bool quoted;

	memset(e, 0, sizeof(*e));
	e->q = Q_ONE;
	*ok = false;
	e->type = p + i;
	j = skip(p, n, i, is_tchar);
	e->type_len = j - i;
	if (!e->type_len)
		goto bad;
	if (media && j < n && p[j] == '/') {
		e->subtype = p + j + 1;
		i = skip(p, n, j + 1, is_tchar);
		e->subtype_len = i - (j + 1);
		j = i;
		if (!e->subtype_len)
			goto bad;
	} else if (media && e->type_len == 1 && e->type[0] == '*') {
		/* A bare "*" (old Java clients send it) means any media type, as in goautoneg. */
		e->subtype = e->type;
		e->subtype_len = 1;
	} else if (media) {
		goto bad;
	}
	for (;;) {
		j = skip(p, n, j, is_ows);
		if (j == n || p[j] == ',')
			break;
		if (p[j] != ';')
			goto bad;
		j = skip(p, n, j + 1, is_ows);
		if (j == n || p[j] == ',')
			break; /* a trailing ';' is sloppy but harmless */
		name = j;
		j = skip(p, n, j, is_tchar);
		name_len = j - name;
		j = skip(p, n, j, is_ows);
		if (!name_len || j == n || p[j] != '=')
			goto bad;
		j = skip(p, n, j + 1, is_ows);
		quoted = j < n && p[j] == '"';
		if (quoted) {
			val = ++j;
			while (j < n && p[j] != '"')
				j += (p[j] == '\\' && j + 1 < n) ? 2 : 1;
			if (j >= n)
				goto bad;
			val_len = j++ - val;
		} else {
			val = j;
			j = skip(p, n, j, is_tchar);
			val_len = j - val;
		}
		/* RFC 9110: "q" is the weight wherever it appears; a quoted q is not a qvalue. */
		if (ieq(p + name, name_len, "q")) {
			e->q = quoted ? 0 : parse_qvalue(p + val, val_len);
		} else if (ieq(p + name, name_len, "version")) {
			e->version = p + val;
			e->version_len = val_len;
		}
	}
	*ok = true;
	return j;
bad:
	return skip_element(p, n, j);
}

static bool version_is(const struct list_elem *e, const char *v)
{
	return e->version && e->version_len == strlen(v) && !memcmp(e->version, v, e->version_len);
}

static int classify_media(const struct list_elem *e)
{
	if (ieq(e->type, e->type_len, "application") &&
	    ieq(e->subtype, e->subtype_len, "openmetrics-text")) {
		if (version_is(e, "1.0.0"))
			return ACC_OM_V1;
		/* expfmt writes OpenMetrics 0.0.1 and 1.0.0 alike; we produce no other. */
		if (!e->version || version_is(e, "0.0.1"))
			return ACC_OM_OTHER;
		return -1;
	}
	if (ieq(e->type, e->type_len, "text") && ieq(e->subtype, e->subtype_len, "plain")) {
		if (version_is(e, "0.0.4"))
			return ACC_TEXT_V004;
		return e->version ? -1 : ACC_TEXT;
	}
	if (ieq(e->subtype, e->subtype_len, "*")) {
		if (ieq(e->type, e->type_len, "text"))
			return ACC_TEXT_ANY;
		if (ieq(e->type, e->type_len, "*"))
			return ACC_ANY;
	}
	return -1;
}

static int classify_coding(const struct list_elem *e)
{
	if (ieq(e->type, e->type_len, "gzip"))
		return ENC_GZIP;
	if (ieq(e->type, e->type_len, "x-gzip"))
		return ENC_X_GZIP;
	if (ieq(e->type, e->type_len, "*"))
		return ENC_ANY;
	return -1;
}

static int classify_connection(const struct list_elem *e)
{
	if (ieq(e->type, e->type_len, "close"))
		return CONN_CLOSE;
	if (ieq(e->type, e->type_len, "keep-alive"))
		return CONN_KEEP_ALIVE;
	return -1;
}

/* Adds one header value to *s; several header lines of one name act as one comma list. */
static void prefs_feed(struct prefs *s, const char *p, size_t n, bool media,
		       int (*classify)(const struct list_elem *))
{
	struct list_elem e;
	size_t i = 0;
	bool ok;
	int c;

	while (i < n) {
		while (i < n && (is_ows(p[i]) || p[i] == ','))
			i++;
		if (i == n)
			break;
		i = parse_element(p, n, i, media, &e, &ok);
		if (!ok)
			continue;
		c = classify(&e);
		if (c < 0)
			continue;
		if (!s->seen[c] || e.q > s->q[c])
			s->q[c] = e.q;
		s->seen[c] = true;
	}
}

/*
 * RFC 9110 12.5.1: the most specific range that matches a representation
 * decides its q. Classes [from, to] are ordered most specific first.
 */
static unsigned int prefs_q(const struct prefs *s, int from, int to)
{
	int c;

	for (c = from; c <= to; c++)
		if (s->seen[c])
			return s->q[c];
	return 0;
}

static bool prefs_want_openmetrics(const struct prefs *s)
{
	unsigned int om = prefs_q(s, ACC_OM_V1, ACC_OM_OTHER);

	/* Ties go to OpenMetrics: a client that names it is a scraper that can parse it. */
	return om > 0 && om >= prefs_q(s, ACC_TEXT_V004, ACC_ANY);
}

static bool prefs_want_gzip(const struct prefs *s)
{
	return prefs_q(s, ENC_GZIP, ENC_ANY) > 0;
}

bool web_accept_prefers_openmetrics(const char *value, size_t len)
{
	struct prefs s = { 0 };

	if (value)
		prefs_feed(&s, value, len, true, classify_media);
	return prefs_want_openmetrics(&s);
}

bool web_accept_encoding_allows_gzip(const char *value, size_t len)
{
	struct prefs s = { 0 };

	if (value)
		prefs_feed(&s, value, len, false, classify_coding);
	return prefs_want_gzip(&s);
}

/*
 * HTTP-version = "HTTP/" DIGIT "." DIGIT. HTTP/2 and HTTP/3 name themselves
 * with a bare major, so that is well-formed too (answered 505). With
 * complete unset, only checks that p can still grow into a valid version.
 */
static int parse_version(const char *p, size_t n, bool complete, int *minor)
{
	static const char pattern[] = "HTTP/#.#"; /* '#' is any digit */
	size_t i;

	for (i = 0; i < n; i++) {
		if (i == sizeof(pattern) - 1)
			return -EBADMSG;
		if (pattern[i] == '#' ? !is_digit(p[i]) : p[i] != pattern[i])
			return -EBADMSG;
	}
	if (!complete)
		return 0;
	if (n != 6 && n != 8)
		return -EBADMSG;
	if (p[5] != '1')
		return -EPROTONOSUPPORT;
	if (n == 6)
		return -EBADMSG; /* "HTTP/1" without a minor is no HTTP/1.x */
	/* RFC 9110 2.5: a higher 1.x minor is served as the highest we know. */
	*minor = p[7] == '0' ? 0 : 1;
	return 0;
}

/* Origin-form, absolute-form (path taken, authority ignored), or "*" for OPTIONS. */
static int parse_target(struct web_request *r, const char *method, size_t method_len, const char *t,
			size_t n)
{
	size_t i = 0, start;

	if (t[0] == '*') {
		if (n != 1 || method_len != 7 || memcmp(method, "OPTIONS", 7))
			return -EBADMSG;
		r->path = t;
		r->path_len = 1;
		return 0;
	}
	if (t[0] != '/') {
		if (n > 7 && !strncasecmp(t, "http://", 7))
			start = 7;
		else if (n > 8 && !strncasecmp(t, "https://", 8))
			start = 8;
		else
			return -EBADMSG;
		for (i = start; i < n && t[i] != '/' && t[i] != '?' && t[i] != '#'; i++) {
			/* RFC 9110 4.2.4: userinfo in an http URI is to be treated as an error. */
			if (t[i] == '@')
				return -EBADMSG;
		}
		if (i == start)
			return -EBADMSG;
		if (i == n || t[i] != '/') {
			/* An empty path means "/", which buf may not contain. */
			r->path = "/";
			r->path_len = 1;
			return 0;
		}
	}
	for (start = i; i < n && t[i] != '?' && t[i] != '#'; i++)
		;
	r->path = t + start;
	r->path_len = i - start;
	return 0;
}

/*
 * method SP request-target SP HTTP-version, checked left to right so that an
 * unfinished line (complete unset) can be refused early, and any error seen
 * on a prefix is also the error for the whole line.
 */
static int parse_request_line(struct web_request *r, const char *p, size_t n, bool complete)
{
	size_t i, target;
	int err;

	i = skip(p, n, 0, is_tchar);
	if (i == n)
		return complete ? -EBADMSG : 0;
	if (i == 0 || p[i] != ' ')
		return -EBADMSG;
	if (i == 3 && !memcmp(p, "GET", 3))
		r->method = WEB_GET;
	else if (i == 4 && !memcmp(p, "HEAD", 4))
		r->method = WEB_HEAD;
	else
		r->method = WEB_OTHER;
	target = i + 1;
	i = skip(p, n, target, is_target_char);
	if (i == n)
		return complete ? -EBADMSG : 0;
	if (i == target || p[i] != ' ')
		return -EBADMSG;
	err = parse_target(r, p, target - 1, p + target, i - target);
	if (err)
		return err;
	return parse_version(p + i + 1, n - i - 1, complete, &r->minor_version);
}

/* Digits only: strtoull would take signs, spaces and hex-looking junk that smuggling relies on. */
static int parse_content_length(struct head_state *st, const char *v, size_t n)
{
	uint64_t cl = 0;
	size_t i;

	if (n == 0)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		if (!is_digit(v[i]) || cl > (UINT64_MAX - (uint64_t)(v[i] - '0')) / 10)
			return -EBADMSG;
		cl = cl * 10 + (uint64_t)(v[i] - '0');
	}
	/* Two lengths that disagree mean two parsers could frame the body differently. */
	if (st->have_content_length && st->content_length != cl)
		return -EBADMSG;
	st->content_length = cl;
	st->have_content_length = true;
	return 0;
}

/* field-name ":" OWS field-value OWS; partial lines are only checked for characters. */
static int parse_field_line(struct head_state *st, const char *p, size_t n, bool complete)
{
	size_t name_len, i, vs, ve;

	name_len = skip(p, n, 0, is_tchar);
	if (name_len == n)
		return complete ? -EBADMSG : 0;
	/*
	 * An empty name also refuses obs-fold (a line starting with SP or HT):
	 * RFC 9112 lets servers reject it, and unfolding is where parsers disagree.
	 */
	if (name_len == 0 || p[name_len] != ':')
		return -EBADMSG;
	for (i = name_len + 1; i < n; i++)
		if (!is_field_char(p[i]))
			return -EBADMSG;
	if (!complete)
		return 0;
	vs = skip(p, n, name_len + 1, is_ows);
	for (ve = n; ve > vs && is_ows(p[ve - 1]); ve--)
		;
	if (ieq(p, name_len, "content-length"))
		return parse_content_length(st, p + vs, ve - vs);
	if (ieq(p, name_len, "transfer-encoding"))
		st->transfer_encoding = true;
	else if (ieq(p, name_len, "connection"))
		prefs_feed(&st->prefs, p + vs, ve - vs, false, classify_connection);
	else if (ieq(p, name_len, "accept"))
		prefs_feed(&st->prefs, p + vs, ve - vs, true, classify_media);
	else if (ieq(p, name_len, "accept-encoding"))
		prefs_feed(&st->prefs, p + vs, ve - vs, false, classify_coding);
	return 0;
}

static int finish_head(struct head_state *st, struct web_request *req, size_t head_len)
{
	struct web_request *r = &st->req;

	r->has_body = st->transfer_encoding || st->content_length > 0;
	r->keep_alive = !st->prefs.seen[CONN_CLOSE] &&
			(r->minor_version >= 1 || st->prefs.seen[CONN_KEEP_ALIVE]);
	r->want_openmetrics = prefs_want_openmetrics(&st->prefs);
	r->want_gzip = prefs_want_gzip(&st->prefs);
	*req = *r;
	return (int)head_len;
}

int web_request_parse(const char *buf, size_t len, size_t max_head, struct web_request *req)
{
	struct head_state st;
	size_t win, pos = 0;
	int empty_lines = 0, err;

	/* The head length comes back as an int. */
	if (max_head > INT_MAX)
		max_head = INT_MAX;
	/* Bytes past max_head can never be part of an acceptable head. */
	win = len < max_head ? len : max_head;
	memset(&st, 0, sizeof(st));
	while (pos < win) {
		const char *line = buf + pos;
		const char *lf = memchr(line, '\n', win - pos);
		size_t end = lf ? (size_t)(lf - buf) : win;
		size_t n = end - pos;

		/* CR before LF is optional; an unfinished line may end in the CR of its CRLF. */
		if (n && line[n - 1] == '\r')
			n--;
		if (lf && n == 0) {
			if (st.in_headers)
				return finish_head(&st, req, end + 1);
			if (++empty_lines > WEB_MAX_LEADING_EMPTY_LINES)
				return -EBADMSG;
		} else {
			/* NUL never passes these character checks, wherever it is. */
			if (st.in_headers)
				err = parse_field_line(&st, line, n, lf != NULL);
			else
				err = parse_request_line(&st.req, line, n, lf != NULL);
			if (err)
				return err;
			st.in_headers = true;
		}
		pos = end + 1;
	}
	return len >= max_head ? -EMSGSIZE : 0;
}
