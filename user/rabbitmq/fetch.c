/* rabbitmq/fetch.c — the RabbitMQ management API over HTTP: one queue listing per vhost, a few at
 * once. */
#include "rabbitmq/fetch.h"

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/loop.h"
#include "lib/curlutil.h"
#include "lib/fileutil.h"
#include "rabbitmq/bodies.h"

/*
 * Why per vhost: the broker builds a whole response before its first byte,
 * so one listing of every queue is as slow as the broker alone. Listings of
 * a few vhosts at once overlap that work (measured: 10,000 queues over 5
 * vhosts 0.7-0.9 s against 1.1-1.6 s; docs/rabbitmq-api-measurements.md),
 * and an excluded vhost costs the broker nothing. Never pages: the broker
 * builds the whole listing for every page.
 */

const char *const rmq_reason_names[RMQ_REASON_MAX] = {
	[RMQ_REASON_CONNECT] = "connect",
	[RMQ_REASON_TIMEOUT] = "timeout",
	[RMQ_REASON_TLS] = "tls",
	[RMQ_REASON_AUTH] = "auth",
	[RMQ_REASON_AUTH_NO_PASSWORD] = "auth_no_password",
	[RMQ_REASON_NOT_FOUND] = "not_found",
	[RMQ_REASON_HTTP_STATUS] = "http_status",
	[RMQ_REASON_TRANSFER] = "transfer",
	[RMQ_REASON_TOO_LARGE] = "too_large",
	[RMQ_REASON_INVALID_JSON] = "invalid_json",
	[RMQ_REASON_UNEXPECTED_RESPONSE] = "unexpected_response",
	[RMQ_REASON_INVALID_TEXT] = "invalid_text",
};

/* One request of a poll: the vhost listing (vhost NULL) or one vhost's queues. */
struct job {
	const char *vhost;
	const char *base; /* NULL: the fetcher's base URL */
	const char *path; /* a raw GET of base + path into raw (vhost NULL) */
	struct rmq_list list;
	struct buf raw;
	bool done;
};

/* An easy handle and the request it carries, if any. */
struct xfer {
	CURL *easy;
	uint64_t max_bytes;
	struct job *job; /* NULL: idle */
	void *stream;
	const struct rmq_body_parser *parser; /* of the job it carries */
	uint64_t received;
	int stream_rc;
	bool too_large;
};

struct rmq_fetch {
	CURLM *multi;
	struct xfer *xfers;
	unsigned nxfers;
	char *base_url, *user, *password, *password_file;
	const struct rmq_body_parser *parser;
	bool password_given; /* this poll's password is not empty */
	uint64_t timeout_ms;
	int stop_fd;
};

static int fail_with(struct rmq_fetch_error *fail, enum rmq_reason reason, const char *detail)
{
	fail->reason = reason;
	snprintf(fail->detail, sizeof(fail->detail), "%s", detail);
	return -EIO;
}

/*
 * A listing is parsed as it arrives: memory holds the queue records, never
 * the (tens of MB) response. The size limit counts decoded bytes.
 */
static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb;
	long status = 0;

	x->received += n;
	if (x->received > x->max_bytes) {
		x->too_large = true;
		return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
	}
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200)
		return n; /* an error page: its status is what counts */
	int rc = x->parser->feed(x->stream, data, n);
	if (rc) {
		x->stream_rc = rc;
		return 0;
	}
	return n;
}

static enum rmq_reason reason_of(CURLcode rc, bool too_large)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return RMQ_REASON_CONNECT;
	case CURLE_OPERATION_TIMEDOUT:
		return RMQ_REASON_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
		return RMQ_REASON_TLS;
	case CURLE_WRITE_ERROR:
		return too_large ? RMQ_REASON_TOO_LARGE : RMQ_REASON_TRANSFER;
	default:
		return RMQ_REASON_TRANSFER;
	}
}

/* The URL as an operator may read it: without user and password, if it had any. */
void rmq_url_without_userinfo(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *clean = NULL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_USER, NULL, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_PASSWORD, NULL, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &clean, 0) == CURLUE_OK)
		snprintf(out, len, "%s", clean);
	else
		snprintf(out, len, "(unparsable URL)");
	curl_free(clean);
	curl_url_cleanup(u);
}

enum rmq_reason rmq_status_reason(long status, const char *url, const char *user,
				  bool password_given, char *detail, size_t len)
{
	char clean[200];

	if (status == 401 && password_given) {
		snprintf(detail, len, "HTTP status 401: unauthorized: user %s, password given",
			 user);
		return RMQ_REASON_AUTH;
	}
	if (status == 401) {
		snprintf(detail, len,
			 "HTTP status 401: unauthorized: user %s, no password configured "
			 "(--rabbitmq-password-file, HOSTMON_RABBITMQ_PASSWORD or "
			 "\"rabbitmq-password\" in the config file)",
			 user);
		return RMQ_REASON_AUTH_NO_PASSWORD;
	}
	if (status == 403) {
		snprintf(detail, len, "HTTP status 403: forbidden for user %s", user);
		return RMQ_REASON_AUTH;
	}
	if (status == 404) {
		rmq_url_without_userinfo(url, clean, sizeof(clean));
		snprintf(detail, len, "HTTP status 404 for %s", clean);
		return RMQ_REASON_NOT_FOUND;
	}
	snprintf(detail, len, "HTTP status %ld", status);
	return RMQ_REASON_HTTP_STATUS;
}

/* What one finished request means; 0 when its records (if any) are in its job's list. */
static int xfer_result(const struct rmq_fetch *f, struct xfer *x, CURLcode cc,
		       struct rmq_fetch_error *fail)
{
	long status = 0;
	int prc = x->stream_rc;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK && !(cc == CURLE_WRITE_ERROR && prc))
		return fail_with(fail, reason_of(cc, x->too_large),
				 x->too_large ? "response over --rabbitmq-max-response-bytes"
					      : curl_easy_strerror(cc));
	/* the vhost was deleted between the listing and this request: it has no queues now (the
	 * plugin answers an unknown vhost with an empty page; a 404 there is a wrong URL) */
	if (status == 404 && x->job->vhost && f->parser == &rmq_json_parser)
		return 0;
	if (status != 200) {
		char *url = NULL;
		curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url);
		fail->reason = rmq_status_reason(status, url ? url : "", f->user, f->password_given,
						 fail->detail, sizeof(fail->detail));
		return -EIO;
	}
	if (!prc)
		prc = x->parser->finish(x->stream);
	if (prc == -ENOMEM)
		return fail_with(fail, RMQ_REASON_TRANSFER, "out of memory");
	if (prc) {
		fail->reason = x->parser->why(x->stream, prc, x->job->vhost, fail->detail,
					      sizeof(fail->detail));
		return -EIO;
	}
	return 0;
}

/* Which node failed, when a poll asks several. */
static int at_node(const struct xfer *x, int rc, struct rmq_fetch_error *fail)
{
	char clean[160];
	size_t n = strlen(fail->detail);

	if (rc && x->job->base && n < sizeof(fail->detail)) {
		rmq_url_without_userinfo(x->job->base, clean, sizeof(clean));
		snprintf(fail->detail + n, sizeof(fail->detail) - n, " (node at %s)", clean);
	}
	return rc;
}

static void xfer_end(struct rmq_fetch *f, struct xfer *x)
{
	curl_multi_remove_handle(f->multi, x->easy);
	if (x->stream)
		x->parser->close(x->stream);
	x->stream = NULL;
	x->job = NULL;
}

/* The path segment of a vhost: curl_easy_escape leaves only unreserved bytes as they are ("/" is
 * %2F). */
static char *vhost_url(struct rmq_fetch *f, CURL *easy, const char *base, const char *vhost,
		       const char *query)
{
	char *esc = curl_easy_escape(easy, vhost, 0), *url = NULL;
	const char *fmt = f->parser == &rmq_prom_parser ? "%s/metrics/detailed?vhost=%s&%s"
							: "%s/api/queues/%s?%s";
	if (esc && asprintf(&url, fmt, base, esc, query) < 0)
		url = NULL;
	curl_free(esc);
	return url;
}

/* A queue of a vhost's listing is kept if it passes the filters. */
static bool queue_wanted(const struct rmq_queue *q, const void *arg)
{
	const struct rmq_select *sel = arg;
	return (!sel->vhosts || name_filter_pass(sel->vhosts, q->vhost)) &&
	       (!sel->queues || name_filter_pass(sel->queues, q->name));
}

/* A vhost of the listing is asked for if it passes the filter. */
static bool vhost_wanted(const struct rmq_queue *q, const void *arg)
{
	const struct rmq_select *sel = arg;
	/*
	 * "", "." and ".." would ask for every vhost's queues (dot segments
	 * are removed from paths); RabbitMQ refuses these names anyway.
	 */
	bool dots = strcmp(q->name, ".") == 0 || strcmp(q->name, "..") == 0;
	return *q->name && !dots && (!sel->vhosts || name_filter_pass(sel->vhosts, q->name));
}

/* How many more records out may take. A request started now may keep that many: earlier
 * requests still running only add to out before its turn comes. */
static size_t room_in(const struct rmq_select *sel, const struct rmq_list *out)
{
	return sel->max_queues > out->len ? sel->max_queues - out->len : 0;
}

/* Keeps, in place and in order, the records of l that want takes (their strings stay in its
 * arena). */
static void keep_wanted(struct rmq_list *l, bool (*want)(const struct rmq_queue *, const void *),
			const void *arg)
{
	size_t kept = 0;
	for (size_t i = 0; i < l->len; i++)
		if (want(&l->items[i], arg))
			l->items[kept++] = l->items[i];
	l->len = kept;
}

static int xfer_start(struct rmq_fetch *f, struct xfer *x, struct job *job, const char *query,
		      const struct rmq_limits *lim, uint64_t deadline_ms)
{
	char *url = NULL;

	/* the vhost listing is the management API's, whatever the fetcher's format */
	const char *base = job->base ? job->base : f->base_url;
	x->parser = job->vhost ? f->parser : job->path ? &rmq_raw_parser : &rmq_json_parser;
	x->stream = x->parser->open(&job->list, &job->raw, job->vhost, lim);
	if (job->vhost)
		url = vhost_url(f, x->easy, base, job->vhost, query);
	else if (asprintf(&url, "%s%s", base, job->path ? job->path : "/api/vhosts?columns=name") <
		 0)
		url = NULL;
	if (!x->stream || !url) {
		free(url);
		if (x->stream)
			x->parser->close(x->stream);
		x->stream = NULL;
		return -ENOMEM;
	}
	curl_easy_setopt(x->easy, CURLOPT_URL, url); /* curl keeps a copy */
	free(url);
	/* what is left of the poll's time; 0 would mean no limit at all */
	uint64_t now = loop_now_ms();
	curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS,
			 now < deadline_ms ? (long)(deadline_ms - now) : 1L);
	x->job = job;
	x->received = 0;
	x->stream_rc = 0;
	x->too_large = false;
	if (curl_multi_add_handle(f->multi, x->easy) != CURLM_OK) {
		xfer_end(f, x);
		return -ENOMEM;
	}
	return 0;
}

static struct xfer *idle_xfer(struct rmq_fetch *f)
{
	for (unsigned i = 0; i < f->nxfers; i++)
		if (!f->xfers[i].job)
			return &f->xfers[i];
	return NULL;
}

/* Reads what finished; 0, or the first failure. */
static int collect_done(struct rmq_fetch *f, struct rmq_fetch_error *fail)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(f->multi, &left))) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		char *priv = NULL;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
		struct xfer *x = (struct xfer *)priv;
		int rc = at_node(x, xfer_result(f, x, msg->data.result, fail), fail);
		x->job->done = !rc;
		xfer_end(f, x);
		if (rc)
			return rc;
	}
	return 0;
}

/* Waits for curl's sockets, the deadline or the stop fd; -ECANCELED when stopping. */
static int wait_io(struct rmq_fetch *f, uint64_t deadline_ms, struct rmq_fetch_error *fail)
{
	struct curl_waitfd stop = { .fd = f->stop_fd, .events = CURL_WAIT_POLLIN };
	uint64_t now = loop_now_ms(), left = deadline_ms > now ? deadline_ms - now : 0;
	int ms = left > INT_MAX ? INT_MAX : (int)left;

	CURLMcode mc = curl_multi_poll(f->multi, f->stop_fd >= 0 ? &stop : NULL,
				       f->stop_fd >= 0 ? 1 : 0, ms, NULL);
	if (mc != CURLM_OK)
		return fail_with(fail, RMQ_REASON_TRANSFER, curl_multi_strerror(mc));
	return stop.revents ? -ECANCELED : 0;
}

/*
 * Runs the jobs, at most one per easy handle at a time, and appends their
 * records to out in job order as soon as every earlier job is done, up to
 * sel->max_queues in all (the first ones in job order, however the
 * responses overlap). The first failure ends the batch; the jobs' lists are
 * freed either way.
 */
static int run_batch(struct rmq_fetch *f, struct job *jobs, size_t njobs, const char *query,
		     const struct rmq_select *sel, uint64_t deadline_ms, struct rmq_list *out,
		     struct rmq_fetch_error *fail)
{
	size_t next = 0, merged = 0;
	int running, rc = 0;
	struct xfer *x;
	CURLMcode mc;

	while (!rc && merged < njobs) {
		while (!rc && next < njobs && (x = idle_xfer(f))) {
			struct rmq_limits lim = { room_in(sel, out),
						  jobs[next].vhost ? queue_wanted : vhost_wanted,
						  sel };
			if (xfer_start(f, x, &jobs[next++], query, &lim, deadline_ms))
				rc = fail_with(fail, RMQ_REASON_TRANSFER, "out of memory");
		}
		if (!rc && (mc = curl_multi_perform(f->multi, &running)) != CURLM_OK)
			rc = fail_with(fail, RMQ_REASON_TRANSFER, curl_multi_strerror(mc));
		if (!rc)
			rc = collect_done(f, fail);
		while (!rc && merged < njobs && jobs[merged].done) {
			struct rmq_list *done = &jobs[merged].list;
			/* a no-op for JSON, which kept only these as it streamed */
			keep_wanted(done, jobs[merged++].vhost ? queue_wanted : vhost_wanted, sel);
			rmq_list_limit(done, room_in(sel, out));
			if (rmq_list_append(out, done))
				rc = fail_with(fail, RMQ_REASON_TRANSFER, "out of memory");
		}
		if (rc || merged == njobs)
			break;
		if (next < njobs && idle_xfer(f))
			continue; /* a request just ended: start the next one before waiting */
		if (loop_now_ms() >= deadline_ms)
			rc = fail_with(fail, RMQ_REASON_TIMEOUT,
				       "the poll took longer than --rabbitmq-timeout");
		else
			rc = wait_io(f, deadline_ms, fail);
	}
	for (unsigned i = 0; i < f->nxfers; i++)
		if (f->xfers[i].job)
			xfer_end(f, &f->xfers[i]);
	for (size_t i = 0; i < njobs; i++)
		rmq_list_free(&jobs[i].list);
	return rc;
}

/* The password for this poll: from its file when there is one. */
static int password_now(struct rmq_fetch *f, char *out, size_t len)
{
	if (!f->password_file) {
		snprintf(out, len, "%s", f->password ? f->password : "");
		return 0;
	}
	int rc = file_read_text(f->password_file, out, len);
	if (rc)
		return rc;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

/* This poll's credentials on every handle: the password file is read again each time. */
static int set_password(struct rmq_fetch *f, struct rmq_fetch_error *fail)
{
	char password[1024];

	if (password_now(f, password, sizeof(password))) {
		fail->reason = RMQ_REASON_AUTH;
		snprintf(fail->detail, sizeof(fail->detail),
			 "cannot read --rabbitmq-password-file %s", f->password_file);
		return -EIO;
	}
	f->password_given = password[0] != '\0';
	for (unsigned i = 0; i < f->nxfers; i++)
		curl_easy_setopt(f->xfers[i].easy, CURLOPT_PASSWORD, password);
	return 0;
}

uint64_t rmq_fetch_deadline(const struct rmq_fetch *f)
{
	return loop_now_ms() + f->timeout_ms;
}

int rmq_fetch_vhosts(struct rmq_fetch *f, const struct rmq_select *sel, uint64_t deadline_ms,
		     struct rmq_list *out, struct rmq_fetch_error *fail)
{
	struct job listing = { 0 };

	int rc = set_password(f, fail);
	if (!rc)
		rc = run_batch(f, &listing, 1, NULL, sel, deadline_ms, out, fail);
	if (rc)
		rmq_list_free(out);
	return rc;
}

int rmq_fetch_vhost_queues(struct rmq_fetch *f, const char *query, const struct rmq_select *sel,
			   const struct rmq_list *names, uint64_t deadline_ms, struct rmq_list *out,
			   struct rmq_fetch_error *fail)
{
	return rmq_fetch_vhost_queues_at(f, query, sel, names, NULL, 0, deadline_ms, out, fail);
}

int rmq_fetch_vhost_queues_at(struct rmq_fetch *f, const char *query, const struct rmq_select *sel,
			      const struct rmq_list *names, const char *const *bases, size_t nbases,
			      uint64_t deadline_ms, struct rmq_list *out,
			      struct rmq_fetch_error *fail)
{
	size_t nodes = nbases ? nbases : 1, njobs = nodes * names->len;
	struct job *jobs = calloc(njobs ? njobs : 1, sizeof(*jobs));
	int rc = jobs ? set_password(f, fail)
		      : fail_with(fail, RMQ_REASON_TRANSFER, "out of memory");

	/* vhost by vhost, every node's share of it side by side */
	for (size_t i = 0; jobs && i < njobs; i++) {
		jobs[i].vhost = names->items[i / nodes].name;
		jobs[i].base = nbases ? bases[i % nodes] : NULL;
	}
	if (!rc)
		rc = run_batch(f, jobs, njobs, query, sel, deadline_ms, out, fail);
	if (rc) {
		rmq_list_free(out);
	} else {
		/* the vhosts the listing dropped (too long, past the cap) count as a queue each */
		for (int i = 0; i < RMQ_DROP_MAX; i++)
			out->dropped[i] += names->dropped[i];
		rmq_list_fit(out);
	}
	free(jobs);
	return rc;
}

int rmq_fetch_get(struct rmq_fetch *f, const char *path, uint64_t deadline_ms, struct buf *body,
		  struct rmq_fetch_error *fail)
{
	static const struct rmq_select all = { NULL, NULL, SIZE_MAX };
	struct job get = { .path = path };
	struct rmq_list none = { 0 };

	int rc = set_password(f, fail);
	if (!rc)
		rc = run_batch(f, &get, 1, NULL, &all, deadline_ms, &none, fail);
	if (!rc)
		*body = get.raw;
	else
		buf_free(&get.raw);
	return rc;
}

int rmq_fetch_queues(struct rmq_fetch *f, const char *query, const struct rmq_select *sel,
		     struct rmq_list *out, struct rmq_fetch_error *fail)
{
	uint64_t deadline_ms = rmq_fetch_deadline(f);
	struct rmq_list names = { 0 };

	int rc = rmq_fetch_vhosts(f, sel, deadline_ms, &names, fail);
	if (!rc)
		rc = rmq_fetch_vhost_queues(f, query, sel, &names, deadline_ms, out, fail);
	rmq_list_free(&names);
	return rc;
}

static int xfer_setup(struct xfer *x, const struct rmq_fetch_opts *o)
{
	/* shutdown is seen by the multi poll through stop_fd: no progress callback needed */
	x->easy = curlutil_easy_new(NULL, o->timeout_ms);
	if (!x->easy)
		return -ENOMEM;
	x->max_bytes = o->max_response_bytes;
	CURL *c = x->easy;
	curl_easy_setopt(c, CURLOPT_PRIVATE, x);
	curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl decodes: gzip */
	curl_easy_setopt(c, CURLOPT_USERNAME, o->user);
	curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
	if (o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	if (o->cert_file)
		curl_easy_setopt(c, CURLOPT_SSLCERT, o->cert_file);
	if (o->key_file)
		curl_easy_setopt(c, CURLOPT_SSLKEY, o->key_file);
	if (o->insecure) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	return 0;
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

struct rmq_fetch *rmq_fetch_new(const struct rmq_fetch_opts *o)
{
	struct rmq_fetch *f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	int rc = -ENOMEM;
	f->stop_fd = o->stop_fd;
	f->timeout_ms = o->timeout_ms;
	f->parser = o->format == RMQ_FORMAT_PROMETHEUS ? &rmq_prom_parser : &rmq_json_parser;
	f->nxfers = o->max_parallel ? o->max_parallel : 1;
	f->base_url = strdup(o->base_url);
	f->user = strdup(o->user ? o->user : "");
	f->password = dup_or_null(o->password);
	f->password_file = dup_or_null(o->password_file);
	f->xfers = calloc(f->nxfers, sizeof(*f->xfers));
	f->multi = curl_multi_init();
	if (!f->base_url || !f->user || (o->password && !f->password) ||
	    (o->password_file && !f->password_file) || !f->xfers || !f->multi)
		goto fail;
	/* one connection per request in flight, kept open for the next poll */
	curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)f->nxfers);
	curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)f->nxfers);
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, (long)f->nxfers);
	for (unsigned i = 0; i < f->nxfers; i++)
		if ((rc = xfer_setup(&f->xfers[i], o)))
			goto fail;
	return f;
fail:
	rmq_fetch_free(f);
	errno = -rc;
	return NULL;
}

void rmq_fetch_free(struct rmq_fetch *f)
{
	if (!f)
		return;
	for (unsigned i = 0; f->xfers && i < f->nxfers; i++) {
		if (f->xfers[i].job)
			xfer_end(f, &f->xfers[i]);
		if (f->xfers[i].easy)
			curl_easy_cleanup(f->xfers[i].easy);
	}
	if (f->multi)
		curl_multi_cleanup(f->multi);
	free(f->xfers);
	free(f->base_url);
	free(f->user);
	free(f->password);
	free(f->password_file);
	free(f);
}
