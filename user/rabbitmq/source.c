/* rabbitmq/source.c — a poll through the management API or the rabbitmq_prometheus plugin, and
 * auto's choice between them. */
#include "rabbitmq/source.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "rabbitmq/nodes.h"
#include "rabbitmq/prom_parse.h"

/* Counts come from the queue processes themselves (no statistics-database lag): cheap. */
static const char fast_query[] = "disable_stats=true&enable_queue_totals=true&columns=name,vhost,"
				 "node,leader,type,state,durable,messages,messages_ready,"
				 "messages_unacknowledged";
/* Consumers and bytes exist only in the statistics database: a slower cadence. */
static const char detail_query[] = "columns=name,vhost,consumers,message_bytes,"
				   "message_bytes_ready,message_bytes_unacknowledged";
/*
 * The plugin's per-queue families, measured at 10,000 queues in one vhost:
 * queue_coarse_metrics 0.07 s, with queue_consumer_count 0.12 s, against
 * 0.7-1.2 s for the management API's cheapest listing; queue_metrics (the
 * bytes) 0.6 s and 15 MB, so it waits for the detail cadence.
 */
static const char prom_count_query[] = "family=queue_coarse_metrics&family=queue_consumer_count";
/* queue_metrics has the consumers too (rabbitmq_detailed_queue_consumers) */
static const char prom_detail_query[] = "family=queue_metrics";
/*
 * At 50,000 queues over 5 vhosts queue_consumer_count is most of the count poll (0.24 s for
 * queue_coarse_metrics alone, 0.74 s with it): --rabbitmq-plugin-consumers detail leaves it out,
 * and the consumers come from the detail poll's queue_metrics.
 */
static const char prom_count_lean_query[] = "family=queue_coarse_metrics";

struct rmq_source {
	enum rmq_source_mode mode;
	struct rmq_fetch *mgmt; /* borrowed */
	struct rmq_fetch *prom; /* NULL with mode management */
	char host[256];
	struct rmq_nodes nodes;	 /* every node's plugin listener */
	bool discover;		 /* nodes come from /api/overview, not from the configuration */
	bool rediscover;	 /* ask /api/overview again before the next poll of the plugin */
	bool using_prom;	 /* what the last count poll used */
	const char *count_query; /* the plugin's families of the count poll */
	unsigned retry_in;	 /* auto: management polls left before the plugin is tried again */
	char logged[660];	 /* source and why of the last log line */
	char why[640];		 /* why of the last log line */
};

int rmq_source_mode_parse(const char *name)
{
	static const char *const names[] = { [RMQ_SOURCE_AUTO] = "auto",
					     [RMQ_SOURCE_MANAGEMENT] = "management",
					     [RMQ_SOURCE_PROMETHEUS] = "prometheus" };
	for (int i = 0; i < (int)(sizeof(names) / sizeof(names[0])); i++)
		if (name && strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

struct rmq_source *rmq_source_new(enum rmq_source_mode mode, struct rmq_fetch *management,
				  const struct rmq_fetch_opts *prom_opts, const char *prom_urls,
				  const char *host, bool consumers_at_detail)
{
	struct rmq_source *src = calloc(1, sizeof(*src));
	if (!src)
		return NULL;
	src->mode = mode;
	src->mgmt = management;
	src->using_prom = mode != RMQ_SOURCE_MANAGEMENT;
	src->count_query = consumers_at_detail ? prom_count_lean_query : prom_count_query;
	snprintf(src->host, sizeof(src->host), "%s", host);
	src->discover = !prom_urls || !*prom_urls;
	if (mode != RMQ_SOURCE_MANAGEMENT) {
		struct rmq_fetch_opts o = *prom_opts; /* every request names its node's URL */
		o.format = RMQ_FORMAT_PROMETHEUS;
		if (!src->discover && rmq_nodes_from_list(prom_urls, &src->nodes)) {
			free(src);
			errno = ENOMEM;
			return NULL;
		}
		src->prom = rmq_fetch_new(&o);
		if (!src->prom) {
			int e = errno;
			rmq_source_free(src);
			errno = e;
			return NULL;
		}
	}
	return src;
}

void rmq_source_free(struct rmq_source *src)
{
	if (!src)
		return;
	rmq_fetch_free(src->prom);
	rmq_nodes_free(&src->nodes);
	free(src);
}

const char *rmq_source_current(const struct rmq_source *src)
{
	return src->using_prom ? "prometheus" : "management";
}

const char *rmq_source_why(const struct rmq_source *src)
{
	return src->mode == RMQ_SOURCE_MANAGEMENT ? "--rabbitmq-source management" : src->why;
}

/* One line when the source in use, or why, changes. */
static void say_source(struct rmq_source *src, const char *why)
{
	char now[sizeof(src->logged)];
	snprintf(now, sizeof(now), "%d %s", src->using_prom, why);
	if (strcmp(now, src->logged) == 0)
		return;
	snprintf(src->logged, sizeof(src->logged), "%s", now);
	snprintf(src->why, sizeof(src->why), "%s", why);
	log_info("rabbitmq source", "host", src->host, "source", rmq_source_current(src), "why",
		 why);
}

/* "http://a:15692, http://b:15692" for a log line, cut to fit. */
static void nodes_text(const struct rmq_source *src, char *out, size_t len)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < src->nodes.n && n < len; i++) {
		int w = snprintf(out + n, len - n, "%s%s", i ? ", " : "", src->nodes.bases[i]);
		n += w > 0 ? (size_t)w : 0;
	}
}

/* The nodes to scrape: asked of /api/overview when they are not configured, at the first poll,
 * after a failed one, and at every detail poll (nodes join and leave). */
static int prom_nodes(struct rmq_source *src, uint64_t deadline, struct rmq_fetch_error *fail)
{
	struct rmq_nodes fresh = { 0 };
	struct buf body = { 0 };
	char err[200];

	if (!src->discover || (src->nodes.n && !src->rediscover))
		return 0;
	int rc = rmq_fetch_get(src->mgmt, "/api/overview?columns=node,listeners", deadline, &body,
			       fail);
	if (rc)
		return rc;
	rc = rmq_nodes_from_overview(body.len ? body.data : "", body.len, src->host, &fresh, err,
				     sizeof(err));
	buf_free(&body);
	if (rc) {
		fail->reason = rc == -ENOENT   ? RMQ_REASON_NOT_FOUND
			       : rc == -ENOMEM ? RMQ_REASON_TRANSFER
					       : RMQ_REASON_UNEXPECTED_RESPONSE;
		snprintf(fail->detail, sizeof(fail->detail), "%s", err);
		return -EIO;
	}
	rmq_nodes_free(&src->nodes);
	src->nodes = fresh;
	src->rediscover = false;
	return 0;
}

static int prom_queues(struct rmq_source *src, const char *query, const struct rmq_select *sel,
		       const struct rmq_list *names, uint64_t deadline, struct rmq_list *out,
		       struct rmq_fetch_error *fail)
{
	int rc = prom_nodes(src, deadline, fail);
	if (!rc)
		rc = rmq_fetch_vhost_queues_at(src->prom, query, sel, names,
					       (const char *const *)src->nodes.bases, src->nodes.n,
					       deadline, out, fail);
	if (rc)
		src->rediscover = true;
	return rc;
}

/* The plugin is not there (or not this plugin): auto may use the management API instead. */
static bool plugin_absent(enum rmq_reason r)
{
	return r == RMQ_REASON_CONNECT || r == RMQ_REASON_NOT_FOUND ||
	       r == RMQ_REASON_HTTP_STATUS || r == RMQ_REASON_INVALID_TEXT ||
	       r == RMQ_REASON_UNEXPECTED_RESPONSE || r == RMQ_REASON_TLS;
}

/* auto, the plugin not answering: the management API for RMQ_SOURCE_RETRY_POLLS polls. */
static void give_up_plugin(struct rmq_source *src, const struct rmq_fetch_error *fail)
{
	char why[640];
	src->using_prom = false;
	src->retry_in = RMQ_SOURCE_RETRY_POLLS;
	snprintf(why, sizeof(why), "the rabbitmq_prometheus plugin: %s: %s",
		 rmq_reason_names[fail->reason], fail->detail);
	say_source(src, why);
}

/* The first vhost the plugin cannot write unambiguously, or NULL. */
static const char *unreadable_vhost(const struct rmq_list *names)
{
	for (size_t i = 0; i < names->len; i++)
		if (!rmq_prom_vhost_readable(names->items[i].name))
			return names->items[i].name;
	return NULL;
}

static int prom_counts(struct rmq_source *src, const struct rmq_select *sel, struct rmq_list *out,
		       struct rmq_fetch_error *fail)
{
	uint64_t deadline = rmq_fetch_deadline(src->mgmt);
	struct rmq_list names = { 0 };
	char why[640], where[400];

	int rc = rmq_fetch_vhosts(src->mgmt, sel, deadline, &names, fail);
	if (rc)
		return rc;
	const char *bad = unreadable_vhost(&names);
	if (bad && src->mode == RMQ_SOURCE_PROMETHEUS) {
		fail->reason = RMQ_REASON_UNEXPECTED_RESPONSE;
		snprintf(fail->detail, sizeof(fail->detail),
			 "vhost \"%.100s\" has a line break in its name, which /metrics/detailed "
			 "writes unescaped; use --rabbitmq-source management or auto",
			 bad);
		rc = -EIO;
	} else if (bad) {
		src->using_prom = false;
		snprintf(why, sizeof(why),
			 "vhost \"%.100s\" has a line break in its name, which the plugin cannot "
			 "write unambiguously",
			 bad);
		say_source(src, why);
		rc = rmq_fetch_vhost_queues(src->mgmt, fast_query, sel, &names, deadline, out,
					    fail);
	} else {
		rc = prom_queues(src, src->count_query, sel, &names, deadline, out, fail);
		if (rc == -EIO && src->mode == RMQ_SOURCE_AUTO && plugin_absent(fail->reason)) {
			give_up_plugin(src, fail);
			rc = rmq_fetch_vhost_queues(src->mgmt, fast_query, sel, &names, deadline,
						    out, fail);
		} else if (rc == 0) {
			src->using_prom = true;
			nodes_text(src, where, sizeof(where));
			snprintf(why, sizeof(why),
				 "the rabbitmq_prometheus plugin answers on %zu node%s: %s",
				 src->nodes.n, src->nodes.n == 1 ? "" : "s", where);
			say_source(src, why);
		}
	}
	rmq_list_free(&names);
	return rc;
}

int rmq_source_counts(struct rmq_source *src, const struct rmq_select *sel, struct rmq_list *out,
		      struct rmq_fetch_error *fail)
{
	if (src->mode == RMQ_SOURCE_MANAGEMENT ||
	    (src->mode == RMQ_SOURCE_AUTO && src->retry_in && src->retry_in--))
		return rmq_fetch_queues(src->mgmt, fast_query, sel, out, fail);
	return prom_counts(src, sel, out, fail);
}

int rmq_source_details(struct rmq_source *src, const struct rmq_select *sel,
		       struct rmq_list *values, struct rmq_list *facts,
		       struct rmq_fetch_error *fail)
{
	if (!src->using_prom)
		return rmq_fetch_queues(src->mgmt, detail_query, sel, values, fail);

	uint64_t deadline = rmq_fetch_deadline(src->mgmt);
	struct rmq_list names = { 0 };
	int rc = rmq_fetch_vhosts(src->mgmt, sel, deadline, &names, fail);
	if (!rc && unreadable_vhost(&names)) {
		/* the count poll says why; the management API has the same fields */
		rmq_list_free(&names);
		return rmq_fetch_queues(src->mgmt, detail_query, sel, values, fail);
	}
	src->rediscover = true;
	if (!rc)
		rc = prom_queues(src, prom_detail_query, sel, &names, deadline, values, fail);
	if (rc == -EIO && src->mode == RMQ_SOURCE_AUTO && plugin_absent(fail->reason)) {
		/* the first poll of all starts with details: auto decides here as for counts */
		give_up_plugin(src, fail);
		rc = rmq_fetch_vhost_queues(src->mgmt, detail_query, sel, &names, deadline, values,
					    fail);
	} else if (!rc) {
		rc = rmq_fetch_vhost_queues(src->mgmt, fast_query, sel, &names, deadline, facts,
					    fail);
	}
	if (rc)
		rmq_list_free(values);
	rmq_list_free(&names);
	return rc;
}
