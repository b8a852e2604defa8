/* http_latency/route.bpf.h — a request target's route key: the first configured pattern that
 * matches, else the path with id-like segments folded to ":id". Plain C: compiled into the BPF
 * programs and, for the labels and the tests, on the host, so both give one answer. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_ROUTE_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_ROUTE_BPF_H

/*
 * API:
 *   http_route_key(path, len, pats, npats, scratch, &pattern): the route
 *     key of the request target at path (len <= HTTP_ROUTE_LEN bytes). The
 *     path ends at a byte <= ' ' (space, CR, LF, NUL), '?', '#' or len, so
 *     the query and fragment never count. The key of the first of
 *     pats[0..npats) that matches, *pattern = its index + 1; else the
 *     default key, *pattern = 0. Never HTTP_ROUTE_NONE or HTTP_ROUTE_OTHER.
 *     path points at a buffer of HTTP_ROUTE_BUF bytes. scratch
 *     holds the path's segment hashes for the pattern match (a per-CPU map
 *     slot in BPF). The bytes are walked by bpf_loop() in BPF (a plain loop
 *     on the host): the verifier checks one step instead of every path
 *     through all of them, which it could not finish.
 *   Folding (the default key, and the label user space shows): segments
 *     are split on '/', empty ones dropped ("//a/" is "/a"), no segment at
 *     all is "/"; a segment is an id — shown ":id" — when it is all digits,
 *     a UUID (8-4-4-4-12 hex), or 16 or more hex digits. The default key is
 *     http_route_text_key() of the folded text, so a label names its key.
 *     An absolute-form target (http://host/p) is its path after the host;
 *     the asterisk form ("*") is the route "*" and matches no pattern.
 *   Patterns: a path matches when it has exactly nsegs segments (star: at
 *     least nsegs) and each of the first nsegs has the raw hash seg_hash[i]
 *     (http_route_segment_hash of its bytes), or seg_hash[i] is 0 (":name",
 *     any one segment). Segments are compared raw, ids unfolded.
 *   Hashes are FNV-1a 64. http_route_segment_hash() is never 0 (0 means a
 *   parameter); keys below HTTP_ROUTE_FIRST_KEY become it.
 */

#include "../lib/plain_c.bpf.h" /* by relative path: host builds include this header too */

#include "http_latency.h"

#define HTTP_ROUTE_FNV_OFFSET 0xcbf29ce484222325ULL
#define HTTP_ROUTE_FNV_PRIME  0x100000001b3ULL
#define HTTP_ROUTE_FIRST_KEY  2 /* 0 and 1 are HTTP_ROUTE_NONE and HTTP_ROUTE_OTHER */

/* A segment's shape, fed one byte at a time: whether it is an id. */
struct http_route_shape {
	__u32 len;
	__u8 digits, hex, uuid, pad;
};

/*
 * The walk's state: in a per-CPU map value in BPF, because the verifier does not follow what a
 * map value holds. On the stack, every combination of the shape's flags and counters was a
 * state of its own at every byte, more than it could walk.
 */
struct http_route_scratch {
	__u64 seg[HTTP_ROUTE_MAX_SEGS]; /* raw segment hashes, for the pattern match */
	__u64 folded;			/* the folded text's hash so far */
	__u64 before;			/* at the current segment's '/' */
	__u64 hash;			/* ... through the segment's bytes */
	__u64 raw;			/* the segment's bytes alone */
	__u32 nsegs, pad;
	struct http_route_shape shape;
};

/* Path buffers: a power of two that holds HTTP_ROUTE_LEN, so an index masked with
 * HTTP_ROUTE_BUF - 1 stays inside one for the verifier. */
#define HTTP_ROUTE_BUF 128
_Static_assert(HTTP_ROUTE_BUF >= HTTP_ROUTE_LEN && (HTTP_ROUTE_BUF & (HTTP_ROUTE_BUF - 1)) == 0,
	       "HTTP_ROUTE_BUF: a power of two that holds HTTP_ROUTE_LEN");

static __always_inline __u64 http_route_fnv(__u64 h, __u8 c)
{
	return (h ^ c) * HTTP_ROUTE_FNV_PRIME;
}

static __always_inline __u64 http_route_fix_key(__u64 key)
{
	return key < HTTP_ROUTE_FIRST_KEY ? HTTP_ROUTE_FIRST_KEY : key;
}

/* Where a path ends: 1 for a byte that is not part of it. */
static __always_inline int http_route_end(__u8 c)
{
	return c <= ' ' || c == '?' || c == '#';
}

static __always_inline int http_route_hex(__u8 c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static __always_inline void http_route_shape_reset(struct http_route_shape *s)
{
	s->len = 0;
	s->digits = s->hex = s->uuid = 1;
}

static __always_inline void http_route_shape_feed(struct http_route_shape *s, __u8 c)
{
	__u32 at = s->len;
	int dash = at == 8 || at == 13 || at == 18 || at == 23;
	s->digits &= c >= '0' && c <= '9';
	s->hex &= http_route_hex(c);
	s->uuid &= dash ? c == '-' : http_route_hex(c);
	s->len = at + 1;
}

static __always_inline int http_route_shape_is_id(const struct http_route_shape *s)
{
	return s->len && (s->digits || (s->hex && s->len >= 16) || (s->uuid && s->len == 36));
}

/* FNV-1a 64 of a pattern's literal segment; never 0. */
static __always_inline __u64 http_route_segment_hash(const char *s, __u32 n)
{
	__u64 h = HTTP_ROUTE_FNV_OFFSET;
	for (__u32 i = 0; i < HTTP_ROUTE_LEN && i < n; i++)
		h = http_route_fnv(h, (__u8)s[i]);
	return h ? h : 1;
}

/* The key of a label text (a folded path, or a pattern as configured). */
static __always_inline __u64 http_route_text_key(const char *s, __u32 n)
{
	__u64 h = HTTP_ROUTE_FNV_OFFSET;
	for (__u32 i = 0; i < 2 * HTTP_ROUTE_LEN && i < n; i++)
		/* i < n: cppcheck sees only the constant bound against a short literal */
		// cppcheck-suppress arrayIndexOutOfBounds
		h = http_route_fnv(h, (__u8)s[i]);
	return http_route_fix_key(h);
}

/* Bytes before the path of an absolute-form target ("http://host"), 0 for origin form. */
static __always_inline __u32 http_route_skip(const __u8 *path, __u32 len)
{
	__u32 slashes = 0, at = 0;
	if (len == 0 || path[0] == '/')
		return 0;
	for (__u32 i = 0; i < HTTP_ROUTE_LEN; i++) {
		if (i >= len || http_route_end(path[i]))
			return i;
		if (path[i] == '/' && ++slashes == 3) {
			at = i;
			break;
		}
	}
	return at;
}

/* The walk over a path's bytes, one step per byte (and one past the end). */
struct http_route_walk {
	const __u8 *path;
	struct http_route_scratch *st;
	__u32 len, skip;
};

/* One byte of the walk; 1 once the path has ended. A callback of bpf_loop() in BPF. */
static long http_route_step(__u32 i, void *ctx)
{
	struct http_route_walk *w = ctx;
	struct http_route_scratch *st = w->st;
	__u32 at = i;
	/* masked where the access is: clang would drop a mask it can prove changes nothing,
	 * and the verifier cannot prove it */
	asm volatile("" : "+r"(at));
	__u8 c = i < w->len && i < HTTP_ROUTE_LEN ? w->path[at & (HTTP_ROUTE_BUF - 1)] : 0;
	int end = i >= w->len || http_route_end(c);

	if (i < w->skip)
		return 0;
	if (end || c == '/') {
		if (st->shape.len) { /* a segment ends */
			if (http_route_shape_is_id(&st->shape)) {
				__u64 h = http_route_fnv(st->before, ':');
				h = http_route_fnv(h, 'i');
				st->folded = http_route_fnv(h, 'd');
			} else {
				st->folded = st->hash;
			}
			__u32 n = st->nsegs;
			if (n < HTTP_ROUTE_MAX_SEGS)
				st->seg[n & (HTTP_ROUTE_MAX_SEGS - 1)] = st->raw ? st->raw : 1;
			st->nsegs = n + 1;
			http_route_shape_reset(&st->shape);
		}
		return end;
	}
	if (!st->shape.len) { /* a segment starts */
		st->before = http_route_fnv(st->folded, '/');
		st->hash = st->before;
		st->raw = HTTP_ROUTE_FNV_OFFSET;
	}
	st->hash = http_route_fnv(st->hash, c);
	st->raw = http_route_fnv(st->raw, c);
	http_route_shape_feed(&st->shape, c);
	return 0;
}

static __always_inline __u64 http_route_key(const __u8 *path, __u32 len,
					    const volatile struct http_route_pattern *pats,
					    __u32 npats, struct http_route_scratch *scratch,
					    __u8 *pattern)
{
	struct http_route_walk w = { .path = path, .st = scratch };

	*pattern = 0;
	if (len > HTTP_ROUTE_LEN)
		len = HTTP_ROUTE_LEN;
	if (len && path[0] == '*')
		return http_route_text_key("*", 1);
	w.len = len;
	w.skip = http_route_skip(path, len);
	scratch->folded = HTTP_ROUTE_FNV_OFFSET;
	scratch->nsegs = 0;
	http_route_shape_reset(&scratch->shape);
#ifdef __bpf__
	bpf_loop(HTTP_ROUTE_LEN + 1, http_route_step, &w, 0);
#else
	for (__u32 i = 0; i <= HTTP_ROUTE_LEN; i++)
		if (http_route_step(i, &w))
			break;
#endif
	__u32 nsegs = scratch->nsegs;
	__u64 folded = nsegs ? scratch->folded : http_route_fnv(HTTP_ROUTE_FNV_OFFSET, '/');

	for (__u32 p = 0; p < HTTP_MAX_ROUTE_PATTERNS; p++) {
		if (p >= npats)
			break;
		__u32 want = pats[p].nsegs;
		if (pats[p].star ? nsegs < want : nsegs != want)
			continue;
		int match = 1;
		for (__u32 j = 0; j < HTTP_ROUTE_MAX_SEGS; j++) {
			__u64 h = pats[p].seg_hash[j];
			if (j < want && h && h != scratch->seg[j])
				match = 0;
		}
		if (match) {
			*pattern = (__u8)(p + 1);
			return pats[p].key;
		}
	}
	return http_route_fix_key(folded);
}

#ifndef __bpf__
/*
 * Host only: the folded text of path (the label of a default key), NUL-terminated in out; its
 * length. Follows http_route_key() byte for byte, so http_route_text_key(out) is the key.
 */
static inline __u32 http_route_fold(const __u8 *path, __u32 len, char *out, __u32 outlen)
{
	struct http_route_shape shape;
	__u32 n = 0, start = 0;

	if (outlen < 4)
		return 0;
	if (len > HTTP_ROUTE_LEN)
		len = HTTP_ROUTE_LEN;
	if (len && path[0] == '*') {
		out[0] = '*';
		out[1] = '\0';
		return 1;
	}
	__u32 skip = http_route_skip(path, len);
	http_route_shape_reset(&shape);
	for (__u32 i = skip; i <= len; i++) {
		__u8 c = i < len ? path[i] : 0;
		int end = i >= len || http_route_end(c);
		if (end || c == '/') {
			if (shape.len && n + 4 < outlen) {
				out[n++] = '/';
				if (http_route_shape_is_id(&shape)) {
					out[n++] = ':';
					out[n++] = 'i';
					out[n++] = 'd';
				} else {
					for (__u32 k = start; k < i && n + 1 < outlen; k++)
						out[n++] = (char)path[k];
				}
			}
			http_route_shape_reset(&shape);
			if (end)
				break;
			continue;
		}
		if (!shape.len)
			start = i;
		http_route_shape_feed(&shape, c);
	}
	if (!n)
		out[n++] = '/';
	out[n] = '\0';
	return n;
}
#endif

#endif
