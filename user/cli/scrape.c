/* cli/scrape.c — GET /metrics of a running daemon with libcurl, then the project's parser. */
#include "cli/scrape.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "exposition/expo_parse.h"
#include "lib/buf.h"
#include "lib/clock.h"
#include "lib/curlutil.h"

struct body {
	struct buf b;
	bool too_large;
};

static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct body *body = arg;
	size_t len = size * n;

	if (body->b.len + len > SCRAPE_MAX_BYTES) {
		body->too_large = true;
		return 0; /* a short count makes curl stop with CURLE_WRITE_ERROR */
	}
	buf_append(&body->b, p, len);
	return body->b.err ? 0 : len;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int scrape_fetch(const char *url, const char *path, uint64_t timeout_ms, const atomic_bool *stop,
		 struct buf *out, double *at, char *err, size_t errlen)
{
	char full[2048], safe[2048];
	struct body body = { 0 };
	long status = 0;
	int rc = 0;
	const char *page = path + (*path == '/');

	/* the base URL, or one that already names the page */
	snprintf(full, sizeof(full), "%s%s", url,
		 ends_with(url, path) ? "" : (ends_with(url, "/") ? page : path));
	CURL *c = curlutil_easy_new(stop, timeout_ms);
	if (!c) {
		snprintf(err, errlen, "cannot use libcurl (libcurl.so.4) to read %s", url);
		return -EIO;
	}
	curlutil_redact_url(full, safe, sizeof(safe));
	curl_easy_setopt(c, CURLOPT_URL, full);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* gzip when curl has it */
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
	double start = clock_monotonic_seconds();
	CURLcode cc = curl_easy_perform(c);
	double end = clock_monotonic_seconds();
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);

	if (cc == CURLE_COULDNT_CONNECT) {
		snprintf(err, errlen, "no hostmon daemon at %s (connection refused)", safe);
		rc = -ECONNREFUSED;
	} else if (cc == CURLE_ABORTED_BY_CALLBACK) {
		snprintf(err, errlen, "interrupted");
		rc = -ECANCELED;
	} else if (body.too_large) {
		snprintf(err, errlen, "%s: the page is larger than %u MiB", safe,
			 SCRAPE_MAX_BYTES >> 20);
		rc = -EIO;
	} else if (cc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", safe, curl_easy_strerror(cc));
		rc = -EIO;
	} else if (status != 200) {
		snprintf(err, errlen, "%s answered HTTP %ld", safe, status);
		rc = -EIO;
	} else if (body.b.err) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
	}
	if (rc) {
		buf_free(&body.b);
		return rc;
	}
	*out = body.b;
	*at = (start + end) / 2;
	return 0;
}

int scrape_daemon(const char *url, uint64_t timeout_ms, const atomic_bool *stop,
		  struct metric_snapshot **out, double *at, char *err, size_t errlen)
{
	char why[512];
	struct buf page = { 0 };
	int rc = scrape_fetch(url, "/metrics", timeout_ms, stop, &page, at, err, errlen);

	if (rc)
		return rc;
	struct metric_snapshot *s = metric_snapshot_new();
	if (!s) {
		buf_free(&page);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	rc = expo_parse_text(page.data ? page.data : "", page.len, s, why, sizeof(why));
	buf_free(&page);
	if (rc) {
		char safe[2048];
		curlutil_redact_url(url, safe, sizeof(safe));
		snprintf(err, errlen, "%s: not a page hostmon can read: %s", safe, why);
		metric_snapshot_free(s);
		return rc;
	}
	*out = s;
	return 0;
}
