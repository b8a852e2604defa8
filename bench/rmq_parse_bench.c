/* rmq_parse_bench.c — times the streaming /api/queues parser on a 50,000-queue listing, beside a
 * cJSON DOM. */
#include <cJSON.h>
#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rabbitmq/parse.h"

/*
 * Usage: rmq_parse_bench [queues [chunk_bytes [runs]]]   (50000 16384 7)
 *
 * The listing is what the collector fetches: a plain array of queue
 * objects (name, vhost, node, type, state, durable, three counts), with
 * names that carry escapes, raw UTF-8, \u escapes and surrogate pairs.
 * The stream is fed in chunk_bytes pieces, as libcurl's write callback
 * would; the baseline is the DOM approach it replaced: cJSON_ParseWithLength
 * on the whole body, then a walk that reads the same fields (keeping
 * pointers into the tree, so it copies less than the old code did).
 * Times are the best and the median of runs. Heap growth is mallinfo2()
 * in-use bytes (arena + mmap) above the level before parsing; the
 * generated document is allocated before that level and not counted, though
 * the DOM approach also needs the whole body buffered, which streaming
 * does not.
 */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static size_t heap_used(void)
{
	struct mallinfo2 mi = mallinfo2();

	return mi.uordblks + mi.hblkhd;
}

static char *generate(size_t nqueues, size_t *len)
{
	static const char *const vhosts[] = { "/", "prod", "a/b \xc3\xa9", "tenant-42" };
	static const char *const nodes[] = { "rabbit@mq-0", "rabbit@mq-1", "rabbit@mq-2" };
	static const char *const types[] = { "classic", "quorum", "stream" };
	static const char *const names[] = {
		"orders.ev.%06zu",
		"billing \\\"quoted\\\" %06zu",
		"caf\\u00e9.r\xc3\xa9sum\xc3\xa9.%06zu",
		"emoji.\\ud83d\\ude00.%06zu",
		"path\\\\with\\/slashes.%06zu",
		"\xe6\x97\xa5\xe6\x9c\xac.queue.%06zu",
		"tab\\there.%06zu",
	};
	size_t cap = nqueues * 256 + 16, n = 0;
	char *doc = malloc(cap), name[128];

	if (!doc)
		return NULL;
	doc[n++] = '[';
	for (size_t i = 0; i < nqueues; i++) {
		unsigned long messages = (i * 2654435761u) % 100000, unacked = messages % 97;

		snprintf(name, sizeof(name), names[i % 7], i);
		n += (size_t)snprintf(
			doc + n, cap - n,
			"%s{\"name\":\"%s\",\"vhost\":\"%s\",\"node\":\"%s\",\"type\":\"%s\","
			"\"state\":\"running\",\"durable\":%s,\"messages\":%lu,\"messages_ready\":%"
			"lu,"
			"\"messages_unacknowledged\":%lu}",
			i ? "," : "", name, vhosts[i % 4], nodes[i % 3],
			types[i % 3 ? 0 : i % 2 + 1], i % 5 ? "true" : "false", messages,
			messages - unacked, unacked);
	}
	doc[n++] = ']';
	*len = n;
	return doc;
}

struct result {
	size_t queues;
	double messages; /* a checksum both parsers must agree on */
};

static int run_stream(const char *doc, size_t len, size_t chunk, struct result *r, size_t *peak)
{
	size_t base = heap_used();
	struct rmq_list l = { 0 };
	struct rmq_stream *s = rmq_stream_new(&l);
	int rc = s ? 0 : -ENOMEM;

	if (peak)
		*peak = 0;
	for (size_t off = 0; off < len && !rc; off += chunk) {
		rc = rmq_stream_feed(s, doc + off, len - off < chunk ? len - off : chunk);
		if (peak && heap_used() - base > *peak)
			*peak = heap_used() - base;
	}
	if (!rc)
		rc = rmq_stream_finish(s, NULL);
	if (peak && heap_used() - base > *peak)
		*peak = heap_used() - base;
	rmq_stream_free(s);
	r->queues = l.len;
	r->messages = 0;
	for (size_t i = 0; i < l.len; i++)
		r->messages += l.items[i].v[RMQ_MESSAGES];
	rmq_list_free(&l);
	return rc;
}

static const char *dom_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static int run_dom(const char *doc, size_t len, struct result *r, size_t *peak)
{
	size_t base = heap_used(), n = 0;
	cJSON *root = cJSON_ParseWithLength(doc, len);
	struct rmq_queue *items = NULL;
	const cJSON *item;

	if (!root)
		return -EBADMSG;
	if (!cJSON_IsArray(root)) {
		cJSON_Delete(root);
		return -EPROTO;
	}
	items = malloc((size_t)cJSON_GetArraySize(root) * sizeof(*items) + 1);
	if (!items) {
		cJSON_Delete(root);
		return -ENOMEM;
	}
	cJSON_ArrayForEach (item, root) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
		const cJSON *vhost = cJSON_GetObjectItemCaseSensitive(item, "vhost");
		const cJSON *durable = cJSON_GetObjectItemCaseSensitive(item, "durable");
		struct rmq_queue q = { .durable = -1 };

		if (!cJSON_IsString(name) || !cJSON_IsString(vhost))
			continue;
		q.name = name->valuestring;
		q.vhost = vhost->valuestring;
		q.node = dom_string(item, "node");
		q.type = dom_string(item, "type");
		q.state = dom_string(item, "state");
		if (cJSON_IsBool(durable))
			q.durable = cJSON_IsTrue(durable) ? 1 : 0;
		for (int i = 0; i < RMQ_NVALUES; i++) {
			const cJSON *v =
				cJSON_GetObjectItemCaseSensitive(item, rmq_value_fields[i]);
			if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0) {
				q.v[i] = v->valuedouble;
				q.present |= (uint16_t)(1u << i);
			}
		}
		items[n++] = q;
	}
	if (peak)
		*peak = heap_used() - base;
	r->queues = n;
	r->messages = 0;
	for (size_t i = 0; i < n; i++)
		r->messages += items[i].v[RMQ_MESSAGES];
	free(items);
	cJSON_Delete(root);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void report(const char *what, uint64_t *ns, int runs, size_t peak, size_t len,
		   const struct result *r)
{
	qsort(ns, (size_t)runs, sizeof(*ns), cmp_u64);
	printf("%-28s queues=%zu best_ms=%.2f median_ms=%.2f MB_per_s=%.0f heap_growth_MB=%.2f "
	       "bytes_per_queue=%.0f\n",
	       what, r->queues, ns[0] / 1e6, ns[runs / 2] / 1e6, len / (ns[0] / 1e9) / 1e6,
	       peak / 1e6, r->queues ? (double)peak / (double)r->queues : 0.0);
}

int main(int argc, char **argv)
{
	size_t nqueues = argc > 1 ? strtoul(argv[1], NULL, 10) : 50000;
	size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 10) : 16384;
	int runs = argc > 3 ? atoi(argv[3]) : 7;
	uint64_t ns_stream[64], ns_dom[64];
	struct result rs, rd;
	size_t len, peak_stream, peak_dom;
	char *doc = generate(nqueues, &len);

	if (!doc || !nqueues || !chunk || runs < 1 || runs > 64) {
		fprintf(stderr, "usage: rmq_parse_bench [queues [chunk_bytes [runs 1..64]]]\n");
		free(doc);
		return 2;
	}
	printf("listing: %zu queues, %zu bytes (%.0f bytes/queue), fed in %zu-byte chunks\n",
	       nqueues, len, (double)len / (double)nqueues, chunk);
	/* memory passes first, apart from the timed runs: sampling the heap per chunk costs time */
	if (run_stream(doc, len, chunk, &rs, &peak_stream) || run_dom(doc, len, &rd, &peak_dom))
		goto failed;
	/* each parser timed in its own block, so neither runs on the other's freed heap */
	for (int i = 0; i < runs; i++) {
		uint64_t t0 = now_ns();
		if (run_stream(doc, len, chunk, &rs, NULL))
			goto failed;
		ns_stream[i] = now_ns() - t0;
	}
	for (int i = 0; i < runs; i++) {
		uint64_t t0 = now_ns();
		if (run_dom(doc, len, &rd, NULL))
			goto failed;
		ns_dom[i] = now_ns() - t0;
	}
	report("stream (rmq_stream_feed)", ns_stream, runs, peak_stream, len, &rs);
	report("baseline cJSON DOM + walk", ns_dom, runs, peak_dom, len, &rd);
	printf("baseline also buffers the whole body: +%.2f MB; stream keeps one %zu-byte chunk\n",
	       len / 1e6, chunk);
	if (rs.queues != rd.queues || rs.messages != rd.messages) {
		fprintf(stderr, "parsers disagree: %zu/%.0f vs %zu/%.0f\n", rs.queues, rs.messages,
			rd.queues, rd.messages);
		free(doc);
		return 1;
	}
	free(doc);
	return 0;
failed:
	fprintf(stderr, "parse failed\n");
	free(doc);
	return 1;
}
