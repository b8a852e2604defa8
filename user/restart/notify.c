/* restart/notify.c — webhook POSTs sent in order by a background thread; callers never block. */
#include "restart/notify.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/loop.h"
#include "lib/curlutil.h"

#define BACKOFF_BASE_MS 1000
#define BACKOFF_MAX_MS	30000
/* The reply is read and thrown away: only its status counts. */
#define REPLY_MAX_BYTES (64 * 1024)

/* One queued message; url and body live in the same allocation. */
struct note {
	struct note *next;
	char *url, *body;
	char text[];
};

enum outcome { SENT, RETRY, GIVE_UP };

struct notifier {
	/* settings */
	uint64_t timeout_ms;
	unsigned max_attempts;
	size_t queue_max;

	/* delivery thread only */
	CURL *curl;
	struct curl_slist *headers;
	size_t reply_bytes;

	pthread_t thread;
	atomic_bool stopping; /* set under lock; read without it by curl's progress callback */

	/* shared, under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;	    /* a message queued, or stopping */
	struct note *head, **tailp; /* tailp: where the next message is linked */
	size_t queued;
	uint64_t backoff_base_ms;
	struct notifier_stats stats;
};

static void count(struct notifier *n, uint64_t *counter)
{
	pthread_mutex_lock(&n->lock);
	(*counter)++;
	pthread_mutex_unlock(&n->lock);
}

static size_t on_reply(char *data, size_t size, size_t nmemb, void *arg)
{
	struct notifier *n = arg;
	(void)data;
	n->reply_bytes += size * nmemb;
	return n->reply_bytes > REPLY_MAX_BYTES ? 0 : size * nmemb; /* 0 ends the transfer */
}

static enum outcome attempt(struct notifier *n, const struct note *m, char *why, size_t len)
{
	long status = 0;

	curl_easy_setopt(n->curl, CURLOPT_URL, m->url);
	/* not copied by curl: m outlives the transfer */
	curl_easy_setopt(n->curl, CURLOPT_POSTFIELDS, m->body);
	curl_easy_setopt(n->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(m->body));
	n->reply_bytes = 0;
	CURLcode cc = curl_easy_perform(n->curl);
	curl_easy_getinfo(n->curl, CURLINFO_RESPONSE_CODE, &status);
	/* a reply cut short by our size limit still carried its status */
	bool cut = cc == CURLE_WRITE_ERROR && n->reply_bytes > REPLY_MAX_BYTES;

	if (cc != CURLE_OK && !cut) {
		snprintf(why, len, "%s", curl_easy_strerror(cc));
		/* no later attempt can succeed with a URL curl refuses */
		return cc == CURLE_URL_MALFORMAT || cc == CURLE_UNSUPPORTED_PROTOCOL ? GIVE_UP
										     : RETRY;
	}
	if (status < 200 || status > 299) {
		snprintf(why, len, "HTTP status %ld", status);
		return RETRY;
	}
	return SENT;
}

/* Waits ms unless notifier_free() comes first; returns whether it did. Called with lock held. */
static bool wait_unless_stopped(struct notifier *n, uint64_t ms)
{
	uint64_t deadline = loop_now_ms() + ms;
	struct timespec ts = { .tv_sec = (time_t)(deadline / 1000),
			       .tv_nsec = (long)(deadline % 1000) * 1000000 };

	while (!atomic_load(&n->stopping))
		if (pthread_cond_timedwait(&n->wake, &n->lock, &ts) == ETIMEDOUT)
			break;
	return atomic_load(&n->stopping);
}

/* Tries m until it is sent, every attempt failed, or the notifier stops. */
static void deliver(struct notifier *n, const struct note *m)
{
	char why[CURL_ERROR_SIZE] = "";
	unsigned tries = 0;
	uint64_t backoff;

	pthread_mutex_lock(&n->lock);
	backoff = n->backoff_base_ms < BACKOFF_MAX_MS ? n->backoff_base_ms : BACKOFF_MAX_MS;
	pthread_mutex_unlock(&n->lock);
	for (;;) {
		enum outcome o = attempt(n, m, why, sizeof(why));
		tries++;
		if (o == SENT) {
			count(n, &n->stats.sent);
			return;
		}
		if (atomic_load(&n->stopping)) {
			count(n, &n->stats.dropped); /* abandoned by notifier_free, not failed */
			return;
		}
		if (o == GIVE_UP || tries >= n->max_attempts) {
			char url[512];
			struct log_num nt;
			curlutil_redact_url(m->url, url, sizeof(url));
			log_warn("notification not delivered", "url", url, "attempts",
				 log_u64(&nt, tries), "reason", why);
			/* counted after the line: whoever sees the count finds it logged */
			count(n, &n->stats.failed);
			return;
		}
		pthread_mutex_lock(&n->lock);
		bool stopped = wait_unless_stopped(n, backoff);
		if (stopped)
			n->stats.dropped++;
		else
			n->stats.retries++;
		pthread_mutex_unlock(&n->lock);
		if (stopped)
			return;
		backoff = backoff >= BACKOFF_MAX_MS / 2 ? BACKOFF_MAX_MS : backoff * 2;
	}
}

static void *deliver_loop(void *arg)
{
	struct notifier *n = arg;

	pthread_mutex_lock(&n->lock);
	for (;;) {
		while (!n->head && !atomic_load(&n->stopping))
			pthread_cond_wait(&n->wake, &n->lock);
		if (atomic_load(&n->stopping))
			break;
		struct note *m = n->head;
		n->head = m->next;
		if (!n->head)
			n->tailp = &n->head;
		n->queued--;
		pthread_mutex_unlock(&n->lock);
		deliver(n, m);
		free(m);
		pthread_mutex_lock(&n->lock);
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

static int cond_init_monotonic(pthread_cond_t *c)
{
	pthread_condattr_t ca;

	if (pthread_condattr_init(&ca))
		return -ENOMEM;
	/* backoff deadlines come from loop_now_ms(): the monotonic clock */
	int rc = -pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	if (!rc)
		rc = -pthread_cond_init(c, &ca);
	pthread_condattr_destroy(&ca);
	return rc;
}

static int setup_curl(struct notifier *n)
{
	n->curl = curlutil_easy_new(&n->stopping, n->timeout_ms);
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	/* no "Expect: 100-continue" round trip before the body */
	n->headers = h ? curl_slist_append(h, "Expect:") : NULL;
	if (!n->headers)
		curl_slist_free_all(h);
	if (!n->curl || !n->headers)
		return -ENOMEM;
	curl_easy_setopt(n->curl, CURLOPT_HTTPHEADER, n->headers);
	curl_easy_setopt(n->curl, CURLOPT_TIMEOUT_MS, (long)n->timeout_ms);
	curl_easy_setopt(n->curl, CURLOPT_WRITEFUNCTION, on_reply);
	curl_easy_setopt(n->curl, CURLOPT_WRITEDATA, n);
	return 0;
}

struct notifier *notifier_new(uint64_t timeout_ms, unsigned max_attempts, size_t queue_max)
{
	if (!timeout_ms || timeout_ms > INT32_MAX || !max_attempts || !queue_max) {
		errno = EINVAL;
		return NULL;
	}
	struct notifier *n = calloc(1, sizeof(*n));
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	n->timeout_ms = timeout_ms;
	n->max_attempts = max_attempts;
	n->queue_max = queue_max;
	n->backoff_base_ms = BACKOFF_BASE_MS;
	n->tailp = &n->head;
	int rc = cond_init_monotonic(&n->wake);
	if (rc)
		goto fail_cond;
	pthread_mutex_init(&n->lock, NULL);
	rc = setup_curl(n);
	if (!rc)
		rc = -pthread_create(&n->thread, NULL, deliver_loop, n);
	if (!rc)
		return n;
	curl_slist_free_all(n->headers);
	curl_easy_cleanup(n->curl);
	pthread_mutex_destroy(&n->lock);
	pthread_cond_destroy(&n->wake);
fail_cond:
	free(n);
	errno = -rc;
	return NULL;
}

int notifier_post(struct notifier *n, const char *url, const char *body)
{
	size_t ulen = strlen(url) + 1, blen = strlen(body) + 1;
	struct note *m = malloc(sizeof(*m) + ulen + blen);
	int rc = 0;

	pthread_mutex_lock(&n->lock);
	if (!m || n->queued >= n->queue_max) {
		rc = m ? -ENOSPC : -ENOMEM;
		n->stats.dropped++;
	} else {
		m->url = m->text;
		memcpy(m->url, url, ulen);
		m->body = m->text + ulen;
		memcpy(m->body, body, blen);
		m->next = NULL;
		*n->tailp = m;
		n->tailp = &m->next;
		n->queued++;
		pthread_cond_signal(&n->wake);
	}
	pthread_mutex_unlock(&n->lock);
	if (rc)
		free(m);
	return rc;
}

void notifier_set_backoff_base(struct notifier *n, uint64_t base_ms)
{
	pthread_mutex_lock(&n->lock);
	n->backoff_base_ms = base_ms;
	pthread_mutex_unlock(&n->lock);
}

void notifier_get_stats(struct notifier *n, struct notifier_stats *out)
{
	pthread_mutex_lock(&n->lock);
	*out = n->stats;
	pthread_mutex_unlock(&n->lock);
}

void notifier_free(struct notifier *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	uint64_t dropped_before = n->stats.dropped;
	atomic_store(&n->stopping, true);
	pthread_cond_broadcast(&n->wake);
	pthread_mutex_unlock(&n->lock);
	pthread_join(n->thread, NULL);

	/* the thread is gone: what is left needs no lock */
	for (struct note *m = n->head, *next; m; m = next) {
		next = m->next;
		free(m);
		n->stats.dropped++;
	}
	if (n->stats.dropped > dropped_before) {
		struct log_num nd;
		log_warn("notifications dropped at shutdown", "dropped",
			 log_u64(&nd, n->stats.dropped - dropped_before));
	}
	curl_slist_free_all(n->headers);
	curl_easy_cleanup(n->curl);
	pthread_cond_destroy(&n->wake);
	pthread_mutex_destroy(&n->lock);
	free(n);
}
