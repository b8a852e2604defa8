/* exposition/expo_parse.c — Prometheus text 0.0.4 back into a metric snapshot, line by line,
 * refusing what the writer could not have written. */
#include "exposition/expo_parse.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"

/* Bucket counts are doubles on the page; above 2^53 they stop being exact integers. */
#define MAX_EXACT_COUNT 9007199254740992.0

enum family_kind { KIND_NONE, KIND_COUNTER, KIND_GAUGE, KIND_HISTOGRAM, KIND_SUMMARY };

struct sample {
	const char *name;
	size_t nlabels;
	const char *names[EXPO_PARSE_MAX_LABELS];
	const char *values[EXPO_PARSE_MAX_LABELS];
	double value;
};

/* The histogram series being read: its labels without le, serialised "n\0v\0n\0v\0". */
struct open_histogram {
	bool open;
	struct buf key;
	size_t nlabels;
	size_t nbounds;
	double bounds[EXPO_PARSE_MAX_BOUNDS];
	double cumulative[EXPO_PARSE_MAX_BOUNDS];
	bool has_inf, has_sum, has_count;
	double inf, sum, count;
};

struct parser {
	struct metric_snapshot *s;
	struct buf family; /* current family name */
	struct buf help;
	enum family_kind kind;
	struct open_histogram h;
	struct buf key; /* scratch for one line's serialised labels */
	char *scratch;	/* one line's names and unescaped values */
	size_t line;
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(p->err, p->errlen, "line %zu: ", p->line);

	if (n >= 0 && (size_t)n < p->errlen) {
		va_start(ap, fmt);
		vsnprintf(p->err + n, p->errlen - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static bool name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}

static bool name_char(char c)
{
	return name_start(c) || (c >= '0' && c <= '9');
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* A sample value: a decimal or exponent number, or +Inf, -Inf, Inf, NaN. */
static int parse_value(const char *s, double *out)
{
	char *end;

	if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0) {
		*out = INFINITY;
		return 0;
	}
	if (strcmp(s, "-Inf") == 0) {
		*out = -INFINITY;
		return 0;
	}
	if (strcmp(s, "NaN") == 0) {
		*out = NAN;
		return 0;
	}
	/* strtod would also take "inf", "nan" and hex; the format has none of them */
	for (const char *c = s; *c; c++)
		if (!strchr("0123456789.eE+-", *c))
			return -EINVAL;
	errno = 0;
	*out = strtod(s, &end);
	return (*s && *end == '\0' && errno != ERANGE) ? 0 : -EINVAL;
}

int expo_sample_tail(const char *l, size_t len, size_t i, double *out)
{
	char value[64];
	size_t n = 0;

	if (i >= len || !blank(l[i]))
		return -EINVAL;
	while (i < len && blank(l[i]))
		i++;
	while (i < len && !blank(l[i])) {
		if (n + 1 >= sizeof(value))
			return -EINVAL;
		value[n++] = l[i++];
	}
	value[n] = '\0';
	if (parse_value(value, out))
		return -EINVAL;
	while (i < len && blank(l[i]))
		i++;
	/* an optional timestamp (milliseconds); hostmon writes none and needs none */
	while (i < len && (l[i] == '-' || (l[i] >= '0' && l[i] <= '9')))
		i++;
	while (i < len && blank(l[i]))
		i++;
	return i == len ? 0 : -EINVAL;
}

size_t expo_metric_name_len(const char *l, size_t len)
{
	size_t i = 0;
	if (!len || !name_start(l[0]))
		return 0;
	while (i < len && name_char(l[i]))
		i++;
	return i;
}

int expo_lines_init(struct expo_lines *r, size_t max_line)
{
	*r = (struct expo_lines){ .max_line = max_line };
	return 0;
}

/* Hands fn one line, the newline left out; a line longer than the limit fails. */
static int emit_line(struct expo_lines *r, const char *l, size_t n, expo_line_fn fn, void *arg)
{
	r->line++;
	if (n > r->max_line)
		return -E2BIG;
	if (memchr(l, '\0', n))
		return -EBADMSG;
	return fn(arg, l, n);
}

int expo_lines_feed(struct expo_lines *r, const char *data, size_t len, expo_line_fn fn, void *arg)
{
	while (len) {
		const char *nl = memchr(data, '\n', len);
		size_t n = nl ? (size_t)(nl - data) : len;
		int rc;

		if (r->partial.len + n > r->max_line) {
			r->line++;
			return -E2BIG; /* caught before it is buffered: memory stays bounded */
		}
		if (!nl) {
			buf_append(&r->partial, data, n);
			return r->partial.err;
		}
		if (r->partial.len) {
			/* the line began in an earlier piece: only then is it copied */
			buf_append(&r->partial, data, n);
			if (r->partial.err)
				return r->partial.err;
			rc = emit_line(r, r->partial.data, r->partial.len, fn, arg);
			buf_reset(&r->partial);
		} else {
			rc = emit_line(r, data, n, fn, arg);
		}
		if (rc)
			return rc;
		data += n + 1;
		len -= n + 1;
	}
	return 0;
}

int expo_lines_finish(const struct expo_lines *r)
{
	/* a page ends with a newline: anything after the last one was cut short */
	return r->partial.len ? -EBADMSG : 0;
}

void expo_lines_free(struct expo_lines *r)
{
	buf_free(&r->partial);
}

/* Splits one sample line into p->scratch: name, labels (unescaped), value. */
static int parse_sample(struct parser *p, const char *l, size_t len, struct sample *out)
{
	char *w = p->scratch;
	size_t i = 0;

	if (!name_start(l[0]))
		return fail(p, "a sample must start with a metric name");
	out->name = w;
	while (i < len && name_char(l[i]))
		*w++ = l[i++];
	*w++ = '\0';
	out->nlabels = 0;
	if (i < len && l[i] == '{') {
		i++;
		for (;;) {
			while (i < len && blank(l[i]))
				i++;
			if (i < len && l[i] == '}') {
				i++;
				break;
			}
			if (out->nlabels == EXPO_PARSE_MAX_LABELS)
				return fail(p, "more than %d labels", EXPO_PARSE_MAX_LABELS);
			if (i >= len || !name_start(l[i]))
				return fail(p, "expected a label name");
			out->names[out->nlabels] = w;
			while (i < len && name_char(l[i]))
				*w++ = l[i++];
			*w++ = '\0';
			if (i + 1 >= len || l[i] != '=' || l[i + 1] != '"')
				return fail(p, "expected =\" after label %s",
					    out->names[out->nlabels]);
			i += 2;
			out->values[out->nlabels] = w;
			while (i < len && l[i] != '"') {
				if (l[i] == '\\') {
					if (i + 1 >= len || !strchr("\\\"n", l[i + 1]))
						return fail(p, "bad escape in a label value");
					*w++ = l[i + 1] == 'n' ? '\n' : l[i + 1];
					i += 2;
				} else {
					*w++ = l[i++];
				}
			}
			if (i >= len)
				return fail(p, "unterminated label value");
			*w++ = '\0';
			i++;
			out->nlabels++;
			while (i < len && blank(l[i]))
				i++;
			if (i < len && l[i] == ',') {
				i++;
				continue;
			}
			if (i < len && l[i] == '}') {
				i++;
				break;
			}
			return fail(p, "expected , or } after a label");
		}
	}
	if (i >= len || !blank(l[i]))
		return fail(p, "expected a space and a value after %s", out->name);
	if (expo_sample_tail(l, len, i, &out->value))
		return fail(p, "bad sample value or unexpected text after the value of %s",
			    out->name);
	return 0;
}

/* Serialises a sample's labels, leaving out skip (le for buckets), into p->key. */
static void labels_key(struct parser *p, const struct sample *smp, const char *skip)
{
	buf_reset(&p->key);
	for (size_t i = 0; i < smp->nlabels; i++) {
		if (skip && strcmp(smp->names[i], skip) == 0)
			continue;
		buf_append(&p->key, smp->names[i], strlen(smp->names[i]) + 1);
		buf_append(&p->key, smp->values[i], strlen(smp->values[i]) + 1);
	}
}

static bool whole_count(double v)
{
	return v >= 0 && v <= MAX_EXACT_COUNT && v == floor(v);
}

static int check_snapshot(struct parser *p, const char *what)
{
	int rc = metric_snapshot_error(p->s);

	if (rc == -ENOMEM)
		return rc;
	if (rc)
		return fail(p,
			    "%s %s: its name, labels or buckets differ from the family's earlier "
			    "series, or are not valid",
			    what, p->family.data);
	return 0;
}

/* Adds the histogram series read so far to the snapshot. */
static int flush_histogram(struct parser *p)
{
	struct open_histogram *h = &p->h;
	const char *names[EXPO_PARSE_MAX_LABELS], *values[EXPO_PARSE_MAX_LABELS];
	uint64_t counts[EXPO_PARSE_MAX_BOUNDS + 1];
	double prev = 0;

	if (!h->open)
		return 0;
	h->open = false;
	if (!h->has_inf)
		return fail(p, "histogram %s: a series without its +Inf bucket", p->family.data);
	if (h->has_count && h->count != h->inf)
		return fail(p, "histogram %s: _count %g differs from the +Inf bucket %g",
			    p->family.data, h->count, h->inf);
	for (size_t i = 0; i <= h->nbounds; i++) {
		double c = i < h->nbounds ? h->cumulative[i] : h->inf;
		if (!whole_count(c) || c < prev)
			return fail(p,
				    "histogram %s: bucket counts must be whole and never decrease",
				    p->family.data);
		counts[i] = (uint64_t)(c - prev);
		prev = c;
	}
	const char *k = h->key.data;
	for (size_t i = 0; i < h->nlabels; i++) {
		names[i] = k;
		k += strlen(k) + 1;
		values[i] = k;
		k += strlen(k) + 1;
	}
	struct metric_family *f = metric_histogram_get(p->s, p->family.data, p->help.data,
						       h->nlabels, names, h->nbounds, h->bounds);
	metric_add_histogram(f, values, counts, h->has_sum ? h->sum : 0);
	return check_snapshot(p, "histogram");
}

static int start_family(struct parser *p, const char *name, enum family_kind kind)
{
	int rc = flush_histogram(p);

	buf_reset(&p->family);
	buf_puts(&p->family, name);
	buf_reset(&p->help);
	buf_putc(&p->help, '\0');
	p->kind = kind;
	return rc;
}

static int histogram_sample(struct parser *p, const struct sample *smp, const char *part)
{
	struct open_histogram *h = &p->h;
	bool bucket = strcmp(part, "_bucket") == 0;

	labels_key(p, smp, bucket ? "le" : NULL);
	if (p->key.err)
		return -ENOMEM;
	/* a series without labels has an empty key (and no buffer behind it) */
	bool same = h->open && h->key.len == p->key.len &&
		    (!p->key.len || memcmp(h->key.data, p->key.data, p->key.len) == 0);
	if (!bucket) {
		if (!same)
			return fail(p, "%s%s does not follow its series' buckets", p->family.data,
				    part);
		if (part[1] == 's') {
			h->sum = smp->value;
			h->has_sum = true;
		} else {
			h->count = smp->value;
			h->has_count = true;
		}
		return 0;
	}
	const char *le = NULL;
	for (size_t i = 0; i < smp->nlabels; i++)
		if (strcmp(smp->names[i], "le") == 0)
			le = smp->values[i];
	if (!le)
		return fail(p, "%s_bucket without an le label", p->family.data);
	if (!same || h->has_inf) {
		/* a label set seen again starts another series: the model keeps duplicates
		 * (the daemon writes some for cgroups it no longer names) */
		int rc = flush_histogram(p);
		if (rc)
			return rc;
		buf_reset(&h->key);
		if (p->key.len)
			buf_append(&h->key, p->key.data, p->key.len);
		if (h->key.err)
			return -ENOMEM;
		*h = (struct open_histogram){ .open = true,
					      .key = h->key,
					      .nlabels = smp->nlabels - 1 };
	}
	double bound;
	if (parse_value(le, &bound) || isnan(bound))
		return fail(p, "bad le \"%s\"", le);
	if (isinf(bound)) {
		h->inf = smp->value;
		h->has_inf = true;
		return 0;
	}
	if (h->nbounds == EXPO_PARSE_MAX_BOUNDS)
		return fail(p, "more than %d buckets", EXPO_PARSE_MAX_BOUNDS);
	if (h->nbounds && !(bound > h->bounds[h->nbounds - 1]))
		return fail(p, "histogram %s: le bounds must ascend", p->family.data);
	h->bounds[h->nbounds] = bound;
	h->cumulative[h->nbounds++] = smp->value;
	return 0;
}

static int sample_line(struct parser *p, const char *l, size_t len)
{
	struct sample smp;
	int rc = parse_sample(p, l, len, &smp);

	if (rc)
		return rc;
	const char *fam = p->family.len ? p->family.data : "";
	size_t flen = strlen(fam);
	bool child = flen && strncmp(smp.name, fam, flen) == 0;
	const char *part = child ? smp.name + flen : NULL;

	if (p->kind == KIND_HISTOGRAM && child &&
	    (!strcmp(part, "_bucket") || !strcmp(part, "_sum") || !strcmp(part, "_count")))
		return histogram_sample(p, &smp, part);
	if (p->kind == KIND_SUMMARY && child &&
	    (!*part || !strcmp(part, "_sum") || !strcmp(part, "_count")))
		return 0;
	if (!child || *part || p->kind == KIND_HISTOGRAM || p->kind == KIND_SUMMARY) {
		/* a sample without a TYPE line of its own: untyped, kept as a gauge */
		rc = start_family(p, smp.name, KIND_GAUGE);
		if (rc)
			return rc;
	}
	if (p->family.err || p->help.err)
		return -ENOMEM;
	enum metric_type type = p->kind == KIND_COUNTER ? METRIC_COUNTER : METRIC_GAUGE;
	if (type == METRIC_COUNTER && !has_suffix(smp.name, "_total"))
		return fail(p, "counter %s does not end in _total", smp.name);
	struct metric_family *f =
		metric_family_get(p->s, smp.name, p->help.data, type, smp.nlabels, smp.names);
	metric_add(f, smp.values, smp.value);
	return check_snapshot(p, "family");
}

/* "# HELP name text" and "# TYPE name kind"; other comments are ignored. */
static int comment_line(struct parser *p, const char *l, size_t len)
{
	bool help = len > 7 && memcmp(l, "# HELP ", 7) == 0;
	bool type = len > 7 && memcmp(l, "# TYPE ", 7) == 0;
	size_t i = 7, start;
	char name[512];

	if (!help && !type)
		return 0;
	start = i;
	while (i < len && name_char(l[i]))
		i++;
	if (i == start || i - start >= sizeof(name) || !name_start(l[start]))
		return fail(p, "a %s line needs a metric name", help ? "HELP" : "TYPE");
	memcpy(name, l + start, i - start);
	name[i - start] = '\0';
	bool same = p->family.len && strcmp(name, p->family.data) == 0;
	if (i < len && l[i] == ' ')
		i++;
	if (help) {
		int rc = same ? flush_histogram(p) : start_family(p, name, KIND_NONE);
		if (rc)
			return rc;
		buf_reset(&p->help);
		for (; i < len; i++) {
			if (l[i] == '\\' && i + 1 < len && (l[i + 1] == '\\' || l[i + 1] == 'n')) {
				buf_putc(&p->help, l[i + 1] == 'n' ? '\n' : '\\');
				i++;
			} else {
				buf_putc(&p->help, l[i]);
			}
		}
		buf_putc(&p->help, '\0');
		return p->help.err;
	}
	static const struct {
		const char *word;
		enum family_kind kind;
	} kinds[] = { { "counter", KIND_COUNTER },
		      { "gauge", KIND_GAUGE },
		      { "histogram", KIND_HISTOGRAM },
		      { "summary", KIND_SUMMARY },
		      { "untyped", KIND_GAUGE } };
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		if (len - i != strlen(kinds[k].word) || memcmp(l + i, kinds[k].word, len - i))
			continue;
		if (!same)
			return start_family(p, name, kinds[k].kind);
		int rc = flush_histogram(p);
		p->kind = kinds[k].kind;
		return rc;
	}
	return fail(p, "unknown TYPE \"%.*s\"", (int)(len - i), l + i);
}

int expo_parse_text(const char *text, size_t len, struct metric_snapshot *s, char *err,
		    size_t errlen)
{
	struct parser p = { .s = s, .err = err, .errlen = errlen };
	size_t pos = 0;
	int rc = 0;

	/* every byte of a line lands at most once in scratch, plus a NUL per name and value */
	p.scratch = malloc(2 * EXPO_PARSE_MAX_LINE + 2);
	if (!p.scratch)
		return -ENOMEM;
	while (!rc && pos < len) {
		const char *l = text + pos;
		const char *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;

		pos += n + (nl ? 1 : 0);
		p.line++;
		if (n > EXPO_PARSE_MAX_LINE)
			rc = fail(&p, "longer than %d bytes", EXPO_PARSE_MAX_LINE);
		else if (memchr(l, '\0', n))
			rc = fail(&p, "a NUL byte");
		else if (n == 0 || (n && l[0] == '#'))
			rc = n ? comment_line(&p, l, n) : 0;
		else
			rc = sample_line(&p, l, n);
	}
	if (!rc)
		rc = flush_histogram(&p); /* the last series ends with the page: its last line */
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	free(p.scratch);
	buf_free(&p.family);
	buf_free(&p.help);
	buf_free(&p.key);
	buf_free(&p.h.key);
	return rc;
}

const struct metric_family *metric_snapshot_find(const struct metric_snapshot *s, const char *name)
{
	for (const struct metric_family *f = metric_snapshot_first(s); f; f = metric_family_next(f))
		if (strcmp(metric_family_name(f), name) == 0)
			return f;
	return NULL;
}

int metric_family_label_index(const struct metric_family *f, const char *name)
{
	for (size_t i = 0; f && i < metric_family_nlabels(f); i++)
		if (strcmp(metric_family_label_name(f, i), name) == 0)
			return (int)i;
	return -1;
}
