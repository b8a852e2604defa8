/* lib/curlutil.c — what every outgoing libcurl request shares, and URLs made safe to log. */
#include "lib/curlutil.h"

#include <stdio.h>

#include "core/version.h"

static int on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	const atomic_bool *stop = arg;
	(void)dt;
	(void)dn;
	(void)ut;
	(void)un;
	return atomic_load(stop) ? 1 : 0; /* non-zero aborts: shutdown must not wait */
}

CURL *curlutil_easy_new(const atomic_bool *stop, uint64_t connect_timeout_ms)
{
	CURL *c = curl_easy_init();
	if (!c)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM games in a threaded daemon */
	curl_easy_setopt(c, CURLOPT_USERAGENT, HOSTMON_USER_AGENT);
	if (stop) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		/* curl hands the pointer back unchanged; the callback only reads through it */
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, (void *)stop);
	}
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	return c;
}

void curlutil_redact_url(const char *url, char *out, size_t len)
{
	static const CURLUPart secret[] = { CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS,
					    CURLUPART_QUERY, CURLUPART_FRAGMENT };
	CURLU *u = curl_url();
	char *clean = NULL;

	/* parsed as curl_easy_perform() would: a URL without a scheme is guessed to be http */
	if (u && curl_url_set(u, CURLUPART_URL, url,
			      CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK) {
		for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++)
			curl_url_set(u, secret[i], NULL, 0);
		curl_url_get(u, CURLUPART_URL, &clean, 0);
	}
	snprintf(out, len, "%s", clean ? clean : "(invalid URL)");
	curl_free(clean);
	curl_url_cleanup(u);
}
