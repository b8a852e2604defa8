/* exposition/expo.c — the exposition writer: Prometheus text 0.0.4 / OpenMetrics 1.0 rendering and
 * gzip. */
#include "exposition/expo.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "exposition/expo_num.h"

/*
 * A scrape of 100k series must render in a few milliseconds, so samples
 * are written without printf (see expo_num.h): each series reserves its
 * worst-case size once and is then written through a plain pointer.
 */

/* Worst case growth of an escaped byte: an invalid byte becomes U+FFFD (3 bytes). */
#define ESC_MAX 3

/* Bit 1: escaped everywhere (\\, newline, non-ASCII for UTF-8 checking); bit 2: a quote. */
static const unsigned char esc_class[256] = {
	['\\'] = 1,
	['\n'] = 1,
	['"'] = 2,
	[0x80 ... 0xff] = 1,
};

/* What follows the backslash for each escaped ASCII byte. */
static const char esc_char[128] = {
	['\\'] = '\\',
	['\n'] = 'n',
	['"'] = '"',
};

/* Length of the well-formed UTF-8 sequence at u (Unicode table 3-7), 0 if none. */
static size_t utf8_len(const unsigned char *u, size_t avail)
{
	unsigned char c = u[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	/* Overlongs, surrogates and code points above U+10FFFF show in the second byte. */
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (avail < n || u[1] < lo || u[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (u[i] < 0x80 || u[i] > 0xbf)
			return 0;
	return n;
}

/*
 * Copies s escaped to p, which has room for ESC_MAX * len bytes. Runs of
 * plain ASCII are copied with memcpy; UTF-8 is checked only from the first
 * byte >= 0x80 on. quote selects whether '"' is escaped.
 */
static char *put_escaped(char *p, const char *s, size_t len, bool quote)
{
	const unsigned char *u = (const unsigned char *)s, *end = u + len, *run;
	unsigned char mask = quote ? 3 : 1;
	size_t n;

	while (u < end) {
		run = u;
		while (u < end && !(esc_class[*u] & mask))
			u++;
		memcpy(p, run, (size_t)(u - run));
		p += u - run;
		if (u == end)
			break;
		if (*u < 0x80) {
			*p++ = '\\';
			*p++ = esc_char[*u++];
		} else if ((n = utf8_len(u, (size_t)(end - u)))) {
			memcpy(p, u, n);
			p += n;
			u += n;
		} else {
			/* One U+FFFD per byte that starts no valid sequence (as Go does). */
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
			u++;
		}
	}
	return p;
}

/*
 * Bytes a line may be written past its end: copy_padded() moves 16 bytes at
 * a time, so every reservation carries this slack and every source it
 * reads from (the family context) is padded by as much.
 */
#define SLACK 32

/* Copies n bytes in 16-byte steps, inlined, instead of a libc call per short string. */
static inline char *copy_padded(char *p, const char *s, size_t n)
{
	char *end = p + n;

	do {
		memcpy(p, s, 16);
		p += 16;
		s += 16;
	} while (p < end);
	return end;
}

static inline char *put_suffix(char *p, const char *suffix, size_t len)
{
	memcpy(p, suffix, len);
	return p + len;
}

/* High bit in each byte that is '\\', '"', '\n' or >= 0x80 (exact up to the first one). */
static inline uint64_t special_bytes(uint64_t x)
{
	const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
	uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), n = x ^ (ones * '\n');

	return (((q - ones) & ~q) | ((b - ones) & ~b) | ((n - ones) & ~n) | x) & high;
}

/* Label values are mostly plain ASCII: check and copy eight bytes per step. */
static char *put_label_value(char *p, const char *s, size_t len)
{
	size_t i = 0;
	uint64_t x;

	for (; i + 8 <= len; i += 8, p += 8) {
		memcpy(&x, s + i, 8);
		if (special_bytes(x))
			return put_escaped(p, s + i, len - i, true);
		memcpy(p, &x, 8);
	}
	for (; i < len; i++) {
		if (esc_class[(unsigned char)s[i]])
			return put_escaped(p, s + i, len - i, true);
		*p++ = s[i];
	}
	return p;
}

/* What every series of one family shares, prepared once per family. */
struct family_ctx {
	const struct metric_family *f;
	const char *name; /* padded copy */
	size_t name_len;
	size_t nlabels;
	char **prefix; /* per label: [","] name "=\"", padded */
	size_t *prefix_len;
	const char **values; /* scratch: the current series' label values */
	size_t *value_len;
	size_t fixed; /* bytes of one line without label values, slack included */
	size_t nle;
	char (*le)[EXPO_NUM_MAX];
	size_t *le_len;
	void *mem;
};

static void family_ctx_release(struct family_ctx *c)
{
	free(c->mem);
}

static int family_ctx_prepare(struct family_ctx *c, const struct metric_family *f, bool om)
{
	size_t i, n, names = 0, le_max = 0, size;
	const double *bounds = metric_family_bounds(f);
	const char *name = metric_family_name(f);
	char *str;

	memset(c, 0, sizeof(*c));
	c->f = f;
	c->name_len = strlen(name);
	c->nlabels = metric_family_nlabels(f);
	if (metric_family_type(f) == METRIC_HISTOGRAM)
		c->nle = metric_family_nbounds(f) + 1;
	for (i = 0; i < c->nlabels; i++)
		names += strlen(metric_family_label_name(f, i)) + 4;

	/* One allocation for all per-family tables; n bounds every array count. */
	n = c->nlabels > c->nle ? c->nlabels : c->nle;
	if (n > SIZE_MAX / 256 || names > SIZE_MAX / 4 || c->name_len > SIZE_MAX / 4)
		return -ENOMEM;
	size = n * (2 * sizeof(char *) + 3 * sizeof(size_t) + EXPO_NUM_MAX) + names + c->name_len +
	       SLACK;
	c->mem = malloc(size);
	if (!c->mem)
		return -ENOMEM;
	c->le = c->mem;
	c->prefix = (char **)(c->le + c->nle);
	c->values = (const char **)(c->prefix + c->nlabels);
	c->prefix_len = (size_t *)(c->values + c->nlabels);
	c->value_len = c->prefix_len + c->nlabels;
	c->le_len = c->value_len + c->nlabels;
	str = (char *)(c->le_len + c->nle);

	memcpy(str, name, c->name_len);
	c->name = str;
	str += c->name_len;
	for (i = 0; i < c->nlabels; i++) {
		const char *ln = metric_family_label_name(f, i);
		size_t l = strlen(ln);

		c->prefix[i] = str;
		if (i)
			*str++ = ',';
		memcpy(str, ln, l);
		str += l;
		*str++ = '=';
		*str++ = '"';
		c->prefix_len[i] = (size_t)(str - c->prefix[i]);
	}
	for (i = 0; i < c->nle; i++) {
		if (i + 1 < c->nle) {
			c->le_len[i] = expo_num_format_le(c->le[i], bounds[i], om);
		} else {
			memcpy(c->le[i], "+Inf", 4);
			c->le_len[i] = 4;
		}
		if (c->le_len[i] > le_max)
			le_max = c->le_len[i];
	}
	/* name + "_bucket{" + labels + ",le=\"...\"} " + value + "\n" */
	c->fixed = c->name_len + 16 + names + le_max + EXPO_NUM_MAX + SLACK;
	return 0;
}

static char *put_labels(char *p, const struct family_ctx *c)
{
	size_t i;

	for (i = 0; i < c->nlabels; i++) {
		p = copy_padded(p, c->prefix[i], c->prefix_len[i]);
		p = put_label_value(p, c->values[i], c->value_len[i]);
		*p++ = '"';
	}
	return p;
}

/* The lengths of the label values in c->values; returns their total. */
static size_t measure_values(struct family_ctx *c)
{
	size_t i, total = 0;

	for (i = 0; i < c->nlabels; i++) {
		c->value_len[i] = strlen(c->values[i]);
		total += c->value_len[i];
	}
	return total;
}

/* Loads the series' label values into the context; returns their total length. */
static size_t load_values(struct family_ctx *c, const struct metric_series *m)
{
	for (size_t i = 0; i < c->nlabels; i++)
		c->values[i] = metric_series_label_value(m, i);
	return measure_values(c);
}

/* One sample line of the label values loaded in c. */
static int render_sample(struct buf *out, struct family_ctx *c, size_t total, double value)
{
	char *p;

	if (buf_reserve(out, c->fixed + ESC_MAX * total))
		return out->err;
	p = out->data + out->len;
	p = copy_padded(p, c->name, c->name_len);
	if (c->nlabels) {
		*p++ = '{';
		p = put_labels(p, c);
		*p++ = '}';
	}
	*p++ = ' ';
	p = expo_num_put_value(p, value);
	*p++ = '\n';
	*p = '\0';
	out->len = (size_t)(p - out->data);
	return 0;
}

/*
 * Series buckets are non-cumulative: the le="x" line carries the running
 * total, +Inf and _count carry the grand total. The label block is escaped
 * once, on the first line, and copied for the others (the copy may read
 * past the block, but only into this series' own, already written, text).
 */
static int render_histogram(struct buf *out, struct family_ctx *c, const struct metric_series *m)
{
	size_t total = load_values(c, m), lines = c->nle + 2, i, lab_len = 0;
	const uint64_t *buckets = metric_series_buckets(m);
	uint64_t cum = 0;
	char *p, *lab = NULL;

	if (lines > SIZE_MAX / 2 / (c->fixed + ESC_MAX * total))
		return -ENOMEM;
	if (buf_reserve(out, lines * (c->fixed + ESC_MAX * total)))
		return out->err;
	p = out->data + out->len;
	for (i = 0; i < c->nle; i++) {
		cum += buckets[i];
		p = copy_padded(p, c->name, c->name_len);
		p = put_suffix(p, "_bucket{", 8);
		if (c->nlabels) {
			if (!lab) {
				lab = p;
				p = put_labels(p, c);
				lab_len = (size_t)(p - lab);
			} else {
				p = copy_padded(p, lab, lab_len);
			}
			*p++ = ',';
		}
		p = put_suffix(p, "le=\"", 4);
		p = copy_padded(p, c->le[i], c->le_len[i]);
		p = put_suffix(p, "\"} ", 3);
		p = expo_num_put_u64(p, cum);
		*p++ = '\n';
	}
	for (i = 0; i < 2; i++) {
		p = copy_padded(p, c->name, c->name_len);
		p = i == 0 ? put_suffix(p, "_sum", 4) : put_suffix(p, "_count", 6);
		if (c->nlabels) {
			*p++ = '{';
			p = copy_padded(p, lab, lab_len);
			*p++ = '}';
		}
		*p++ = ' ';
		p = i == 0 ? expo_num_put_value(p, metric_series_sum(m)) : expo_num_put_u64(p, cum);
		*p++ = '\n';
	}
	*p = '\0';
	out->len = (size_t)(p - out->data);
	return 0;
}

static const char *type_name(enum metric_type t)
{
	switch (t) {
	case METRIC_COUNTER:
		return "counter";
	case METRIC_GAUGE:
		return "gauge";
	case METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

/* tag is "# TYPE " or "# HELP ", seven bytes. */
static char *put_meta(char *p, const char *tag, const struct family_ctx *c, size_t name_len)
{
	p = put_suffix(p, tag, 7);
	p = put_suffix(p, c->name, name_len);
	*p++ = ' ';
	return p;
}

/* Text 0.0.4 puts HELP before TYPE (as client_golang); OpenMetrics wants TYPE first. */
static int render_header(struct buf *out, const struct family_ctx *c, bool om)
{
	const char *help = metric_family_help(c->f);
	const char *type = type_name(metric_family_type(c->f));
	size_t help_len = strlen(help), name_len = c->name_len, type_len = strlen(type);
	char *p;

	/* OpenMetrics names the counter family without _total (the snapshot guarantees it). */
	if (om && metric_family_type(c->f) == METRIC_COUNTER)
		name_len -= 6;
	if (help_len > (SIZE_MAX - 64 - 2 * name_len) / ESC_MAX)
		return -ENOMEM;
	if (buf_reserve(out, 2 * name_len + ESC_MAX * help_len + 64))
		return out->err;
	p = out->data + out->len;
	if (om) {
		p = put_meta(p, "# TYPE ", c, name_len);
		p = put_suffix(p, type, type_len);
		*p++ = '\n';
	}
	/* An empty HELP says nothing; both formats allow leaving it out. */
	if (help_len) {
		p = put_meta(p, "# HELP ", c, name_len);
		p = put_escaped(p, help, help_len, om);
		*p++ = '\n';
	}
	if (!om) {
		p = put_meta(p, "# TYPE ", c, name_len);
		p = put_suffix(p, type, type_len);
		*p++ = '\n';
	}
	*p = '\0';
	out->len = (size_t)(p - out->data);
	return 0;
}

/* Hands out's bytes to the sink once they pass EXPO_SINK_BYTES (every byte when last). */
static int drain(struct buf *out, const struct expo_sink *sink, bool last)
{
	int err;

	if (out->err || !sink || (!last && out->len < EXPO_SINK_BYTES) || !out->len)
		return out->err;
	err = sink->take(sink->arg, out->data, out->len);
	buf_reset(out);
	return err;
}

/* The series of a generated node, each written as it is made. */
static int render_generated(struct buf *out, struct family_ctx *c, metric_series_fn series,
			    const void *arg, size_t n, const struct expo_sink *sink)
{
	double value;
	int err = 0;

	for (size_t i = 0; i < n && !err; i++) {
		if (!series(arg, i, c->values, &value))
			continue;
		err = render_sample(out, c, measure_values(c), value);
		if (!err)
			err = drain(out, sink, false);
	}
	return err;
}

static int render_series(struct buf *out, struct family_ctx *c, const struct metric_series *m,
			 const struct expo_sink *sink)
{
	metric_series_fn series;
	const void *arg;
	size_t n;

	if (metric_series_generator(m, &series, &arg, &n))
		return render_generated(out, c, series, arg, n, sink);
	if (c->nle)
		return render_histogram(out, c, m);
	return render_sample(out, c, load_values(c, m), metric_series_value(m));
}

/*
 * A snapshot with a recorded error still holds only valid families and
 * series (failed adds are dropped), so it is rendered: one failing
 * collector must not blank the page for the others.
 */
int expo_render_to(const struct metric_snapshot *s, enum expo_format fmt, struct buf *out,
		   const struct expo_sink *sink)
{
	const struct metric_family *f;
	const struct metric_series *m;
	struct family_ctx c;
	bool om = fmt == EXPO_OPENMETRICS;
	int err;

	if (!s || !out || (fmt != EXPO_TEXT && fmt != EXPO_OPENMETRICS) || (sink && !sink->take))
		return -EINVAL;
	if (out->err)
		return out->err;
	for (f = metric_snapshot_first(s); f; f = metric_family_next(f)) {
		err = family_ctx_prepare(&c, f, om);
		if (err)
			return err;
		err = render_header(out, &c, om);
		for (m = metric_family_first_series(f); m && !err; m = metric_series_next(m)) {
			err = render_series(out, &c, m, sink);
			if (!err)
				err = drain(out, sink, false);
		}
		family_ctx_release(&c);
		if (err)
			return err;
	}
	if (om)
		buf_append(out, "# EOF\n", 6);
	return drain(out, sink, true);
}

int expo_render(const struct metric_snapshot *s, enum expo_format fmt, struct buf *out)
{
	return expo_render_to(s, fmt, out, NULL);
}

/*
 * ISA-L igzip level 1: about four times faster than zlib level 1 on a
 * metrics page, and no larger (bench/render_bench.c). Level 1 needs a
 * working buffer besides the 80 KiB stream state; both are allocated per
 * stream, in one block (cheap next to compressing a page), and aligned to a
 * cache line as ISA-L prefers.
 */
struct expo_gzip {
	struct isal_zstream zs;
	_Alignas(64) uint8_t level_buf[ISAL_DEF_LVL1_DEFAULT];
	struct buf *out;
	int err;
};

struct expo_gzip *expo_gzip_begin(struct buf *out)
{
	struct expo_gzip *z;

	if (!out) {
		errno = EINVAL;
		return NULL;
	}
	z = aligned_alloc(_Alignof(struct expo_gzip), sizeof(*z));
	if (!z) {
		errno = ENOMEM;
		return NULL;
	}
	isal_deflate_init(&z->zs);
	z->zs.level = 1;
	z->zs.level_buf = z->level_buf;
	z->zs.level_buf_size = sizeof(z->level_buf);
	z->zs.gzip_flag = IGZIP_GZIP; /* RFC 1952 header and trailer */
	z->zs.flush = NO_FLUSH;
	z->out = out;
	z->err = out->err;
	return z;
}

/*
 * Room for what len more input bytes can make: ISA-L writes a block stored
 * (5 bytes of header per 64 KiB) when compressing would make it larger, and
 * gzip adds 18 bytes of framing; len / 8 + 1024 covers both with a wide
 * margin (and buf_reserve grows by doubling). A call that still finds the
 * room short, with input buffered inside ISA-L, only asks for more.
 */
static int gzip_room(struct expo_gzip *z, size_t len)
{
	return buf_reserve(z->out, len / 8 + 1024);
}

int expo_gzip_write(struct expo_gzip *z, const void *in, size_t len, bool last)
{
	struct buf *out;

	if (!z || (!in && len))
		return -EINVAL;
	if (z->err)
		return z->err;
	/* ISA-L counts in 32-bit fields; a piece over 2 GiB is a runaway, not a page. */
	if (len > UINT32_MAX / 2)
		return -EFBIG;
	out = z->out;
	z->zs.next_in = (uint8_t *)(uintptr_t)(len ? in : "");
	z->zs.avail_in = (uint32_t)len;
	z->zs.end_of_stream = last;
	for (;;) {
		size_t room;
		int ret;

		if ((z->err = gzip_room(z, z->zs.avail_in)))
			return z->err;
		room = out->cap - out->len - 1;
		z->zs.next_out = (uint8_t *)out->data + out->len;
		z->zs.avail_out = room > UINT32_MAX ? UINT32_MAX : (uint32_t)room;
		ret = isal_deflate(&z->zs);
		out->len += room - z->zs.avail_out;
		out->data[out->len] = '\0';
		if (ret != COMP_OK)
			return z->err = -EIO;
		/* done: every byte taken with room to spare, and at the end the trailer written */
		if (!z->zs.avail_in && z->zs.avail_out &&
		    (!last || z->zs.internal_state.state == ZSTATE_END))
			return 0;
	}
}

void expo_gzip_free(struct expo_gzip *z)
{
	free(z);
}

int expo_gzip(const void *in, size_t len, struct buf *out)
{
	struct expo_gzip *z;
	size_t start;
	int err;

	if (!out || (!in && len))
		return -EINVAL;
	if (out->err)
		return out->err;
	start = out->len;
	z = expo_gzip_begin(out);
	if (!z)
		return -errno;
	err = expo_gzip_write(z, in, len, true);
	expo_gzip_free(z);
	if (err && !out->err) {
		out->len = start; /* drop the partial stream, keep the buffer's NUL */
		if (out->data)
			out->data[start] = '\0';
	}
	return err;
}
