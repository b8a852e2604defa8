/* rabbitmq/source.h — where a poll's queue numbers come from: the management API or the
 * rabbitmq_prometheus plugin, and, for auto, which one and why. */
#ifndef HOSTMON_RABBITMQ_SOURCE_H
#define HOSTMON_RABBITMQ_SOURCE_H

#include "lib/namefilter.h"
#include "rabbitmq/fetch.h"
#include "rabbitmq/parse.h"

/*
 * API:
 *   rmq_source_new() takes the management fetcher (borrowed: the caller
 *   frees it after the source) and, unless mode is management, sets up a
 *   second fetcher for the plugin (prom_opts, its base_url unused). The
 *   plugin is asked on every cluster node: prom_urls, comma-separated, or
 *   when NULL or empty the http/prometheus listeners /api/overview names
 *   (nodes.h), asked again at every detail poll and after a failed poll.
 *   A node that fails fails the poll. consumers_at_detail: the count poll
 *   leaves out the plugin's queue_consumer_count, and consumers come from
 *   the detail poll's queue_metrics. NULL and errno on failure.
 *   rmq_source_free() accepts NULL.
 *
 *   rmq_source_counts() is one count poll: the vhost listing from the
 *   management API (filtered), then per vhost either the management API's
 *   live totals or the plugin's queue_coarse_metrics and
 *   queue_consumer_count (messages, ready, unacknowledged, consumers,
 *   node). rmq_source_details() is one detail poll through the source the
 *   last count poll used: values (consumers and bytes from the statistics
 *   database; bytes from the plugin's queue_metrics) and, for the plugin,
 *   facts (type, state, durable from the management API's live listing,
 *   which the plugin does not have); facts stays empty otherwise. Both
 *   return 0 or -EIO with *fail set, -ECANCELED at shutdown, out lists
 *   empty on failure.
 *
 *   auto: the plugin is used while it answers; when it does not (no
 *   listener, 404, not its page) the same poll uses the management API and
 *   the plugin is tried again RMQ_SOURCE_RETRY_POLLS polls later. A vhost
 *   whose name has a line break, which the plugin cannot write, makes that
 *   poll use the management API (with prometheus it fails the poll). One log
 *   line whenever the source in use or the reason changes.
 *   rmq_source_current() names the source the last count poll used
 *   ("management" or "prometheus"), rmq_source_why() why, as the last log
 *   line said ("" before the first; with management, the configuration).
 */

#define RMQ_SOURCE_RETRY_POLLS 20

enum rmq_source_mode { RMQ_SOURCE_AUTO, RMQ_SOURCE_MANAGEMENT, RMQ_SOURCE_PROMETHEUS };

struct rmq_source;

/* -1 when name is none of auto, management, prometheus */
int rmq_source_mode_parse(const char *name);
struct rmq_source *rmq_source_new(enum rmq_source_mode mode, struct rmq_fetch *management,
				  const struct rmq_fetch_opts *prom_opts, const char *prom_urls,
				  const char *host, bool consumers_at_detail);
void rmq_source_free(struct rmq_source *src);
int rmq_source_counts(struct rmq_source *src, const struct rmq_select *sel, struct rmq_list *out,
		      struct rmq_fetch_error *fail);
int rmq_source_details(struct rmq_source *src, const struct rmq_select *sel,
		       struct rmq_list *values, struct rmq_list *facts,
		       struct rmq_fetch_error *fail);
const char *rmq_source_current(const struct rmq_source *src);
const char *rmq_source_why(const struct rmq_source *src);

#endif
