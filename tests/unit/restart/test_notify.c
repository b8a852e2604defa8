/* test_notify.c — webhook delivery against a scripted HTTP/1.1 receiver on 127.0.0.1. */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "lib/curlutil.h"
#include "restart/notify.h"
#include "test.h"

#define MAX_REQS 64

struct req {
	char method[16], path[256], ctype[128], agent[128], body[256];
};

/* Answers requests on one connection at a time, keep-alive, with scripted statuses. */
struct receiver {
	int lfd, stop_fd;
	unsigned port;
	char url[128]; /* http://127.0.0.1:port/path */
	pthread_t thread;
	pthread_mutex_t lock;
	int script[8]; /* status of the request at that index; the last repeats; 0: never answer */
	size_t nscript;
	size_t reply_bytes; /* size of each reply's body */
	struct req reqs[MAX_REQS];
	size_t nreqs, naccepted;
};

/* Waits for fd (or only the stop signal when fd < 0); false once the test stops the receiver. */
static bool wait_readable(struct receiver *r, int fd)
{
	struct pollfd p[2] = { { .fd = r->stop_fd, .events = POLLIN },
			       { .fd = fd, .events = POLLIN } };
	poll(p, fd >= 0 ? 2 : 1, -1);
	return !(p[0].revents & POLLIN);
}

static void header(const char *head, const char *name, char *out, size_t len)
{
	size_t nl = strlen(name);
	for (const char *p = strstr(head, "\r\n"); p; p = strstr(p + 2, "\r\n")) {
		if (strncasecmp(p + 2, name, nl) == 0 && p[2 + nl] == ':') {
			const char *v = p + 3 + nl;
			v += strspn(v, " ");
			snprintf(out, len, "%.*s", (int)strcspn(v, "\r"), v);
			return;
		}
	}
}

static void reply(int fd, int status, size_t body_len)
{
	char head[128], chunk[4096];
	int k = snprintf(head, sizeof(head), "HTTP/1.1 %d Scripted\r\nContent-Length: %zu\r\n\r\n",
			 status, body_len);
	if (send(fd, head, (size_t)k, MSG_NOSIGNAL) != k)
		return;
	memset(chunk, 'x', sizeof(chunk));
	for (size_t left = body_len; left;) {
		ssize_t sent =
			send(fd, chunk, left < sizeof(chunk) ? left : sizeof(chunk), MSG_NOSIGNAL);
		if (sent <= 0)
			return; /* the client gave up on a long reply */
		left -= (size_t)sent;
	}
}

/* Reads into buf until it holds want bytes; false on EOF, a full buffer or stop. */
static bool fill(struct receiver *r, int fd, char *buf, size_t cap, size_t *have, size_t want)
{
	while (*have < want) {
		if (want > cap || !wait_readable(r, fd))
			return false;
		ssize_t k = read(fd, buf + *have, cap - *have);
		if (k <= 0)
			return false;
		*have += (size_t)k;
	}
	return true;
}

static void serve(struct receiver *r, int fd)
{
	char buf[16384];
	size_t have = 0;

	for (;;) {
		char *end;
		while (!(end = memmem(buf, have, "\r\n\r\n", 4)))
			if (!fill(r, fd, buf, sizeof(buf) - 1, &have, have + 1))
				return;
		*end = '\0';
		size_t head = (size_t)(end + 4 - buf);
		struct req q;
		memset(&q, 0, sizeof(q));
		char clen[32] = "0";
		sscanf(buf, "%15s %255s", q.method, q.path);
		header(buf, "Content-Length", clen, sizeof(clen));
		header(buf, "Content-Type", q.ctype, sizeof(q.ctype));
		header(buf, "User-Agent", q.agent, sizeof(q.agent));
		size_t body = strtoul(clen, NULL, 10);
		if (!fill(r, fd, buf, sizeof(buf), &have, head + body))
			return;
		snprintf(q.body, sizeof(q.body), "%.*s", (int)body, buf + head);
		memmove(buf, buf + head + body, have - head - body);
		have -= head + body;

		pthread_mutex_lock(&r->lock);
		int status = r->script[r->nreqs < r->nscript ? r->nreqs : r->nscript - 1];
		if (r->nreqs < MAX_REQS)
			r->reqs[r->nreqs] = q;
		r->nreqs++;
		pthread_mutex_unlock(&r->lock);
		if (status == 0) {
			wait_readable(r, fd); /* stall until the client hangs up or the test ends */
			return;
		}
		reply(fd, status, r->reply_bytes);
	}
}

static void *receiver_run(void *arg)
{
	struct receiver *r = arg;
	while (wait_readable(r, r->lfd)) {
		int fd = accept4(r->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&r->lock);
		r->naccepted++;
		pthread_mutex_unlock(&r->lock);
		serve(r, fd);
		close(fd);
	}
	return NULL;
}

/* Listens on 127.0.0.1:0 and returns the port, or 0. */
static unsigned listen_local(int *fd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t alen = sizeof(a);
	*fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (*fd < 0 || bind(*fd, (struct sockaddr *)&a, sizeof(a)) || listen(*fd, 16) ||
	    getsockname(*fd, (struct sockaddr *)&a, &alen))
		return 0;
	return ntohs(a.sin_port);
}

static bool receiver_start(struct receiver *r, const int *script, size_t nscript,
			   size_t reply_bytes, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->reply_bytes = reply_bytes;
	memcpy(r->script, script, nscript * sizeof(*script));
	r->nscript = nscript;
	r->port = listen_local(&r->lfd);
	snprintf(r->url, sizeof(r->url), "http://127.0.0.1:%u%s", r->port, path);
	r->stop_fd = eventfd(0, EFD_CLOEXEC);
	pthread_mutex_init(&r->lock, NULL);
	return r->port && r->stop_fd >= 0 && pthread_create(&r->thread, NULL, receiver_run, r) == 0;
}

static void receiver_stop(struct receiver *r)
{
	uint64_t one = 1;
	if (write(r->stop_fd, &one, sizeof(one)) == sizeof(one))
		pthread_join(r->thread, NULL);
	close(r->lfd);
	close(r->stop_fd);
	pthread_mutex_destroy(&r->lock);
}

static size_t receiver_count(struct receiver *r, size_t *accepted)
{
	pthread_mutex_lock(&r->lock);
	size_t n = r->nreqs;
	if (accepted)
		*accepted = r->naccepted;
	pthread_mutex_unlock(&r->lock);
	return n;
}

static void pause_ms(long ms)
{
	struct timespec ts = { .tv_sec = 0, .tv_nsec = ms * 1000000 };
	nanosleep(&ts, NULL);
}

/* Until `done` messages are sent or failed; the 30 s limit only keeps a broken build from hanging.
 */
static struct notifier_stats wait_done(struct notifier *n, uint64_t done)
{
	struct notifier_stats st;
	for (int i = 0; i < 6000; i++) {
		notifier_get_stats(n, &st);
		if (st.sent + st.failed >= done)
			break;
		pause_ms(5);
	}
	return st;
}

static void wait_requests(struct receiver *r, size_t k)
{
	for (int i = 0; i < 6000 && receiver_count(r, NULL) < k; i++)
		pause_ms(5);
}

/* Collects what the code under test logs on stderr between start and end. */
struct capture {
	FILE *f;
	int saved;
};

static void capture_start(struct capture *c)
{
	fflush(stderr);
	c->f = tmpfile();
	c->saved = dup(STDERR_FILENO);
	if (c->f)
		dup2(fileno(c->f), STDERR_FILENO);
}

static void capture_end(struct capture *c, char *out, size_t len)
{
	out[0] = '\0';
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	if (!c->f)
		return;
	rewind(c->f);
	out[fread(out, 1, len - 1, c->f)] = '\0';
	fclose(c->f);
	fputs(out, stderr); /* still visible in the test's output */
}

static struct notifier *new_fast(uint64_t timeout_ms, unsigned attempts, size_t queue_max)
{
	struct notifier *n = notifier_new(timeout_ms, attempts, queue_max);
	if (n)
		notifier_set_backoff_base(n, 50);
	return n;
}

static void test_delivery(void)
{
	static const int script[] = { 200 };
	const char *body =
		"{\"rule\":\"php-fpm\",\"state\":\"restarting\",\"why\":\"say \\\"hi\\\"\"}";
	struct receiver r;

	CHECK(receiver_start(&r, script, 1, 0, "/hooks/restart"), "receiver");
	struct notifier *n = new_fast(5000, 1, 8);
	CHECK(n != NULL, "notifier_new: %s", strerror(errno));
	CHECK(notifier_post(n, r.url, body) == 0, "post");
	struct notifier_stats st = wait_done(n, 1);
	CHECK(st.sent == 1 && st.failed == 0 && st.retries == 0 && st.dropped == 0,
	      "sent %lu failed %lu", (unsigned long)st.sent, (unsigned long)st.failed);
	CHECK(receiver_count(&r, NULL) == 1, "one request");
	CHECK_STR(r.reqs[0].method, "POST");
	CHECK_STR(r.reqs[0].path, "/hooks/restart");
	CHECK_STR(r.reqs[0].ctype, "application/json");
	CHECK_STR(r.reqs[0].body, body);
	CHECK(strncmp(r.reqs[0].agent, "hostmon/", 8) == 0, "agent [%s]", r.reqs[0].agent);
	notifier_free(n);
	receiver_stop(&r);
}

static void test_retry_then_success(void)
{
	static const int script[] = { 500, 500, 200 };
	struct receiver r;

	CHECK(receiver_start(&r, script, 3, 0, "/h"), "receiver");
	struct notifier *n = new_fast(5000, 3, 8);
	CHECK(notifier_post(n, r.url, "{\"a\":1}") == 0, "post");
	struct notifier_stats st = wait_done(n, 1);
	CHECK(st.sent == 1 && st.retries == 2 && st.failed == 0, "sent %lu retries %lu failed %lu",
	      (unsigned long)st.sent, (unsigned long)st.retries, (unsigned long)st.failed);
	CHECK(receiver_count(&r, NULL) == 3, "three attempts");
	CHECK_STR(r.reqs[2].body, "{\"a\":1}");
	notifier_free(n);
	receiver_stop(&r);
}

/* Every attempt fails: one warning, with neither credentials, query nor body. */
static void test_always_failing(void)
{
	static const int script[] = { 500 };
	struct receiver r;
	struct capture cap;
	char url[128], logged[4096];

	CHECK(receiver_start(&r, script, 1, 0, "/h"), "receiver");
	/* credentials before the host, a secret in the query */
	snprintf(url, sizeof(url), "http://alice:s3cret@127.0.0.1:%u/h?token=t0ken", r.port);
	struct notifier *n = new_fast(5000, 2, 8);
	capture_start(&cap);
	CHECK(notifier_post(n, url, "{\"private\":\"b0dy\"}") == 0, "post");
	struct notifier_stats st = wait_done(n, 1);
	capture_end(&cap, logged, sizeof(logged));
	CHECK(st.failed == 1 && st.retries == 1 && st.sent == 0, "failed %lu retries %lu",
	      (unsigned long)st.failed, (unsigned long)st.retries);
	CHECK(receiver_count(&r, NULL) == 2, "two attempts");
	CHECK(strstr(logged, "notification not delivered") && strstr(logged, "attempts=2") &&
		      strstr(logged, "HTTP status 500"),
	      "log [%s]", logged);
	CHECK(strstr(logged, "url=http://127.0.0.1:") && strstr(logged, "/h "), "log [%s]", logged);
	CHECK(!strstr(logged, "s3cret") && !strstr(logged, "alice") && !strstr(logged, "t0ken") &&
		      !strstr(logged, "b0dy"),
	      "log [%s]", logged);
	CHECK(strchr(logged, '\n') == logged + strlen(logged) - 1, "one line [%s]", logged);
	notifier_free(n);
	receiver_stop(&r);
}

static void test_refused(void)
{
	int fd;
	char url[128];
	unsigned port = listen_local(&fd);
	close(fd); /* nobody listens there now */

	snprintf(url, sizeof(url), "http://127.0.0.1:%u/h", port);
	struct notifier *n = new_fast(5000, 2, 8);
	CHECK(port && notifier_post(n, url, "{}") == 0, "post");
	struct notifier_stats st = wait_done(n, 1);
	CHECK(st.failed == 1 && st.retries == 1 && st.sent == 0, "failed %lu retries %lu",
	      (unsigned long)st.failed, (unsigned long)st.retries);
	notifier_free(n);
}

/* A URL curl refuses cannot work later: failed at once, no retries. */
static void test_unusable_url(void)
{
	struct notifier *n = new_fast(5000, 3, 8);
	CHECK(notifier_post(n, "ftp://127.0.0.1:1/x", "{}") == 0, "post");
	struct notifier_stats st = wait_done(n, 1);
	CHECK(st.failed == 1 && st.retries == 0, "failed %lu retries %lu", (unsigned long)st.failed,
	      (unsigned long)st.retries);
	notifier_free(n);
}

/*
 * The receiver never answers: posts still return at once (a blocking post
 * would hang here), the queue bound holds, and notifier_free() abandons the
 * request in flight and drops the queued ones.
 */
static void test_stalled(void)
{
	static const int script[] = { 0 };
	struct receiver r;
	struct capture cap;
	char logged[4096];

	CHECK(receiver_start(&r, script, 1, 0, "/slow"), "receiver");
	struct notifier *n = new_fast(60000, 3, 2);
	CHECK(notifier_post(n, r.url, "{\"n\":1}") == 0, "first post");
	wait_requests(&r, 1); /* now in flight: the queue is empty again */
	CHECK(notifier_post(n, r.url, "{\"n\":2}") == 0, "second post");
	CHECK(notifier_post(n, r.url, "{\"n\":3}") == 0, "third post");
	CHECK(notifier_post(n, r.url, "{\"n\":4}") == -ENOSPC, "queue full");
	CHECK(notifier_post(n, r.url, "{\"n\":5}") == -ENOSPC, "queue full");
	struct notifier_stats st;
	notifier_get_stats(n, &st);
	CHECK(st.dropped == 2 && st.sent == 0 && st.failed == 0, "dropped %lu",
	      (unsigned long)st.dropped);
	capture_start(&cap);
	notifier_free(n); /* must return although the receiver still holds the request */
	capture_end(&cap, logged, sizeof(logged));
	CHECK(strstr(logged, "dropped at shutdown") && strstr(logged, "dropped=3"), "log [%s]",
	      logged);
	CHECK(receiver_count(&r, NULL) == 1, "only the first reached the receiver");
	receiver_stop(&r);
}

static void test_order(void)
{
	static const int script[] = { 200 };
	struct receiver r;
	char body[64];
	size_t accepted = 0;

	CHECK(receiver_start(&r, script, 1, 0, "/o"), "receiver");
	struct notifier *n = new_fast(5000, 1, 32);
	for (int i = 0; i < 20; i++) {
		snprintf(body, sizeof(body), "{\"seq\":%d}", i);
		CHECK(notifier_post(n, r.url, body) == 0, "post %d", i);
	}
	struct notifier_stats st = wait_done(n, 20);
	CHECK(st.sent == 20, "sent %lu", (unsigned long)st.sent);
	CHECK(receiver_count(&r, &accepted) == 20, "20 requests");
	CHECK(accepted == 1, "one kept-alive connection, got %zu", accepted);
	for (int i = 0; i < 20; i++) {
		snprintf(body, sizeof(body), "{\"seq\":%d}", i);
		CHECK_STR(r.reqs[i].body, body);
	}
	notifier_free(n);
	receiver_stop(&r);
}

/* A 2xx whose reply is longer than the notifier reads is still a delivery. */
static void test_long_reply(void)
{
	static const int script[] = { 200 };
	struct receiver r;

	CHECK(receiver_start(&r, script, 1, 1 << 20, "/big"), "receiver");
	struct notifier *n = new_fast(5000, 2, 8);
	CHECK(notifier_post(n, r.url, "{}") == 0, "post");
	struct notifier_stats st = wait_done(n, 1);
	CHECK(st.sent == 1 && st.retries == 0, "sent %lu retries %lu", (unsigned long)st.sent,
	      (unsigned long)st.retries);
	notifier_free(n);
	receiver_stop(&r);
}

static void test_arguments_and_redaction(void)
{
	char buf[256], *out = buf;

	errno = 0;
	CHECK(notifier_new(1000, 0, 8) == NULL && errno == EINVAL, "max_attempts 0");
	CHECK(notifier_new(1000, 1, 0) == NULL && errno == EINVAL, "queue_max 0");
	notifier_free(NULL);

	curlutil_redact_url("https://user:pa%40ss@hooks.example:8443/a/b?token=x#frag", buf,
			    sizeof(buf));
	CHECK_STR(out, "https://hooks.example:8443/a/b");
	curlutil_redact_url("http://hooks.example/p?x=1", buf, sizeof(buf));
	CHECK_STR(out, "http://hooks.example/p");
	curlutil_redact_url("user:pw@hooks.example/p", buf, sizeof(buf));
	CHECK_STR(out, "http://hooks.example/p");
	curlutil_redact_url("http://exa mple/", buf, sizeof(buf));
	CHECK_STR(out, "(invalid URL)");
}

int main(void)
{
	curl_global_init(CURL_GLOBAL_DEFAULT);
	test_arguments_and_redaction();
	test_delivery();
	test_retry_then_success();
	test_always_failing();
	test_refused();
	test_unusable_url();
	test_stalled();
	test_order();
	test_long_reply();
	curl_global_cleanup();
	return test_summary("restart/test_notify");
}
