/* rabbitmq/rabbitmq.c — the RabbitMQ queue collector: background polls (fetch.c),
 * whole-snapshot swaps, metrics. */
#include "rabbitmq/rabbitmq.h"

#include <curl/curl.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "lib/clock.h"
#include "lib/namefilter.h"
#include "rabbitmq/fetch.h"
#include "rabbitmq/health.h"
#include "rabbitmq/join.h"
#include "rabbitmq/parse.h"
#include "rabbitmq/source.h"
#include "status/status.h"

/* One complete poll's result: queues after filters and the cap, with details joined. */
struct rmq_snap {
	atomic_int refs; /* the collector's, plus one per scrape whose series borrow its strings */
	struct rmq_list queues;
	double taken_at;	      /* CLOCK_MONOTONIC seconds */
	size_t matching;	      /* queues that passed the filters, before the cap */
	size_t dropped[RMQ_DROP_MAX]; /* counted, not kept: past the cap, or a name too long */
};

struct rmq_state {
	/* settings */
	char host[256];
	double interval_s, detail_interval_s;
	struct name_filter vhosts, queues;
	struct rmq_select select; /* the filters above and --rabbitmq-max-queues */

	/* poller thread only */
	struct rmq_fetch *fetch;
	struct rmq_source *source;
	struct rmq_list details; /* with type, state, durable where the count source lacks them */
	double details_at;
	int last_logged_reason;		 /* -1: last poll succeeded */
	int detail_last_logged_reason;	 /* the same for the detail poll */
	int health_logged;		 /* and for the health poll */
	bool drops_logged[RMQ_DROP_MAX]; /* the last poll dropped queues for this reason, and said
					    so */

	pthread_t thread;
	bool thread_started;
	int stop_fd; /* eventfd: wakes the poller to stop */
	atomic_bool stopping;

	/* shared with scrapes, under lock */
	pthread_mutex_t lock;
	struct rmq_snap *snap;
	bool up;
	bool polled;		/* a poll has finished, well or not */
	char last_failure[256]; /* "reason: detail" of the last failed poll */
	double last_success_wall;
	double last_poll_wall; /* when the last poll, well or not, finished */
	double last_poll_duration;
	uint64_t errors[RMQ_REASON_MAX];
	bool detail_up;		  /* the last detail poll succeeded */
	const char *source_name;  /* what the last count poll used; static */
	char source_why[512];	  /* and why */
	struct rmq_health health; /* nodes, alarms, limits, totals */
	double health_at;	  /* CLOCK_MONOTONIC of its poll; 0: none good */
	bool health_up;
	uint64_t detail_errors[RMQ_REASON_MAX];
};

/* Drops one reference; the last frees. Scrapes release theirs from the main thread, the poller
 * its own when it swaps in a newer snapshot. */
static void snap_unref(struct rmq_snap *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	rmq_list_free(&s->queues);
	free(s);
}

static void snap_release(void *arg)
{
	snap_unref(arg);
}

/* The details are used for two detail intervals at most. */
static int build_snap(struct rmq_state *st, struct rmq_list *fast, struct rmq_snap *snap)
{
	bool fresh = clock_monotonic_seconds() - st->details_at <= 2 * st->detail_interval_s;
	struct rmq_join j = {
		.vhosts = &st->vhosts,
		.queues = &st->queues,
		.max_queues = st->select.max_queues,
		.details = fresh ? &st->details : NULL,
	};
	size_t capped = 0;
	int rc = rmq_join_build(&j, fast, &snap->matching, &capped);
	if (rc)
		return rc;
	/* the poll counted what it dropped (names too long, past the cap as it streamed); the join
	 * adds what its own cap left out */
	memcpy(snap->dropped, fast->dropped, sizeof(snap->dropped));
	snap->dropped[RMQ_DROP_MAX_QUEUES] += capped;
	snap->matching += fast->dropped[RMQ_DROP_MAX_QUEUES];
	snap->queues = *fast;
	memset(fast, 0, sizeof(*fast));
	return 0;
}

static void record_failure(struct rmq_state *st, enum rmq_reason reason, const char *detail)
{
	pthread_mutex_lock(&st->lock);
	st->up = false;
	st->health_up = false; /* not asked: a broker that fails the counts */
	st->polled = true;
	st->last_poll_wall = clock_wall_seconds();
	st->errors[reason]++;
	snprintf(st->last_failure, sizeof(st->last_failure), "%s: %s", rmq_reason_names[reason],
		 detail);
	pthread_mutex_unlock(&st->lock);
	/* one line when it starts failing or the reason changes, not one per interval */
	if (st->last_logged_reason != (int)reason)
		log_warn("rabbitmq poll failed", "host", st->host, "reason",
			 rmq_reason_names[reason], "detail", detail);
	st->last_logged_reason = (int)reason;
}

/*
 * Consumers and bytes: kept for the following polls to join, for two detail
 * intervals at most. Their own health (detail_up, detail errors), so that a
 * failing statistics database is not mistaken for queues without consumers.
 */
static void poll_details(struct rmq_state *st)
{
	struct rmq_list det = { 0 }, facts = { 0 };
	struct rmq_fetch_error fail;

	int rc = rmq_source_details(st->source, &st->select, &det, &facts, &fail);
	if (rc == -ECANCELED)
		return;
	if (!rc && rmq_join_facts(&det, &facts)) {
		rmq_list_free(&det);
		fail.reason = RMQ_REASON_TRANSFER;
		snprintf(fail.detail, sizeof(fail.detail), "out of memory");
		rc = -ENOMEM;
	}
	rmq_list_free(&facts);
	pthread_mutex_lock(&st->lock);
	st->detail_up = rc == 0;
	if (rc)
		st->detail_errors[fail.reason]++;
	pthread_mutex_unlock(&st->lock);
	if (rc == 0) {
		rmq_list_free(&st->details);
		st->details = det;
		st->details_at = clock_monotonic_seconds();
		if (st->detail_last_logged_reason >= 0)
			log_info("rabbitmq detail poll succeeded", "host", st->host);
		st->detail_last_logged_reason = -1;
		return;
	}
	/* counts stay current and up stays 1; one line per change of reason, as for counts */
	if (st->detail_last_logged_reason != (int)fail.reason)
		log_warn("rabbitmq detail poll failed", "host", st->host, "reason",
			 rmq_reason_names[fail.reason], "detail", fail.detail);
	st->detail_last_logged_reason = (int)fail.reason;
}

/* Broker health after each good count poll (a broker that does not answer those has no health to
 * read either); its own up, so that a refused /api/nodes does not hide the queues. */
static void poll_health(struct rmq_state *st)
{
	struct rmq_health fresh = { 0 }, old;
	struct rmq_fetch_error fail;

	int rc = rmq_health_poll(st->fetch, &fresh, &fail);
	if (rc == -ECANCELED)
		return;
	pthread_mutex_lock(&st->lock);
	st->health_up = rc == 0;
	old = st->health;
	if (rc == 0) {
		st->health = fresh;
		st->health_at = clock_monotonic_seconds();
	} else {
		memset(&old, 0, sizeof(old)); /* the last good figures stay, for two intervals */
	}
	pthread_mutex_unlock(&st->lock);
	rmq_health_free(&old);
	if (rc && st->health_logged != (int)fail.reason)
		log_warn("rabbitmq health poll failed", "host", st->host, "reason",
			 rmq_reason_names[fail.reason], "detail", fail.detail);
	st->health_logged = rc ? (int)fail.reason : -1;
}

/* One line when a poll starts dropping queues for a reason (again after a poll without). */
static void log_drops(struct rmq_state *st, const struct rmq_snap *snap)
{
	static const char *const why[RMQ_DROP_MAX] = {
		[RMQ_DROP_MAX_QUEUES] = "more queues pass the filters than --rabbitmq-max-queues",
		[RMQ_DROP_NAME_TOO_LONG] =
			"queue or vhost names over 255 bytes (no AMQP client can "
			"use them; RabbitMQ refuses such queue names)",
	};
	struct log_num n;

	for (int r = 0; r < RMQ_DROP_MAX; r++) {
		if (snap->dropped[r] && !st->drops_logged[r])
			log_warn("rabbitmq queues dropped", "host", st->host, "reason",
				 rmq_drop_names[r], "queues", log_u64(&n, snap->dropped[r]),
				 "detail", why[r]);
		st->drops_logged[r] = snap->dropped[r] != 0;
	}
}

static void poll_once(struct rmq_state *st, bool details_due)
{
	double start;
	struct rmq_list fast = { 0 };
	struct rmq_fetch_error fail;

	/* details first: they join this poll's counts, and counts are published right after */
	if (details_due)
		poll_details(st);
	start = clock_monotonic_seconds();
	int rc = rmq_source_counts(st->source, &st->select, &fast, &fail);
	pthread_mutex_lock(&st->lock);
	st->source_name = rmq_source_current(st->source);
	snprintf(st->source_why, sizeof(st->source_why), "%s", rmq_source_why(st->source));
	pthread_mutex_unlock(&st->lock);
	if (rc) {
		if (rc != -ECANCELED)
			record_failure(st, fail.reason, fail.detail);
		return;
	}

	struct rmq_snap *snap = calloc(1, sizeof(*snap));
	if (!snap || build_snap(st, &fast, snap)) {
		free(snap);
		rmq_list_free(&fast);
		record_failure(st, RMQ_REASON_TRANSFER, "out of memory");
		return;
	}
	snap->taken_at = clock_monotonic_seconds();
	atomic_init(&snap->refs, 1);
	pthread_mutex_lock(&st->lock);
	struct rmq_snap *old = st->snap;
	st->snap = snap;
	st->up = true;
	st->polled = true;
	st->last_success_wall = st->last_poll_wall = clock_wall_seconds();
	st->last_poll_duration = snap->taken_at - start;
	pthread_mutex_unlock(&st->lock);
	snap_unref(old);
	poll_health(st);
	log_drops(st, snap);
	if (st->last_logged_reason != -1) {
		struct log_num n;
		log_info("rabbitmq poll succeeded", "host", st->host, "queues",
			 log_u64(&n, snap->queues.len));
		st->last_logged_reason = -1;
	}
}

static void *poller(void *arg)
{
	struct rmq_state *st = arg;
	double next = clock_monotonic_seconds(), next_details = next;

	while (!atomic_load(&st->stopping)) {
		double now = clock_monotonic_seconds();
		if (now < next) {
			struct pollfd pfd = { .fd = st->stop_fd, .events = POLLIN };
			poll(&pfd, 1, (int)((next - now) * 1000) + 1);
			continue;
		}
		bool details_due = now >= next_details;
		if (details_due)
			next_details = now + st->detail_interval_s;
		poll_once(st, details_due);
		/*
		 * What the poll freed (the previous snapshot, a list's spare room) is
		 * mostly inside this thread's malloc arena, which glibc returns to
		 * the system only from its top: give the free pages back now.
		 */
		malloc_trim(0);
		next += st->interval_s;
		if (next < clock_monotonic_seconds())
			next = clock_monotonic_seconds() +
			       st->interval_s; /* a slow poll: skip, do not pile up */
	}
	return NULL;
}

/* What the queue series of one family are made from when the page is rendered. */
struct queue_series {
	const char *host;	     /* the collector's */
	const struct rmq_snap *snap; /* held by the metric snapshot */
	int value;		     /* an enum rmq_value, or -1 for the info series */
};

static bool queue_value_series(const void *arg, size_t i, const char **labels, double *value)
{
	const struct queue_series *qs = arg;
	const struct rmq_queue *q = &qs->snap->queues.items[i];

	if (!(q->present & (1u << qs->value)))
		return false;
	labels[0] = qs->host;
	labels[1] = q->vhost;
	labels[2] = q->name;
	*value = q->v[qs->value];
	return true;
}

static bool queue_info_series(const void *arg, size_t i, const char **labels, double *value)
{
	const struct queue_series *qs = arg;
	const struct rmq_queue *q = &qs->snap->queues.items[i];

	labels[0] = qs->host;
	labels[1] = q->vhost;
	labels[2] = q->name;
	labels[3] = q->node;
	labels[4] = q->type;
	labels[5] = q->state;
	labels[6] = q->durable < 0 ? "" : q->durable ? "true" : "false";
	*value = 1;
	return true;
}

/*
 * The series of every queue are made from snap as the page is rendered (the metric snapshot
 * holds snap until then): 50,000 queues are 400,000 series, which stored would be about 20 MB
 * per scrape beside the queue records they repeat.
 */
static void add_queue_series(struct metric_snapshot *s, const char *host, struct rmq_snap *snap)
{
	static const char *const labels[] = { "host", "vhost", "name" };
	static const char *const info_labels[] = { "host", "vhost", "name",   "node",
						   "type", "state", "durable" };
	static const struct {
		const char *suffix, *help;
	} fams[RMQ_NVALUES] = {
		[RMQ_MESSAGES] = { "messages", "Messages in the queue (ready + unacknowledged)." },
		[RMQ_MESSAGES_READY] = { "messages_ready", "Messages ready to be delivered." },
		[RMQ_MESSAGES_UNACKED] = { "messages_unacknowledged",
					   "Messages delivered and not yet acknowledged." },
		[RMQ_CONSUMERS] = { "consumers", "Consumers of the queue." },
		[RMQ_MESSAGE_BYTES] = { "message_bytes", "Bytes of message bodies in the queue." },
		[RMQ_MESSAGE_BYTES_READY] = { "message_bytes_ready",
					      "Bytes of message bodies ready to be delivered." },
		[RMQ_MESSAGE_BYTES_UNACKED] = { "message_bytes_unacknowledged",
						"Bytes of message bodies delivered and not yet "
						"acknowledged." },
	};
	char name[96];

	atomic_fetch_add(&snap->refs, 1);
	if (metric_snapshot_hold(s, snap_release, snap)) {
		atomic_fetch_sub(&snap->refs, 1); /* still more than the collector's own: no free */
		return;				  /* -ENOMEM is recorded: the section rolls back */
	}
	size_t n = snap->queues.len;
	for (int i = 0; i < RMQ_NVALUES; i++) {
		snprintf(name, sizeof(name), "rabbitmq_individual_queue_%s", fams[i].suffix);
		struct queue_series qs = { host, snap, i };
		metric_add_generated(
			metric_family_get(s, name, fams[i].help, METRIC_GAUGE, 3, labels), n,
			queue_value_series, &qs, sizeof(qs));
	}
	struct queue_series qs = { host, snap, -1 };
	metric_add_generated(metric_family_get(s, "rabbitmq_individual_queue_info",
					       "Facts about the queue as labels; the value is "
					       "always 1.",
					       METRIC_GAUGE, 7, info_labels),
			     n, queue_info_series, &qs, sizeof(qs));
}

static int rmq_collect(void *state, struct metric_snapshot *s)
{
	struct rmq_state *st = state;
	static const char *const host_label[] = { "host" };
	static const char *const reason_labels[] = { "host", "reason" };
	const char *hv[] = { st->host };

	pthread_mutex_lock(&st->lock);
	/* stale numbers are never served as current: after two intervals without success, none */
	bool fresh =
		st->snap && clock_monotonic_seconds() - st->snap->taken_at <= 2 * st->interval_s;
	if (fresh)
		add_queue_series(s, st->host, st->snap);
	if (st->health_at && clock_monotonic_seconds() - st->health_at <= 2 * st->interval_s)
		rmq_health_add_series(s, st->host, &st->health);
	metric_add(metric_family_get(s, "hostmon_rabbitmq_health_up",
				     "Whether the last poll of the broker's health (/api/nodes, "
				     "/api/overview) succeeded.",
				     METRIC_GAUGE, 1, host_label),
		   hv, st->health_up ? 1 : 0);
	metric_add(
		metric_family_get(s, "hostmon_rabbitmq_up",
				  "Whether the last poll of the RabbitMQ management API succeeded.",
				  METRIC_GAUGE, 1, host_label),
		hv, st->up ? 1 : 0);
	if (st->last_success_wall > 0)
		metric_add(metric_family_get(s, "hostmon_rabbitmq_last_success_timestamp_seconds",
					     "When the last successful poll finished (Unix time).",
					     METRIC_GAUGE, 1, host_label),
			   hv, st->last_success_wall);
	metric_add(metric_family_get(s, "hostmon_rabbitmq_poll_duration_seconds",
				     "How long the last successful poll took.", METRIC_GAUGE, 1,
				     host_label),
		   hv, st->last_poll_duration);
	struct metric_family *errs = metric_family_get(s, "hostmon_rabbitmq_poll_errors_total",
						       "Failed polls of queue counts, by reason.",
						       METRIC_COUNTER, 2, reason_labels);
	struct metric_family *derrs = metric_family_get(
		s, "hostmon_rabbitmq_detail_poll_errors_total",
		"Failed polls of consumers and message bytes (statistics database), by reason.",
		METRIC_COUNTER, 2, reason_labels);
	for (int i = 0; i < RMQ_REASON_MAX; i++) {
		const char *v[] = { st->host, rmq_reason_names[i] };
		metric_add(errs, v, (double)st->errors[i]);
		metric_add(derrs, v, (double)st->detail_errors[i]);
	}
	metric_add(
		metric_family_get(s, "hostmon_rabbitmq_detail_up",
				  "Whether the last poll of consumers and message bytes succeeded.",
				  METRIC_GAUGE, 1, host_label),
		hv, st->detail_up ? 1 : 0);
	if (st->source_name) {
		static const char *const source_labels[] = { "host", "source" };
		const char *sv[] = { st->host, st->source_name };
		metric_add(metric_family_get(s, "hostmon_rabbitmq_source",
					     "Where the last count poll read the queues from "
					     "(management or prometheus); the value is always 1.",
					     METRIC_GAUGE, 2, source_labels),
			   sv, 1);
	}
	metric_add(metric_family_get(s, "hostmon_rabbitmq_queues",
				     "Queues in the last successful poll that pass the filters.",
				     METRIC_GAUGE, 1, host_label),
		   hv, fresh ? (double)st->snap->matching : 0);
	struct metric_family *dropped = metric_family_get(
		s, "hostmon_rabbitmq_queues_dropped",
		"Queues counted and not exported in the last successful poll, by reason: past "
		"--rabbitmq-max-queues, or a queue or vhost name over 255 bytes.",
		METRIC_GAUGE, 2, reason_labels);
	for (int i = 0; i < RMQ_DROP_MAX; i++) {
		const char *v[] = { st->host, rmq_drop_names[i] };
		metric_add(dropped, v, fresh ? (double)st->snap->dropped[i] : 0);
	}
	pthread_mutex_unlock(&st->lock);
	return 0;
}

/* The broker is the source: while its polls fail the collector is down, and says why. */
static bool rmq_healthy(void *state, char *reason, size_t len)
{
	struct rmq_state *st = state;

	pthread_mutex_lock(&st->lock);
	bool up = st->up;
	if (!up)
		snprintf(reason, len, "%s%s", st->polled ? "last poll failed: " : "",
			 st->polled ? st->last_failure : "no poll has finished yet");
	pthread_mutex_unlock(&st->lock);
	return up;
}

/* The status page's RabbitMQ part: one view of the poller's results, taken under its lock. */
static int rmq_status(void *state, struct status_model *m)
{
	struct rmq_state *st = state;
	struct status_rabbitmq *q = &m->rabbitmq;

	pthread_mutex_lock(&st->lock);
	m->have_rabbitmq = true;
	status_copy(q->host, sizeof(q->host), st->host);
	q->up = st->up;
	status_copy(q->last_error, sizeof(q->last_error), st->last_failure);
	q->last_poll_at = st->last_poll_wall;
	q->last_success_at = st->last_success_wall;
	q->poll_duration_seconds = st->last_poll_duration;
	q->queues = st->snap ? st->snap->matching : 0;
	/* auto names a source once a poll chose it, with why */
	status_copy(q->source, sizeof(q->source),
		    st->source_name && *st->source_why ? st->source_name : "");
	status_copy(q->source_why, sizeof(q->source_why), st->source_why);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

static void rmq_destroy(void *state)
{
	struct rmq_state *st = state;
	if (!st)
		return;
	if (st->thread_started) {
		uint64_t one = 1;
		atomic_store(&st->stopping, true);
		ssize_t unused = write(st->stop_fd, &one, sizeof(one));
		(void)unused;
		pthread_join(st->thread, NULL);
	}
	if (st->stop_fd >= 0)
		close(st->stop_fd);
	rmq_source_free(st->source);
	rmq_fetch_free(st->fetch);
	rmq_list_free(&st->details);
	rmq_health_free(&st->health);
	snap_unref(st->snap);
	name_filter_free(&st->vhosts);
	name_filter_free(&st->queues);
	pthread_mutex_destroy(&st->lock);
	free(st);
}

static int host_of(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *host = NULL;
	int rc = -EINVAL;
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		snprintf(out, len, "%s", host);
		rc = 0;
	}
	curl_free(host);
	curl_url_cleanup(u);
	return rc;
}

static int rmq_init(const struct config *cfg, struct loop *loop, void **state, char *err,
		    size_t errlen)
{
	(void)loop;
	if (!cfg->rabbitmq.url) {
		snprintf(err, errlen, "no --rabbitmq-url (or RABBITMQ_HOST) configured");
		return -EINVAL;
	}
	struct rmq_state *st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->stop_fd = -1;
	st->last_logged_reason = -2;	    /* log the first outcome either way */
	st->detail_last_logged_reason = -1; /* a first success says nothing new */
	st->health_logged = -1;
	pthread_mutex_init(&st->lock, NULL);
	int rc = -ENOMEM;

	/* "http://host:15672/" and "http://host:15672" name the same API */
	char *base_url = strdup(cfg->rabbitmq.url);
	if (!base_url)
		goto fail;
	size_t n = strlen(base_url);
	while (n && base_url[n - 1] == '/')
		base_url[--n] = '\0';
	if (host_of(base_url, st->host, sizeof(st->host))) {
		snprintf(err, errlen, "cannot parse --rabbitmq-url %s", cfg->rabbitmq.url);
		rc = -EINVAL;
		goto fail;
	}
	st->interval_s = (double)cfg->rabbitmq.interval_ms / 1000;
	st->detail_interval_s = (double)cfg->rabbitmq.detail_interval_ms / 1000;
	if (name_filter_init(&st->vhosts, cfg->rabbitmq.include_vhost,
			     cfg->rabbitmq.exclude_vhost) ||
	    name_filter_init(&st->queues, cfg->rabbitmq.include_queue,
			     cfg->rabbitmq.exclude_queue)) {
		snprintf(err, errlen, "invalid --rabbitmq-include/exclude expression");
		rc = -EINVAL;
		goto fail;
	}
	st->select = (struct rmq_select){ &st->vhosts, &st->queues, cfg->rabbitmq.max_queues };
	st->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (st->stop_fd < 0) {
		rc = -errno;
		goto fail;
	}
	struct rmq_fetch_opts fo = {
		.base_url = base_url,
		.user = cfg->rabbitmq.user,
		.password = cfg->rabbitmq.password,
		.password_file = cfg->rabbitmq.password_file,
		.ca_file = cfg->rabbitmq.ca_file,
		.cert_file = cfg->rabbitmq.cert_file,
		.key_file = cfg->rabbitmq.key_file,
		.insecure = cfg->rabbitmq.insecure_skip_verify,
		.max_parallel = (unsigned)cfg->rabbitmq.max_parallel_requests,
		.timeout_ms = rabbitmq_settings_timeout_ms(&cfg->rabbitmq),
		.max_response_bytes = cfg->rabbitmq.max_response_bytes,
		.stop_fd = st->stop_fd,
	};
	st->fetch = rmq_fetch_new(&fo);
	int mode = rmq_source_mode_parse(cfg->rabbitmq.source ? cfg->rabbitmq.source : "auto");
	if (st->fetch && mode >= 0)
		st->source = rmq_source_new(
			mode, st->fetch, &fo, cfg->rabbitmq.prometheus_url, st->host,
			cfg->rabbitmq.plugin_consumers &&
				strcmp(cfg->rabbitmq.plugin_consumers, "detail") == 0);
	if (!st->source) {
		rc = mode < 0 ? -EINVAL : -errno;
		snprintf(err, errlen, "cannot set up the HTTP client: %s", strerror(-rc));
		goto fail;
	}
	rc = -pthread_create(&st->thread, NULL, poller, st);
	if (rc) {
		snprintf(err, errlen, "cannot start the poller thread: %s", strerror(-rc));
		goto fail;
	}
	st->thread_started = true;
	char shown[512]; /* the URL may carry a user and password: never logged */
	rmq_url_without_userinfo(base_url, shown, sizeof(shown));
	log_info("rabbitmq collector polling", "url", shown, "host", st->host, "source",
		 cfg->rabbitmq.source ? cfg->rabbitmq.source : "auto");
	free(base_url);
	*state = st;
	return 0;
fail: /* an empty err is reported as strerror(-rc) by the collector set */
	free(base_url);
	rmq_destroy(st);
	return rc;
}

static bool rmq_enabled(const struct config *cfg)
{
	return cfg->rabbitmq.url != NULL;
}

const struct collector_ops rabbitmq_collector_ops = {
	.name = "rabbitmq",
	.description = "every queue in every vhost, from the rabbitmq_prometheus plugin or the "
		       "management API",
	.enabled_by_default = rmq_enabled,
	.init = rmq_init,
	.collect = rmq_collect,
	.healthy = rmq_healthy,
	.status = rmq_status,
	.destroy = rmq_destroy,
	.no_bpf = true,
};
