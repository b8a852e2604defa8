/* rmq_prom_parse_bench.c — hostmon's own share of a poll through the rabbitmq_prometheus plugin:
 * one vhost's /metrics/detailed page (queue_coarse_metrics and queue_consumer_count, as the
 * 3.10 plugin writes them) parsed as it streams, in libcurl-sized pieces.
 * Usage: rmq_prom_parse_bench [QUEUES] [ROUNDS]   (default 10000 10) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rabbitmq/prom_parse.h"

#define PIECE 16384 /* what libcurl's write callback hands over at most */

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	static const char *const fams[] = { "messages_ready", "messages_unacked", "messages",
					    "process_reductions_total", "consumers" };
	long queues = argc > 1 ? atol(argv[1]) : 10000, rounds = argc > 2 ? atol(argv[2]) : 10;
	size_t cap = (size_t)queues * 5 * 120 + 4096, n = 0;
	char *page = malloc(cap);
	if (!page || queues < 1 || rounds < 1)
		return 1;
	for (size_t f = 0; f < sizeof(fams) / sizeof(fams[0]); f++) {
		n += (size_t)snprintf(page + n, cap - n,
				      "# TYPE rabbitmq_detailed_queue_%s gauge\n", fams[f]);
		for (long i = 0; i < queues; i++)
			n += (size_t)snprintf(page + n, cap - n,
					      "rabbitmq_detailed_queue_%s{vhost=\"bench\","
					      "queue=\"bench-%ld-%06ld\"} %ld\n",
					      fams[f], queues, i, i % 1000);
	}
	n += (size_t)snprintf(page + n, cap - n,
			      "rabbitmq_identity_info{rabbitmq_node=\"rabbit@bench\"} 1\n");
	double best = 1e300;
	for (long r = 0; r < rounds; r++) {
		struct rmq_list l = { 0 };
		double t = now_ms();
		struct rmq_prom_stream *s = rmq_prom_stream_new(&l, "bench");
		int rc = s ? 0 : -1;
		for (size_t o = 0; !rc && o < n; o += PIECE)
			rc = rmq_prom_stream_feed(s, page + o, n - o < PIECE ? n - o : PIECE);
		if (!rc)
			rc = rmq_prom_stream_finish(s);
		t = now_ms() - t;
		if (rc || (long)l.len != queues) {
			fprintf(stderr, "parse failed: %d, %zu records\n", rc, l.len);
			return 1;
		}
		best = t < best ? t : best;
		rmq_prom_stream_free(s);
		rmq_list_free(&l);
	}
	printf("rmq_prom_parse queues=%ld page_mb=%.1f best_ms=%.2f mb_per_s=%.0f\n", queues,
	       n / 1e6, best, n / 1e3 / best);
	free(page);
	return 0;
}
