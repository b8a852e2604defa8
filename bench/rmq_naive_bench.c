/* rmq_naive_bench.c — baseline for the RabbitMQ bench: fetch /api/queues whole, build a cJSON tree,
 * walk it. */
#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "lib/buf.h"

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	buf_append(arg, data, size * nmemb);
	return size * nmemb;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: rmq_naive_bench URL [USER PASSWORD]\n");
		return 2;
	}
	char url[1024];
	struct buf body = { 0 };
	struct timespec t0, t1;

	/* what a straightforward exporter does: the full listing, no columns, one DOM */
	snprintf(url, sizeof(url), "%s/api/queues", argv[1]);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	CURL *c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_USERNAME, argc > 2 ? argv[2] : "guest");
	curl_easy_setopt(c, CURLOPT_PASSWORD, argc > 3 ? argv[3] : "guest");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CURLcode rc = curl_easy_perform(c);
	cJSON *root = rc == CURLE_OK ? cJSON_ParseWithLength(body.data, body.len) : NULL;
	double messages = 0;
	size_t queues = 0;
	const cJSON *q;
	cJSON_ArrayForEach (q, root) {
		const cJSON *m = cJSON_GetObjectItemCaseSensitive(q, "messages");
		messages += cJSON_IsNumber(m) ? m->valuedouble : 0;
		queues++;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("naive queues=%zu bytes=%zu seconds=%.3f max_rss_mb=%.1f messages=%.0f\n", queues,
	       body.len, (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
	       (double)ru.ru_maxrss / 1024, messages);
	cJSON_Delete(root);
	buf_free(&body);
	curl_easy_cleanup(c);
	curl_global_cleanup();
	return root ? 0 : 1;
}
