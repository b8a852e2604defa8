/* rabbitmq/fetch.h — the RabbitMQ management API over HTTP: one queue listing per vhost, a few at
 * once. */
#ifndef HOSTMON_RABBITMQ_FETCH_H
#define HOSTMON_RABBITMQ_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/namefilter.h"
#include "rabbitmq/parse.h"

/*
 * API:
 *   rmq_fetch_new() sets up one curl multi handle and max_parallel easy
 *   handles, kept for the fetcher's life so connections stay open between
 *   polls (keep-alive); it copies what it keeps of opts. NULL and errno on
 *   failure. rmq_fetch_free() accepts NULL.
 *
 *   rmq_fetch_queues() is one poll: GET /api/vhosts?columns=name, then for
 *   every vhost that passes sel->vhosts (NULL: all) GET
 *   /api/queues/{vhost}?query, the name percent-encoded, at most
 *   max_parallel at once, each response parsed as it streams in
 *   (parse.h). An excluded vhost is never asked for. out must be
 *   empty; on success it holds the records that pass sel's filters, in the
 *   listing's vhost order, the first sel->max_queues of them: the rest,
 *   and the queues and vhosts whose names are too long, only counted in
 *   out->dropped (a vhost past the cap or too long counts as one queue, and
 *   its queues are not asked for). Memory follows the records kept: at
 *   most max_parallel responses of at most max_queues records each are
 *   parsed at once.
 *   timeout_ms bounds the whole poll, max_response_bytes each (decoded)
 *   response. A vhost whose request gets 404 was deleted after the listing
 *   and counts as empty; any other failure fails the whole poll: -EIO with
 *   *fail set (reason, and a detail for the log), out left empty. -ECANCELED
 *   when stop_fd became readable (shutdown; nothing to report). One thread
 *   at a time per fetcher.
 *
 *   The same in two steps, so the listing can come from one fetcher and
 *   the queues from another (the Prometheus plugin's): rmq_fetch_vhosts()
 *   lists the vhosts that pass the filter into out (names in .name; the
 *   listing is always the management API's JSON), rmq_fetch_vhost_queues()
 *   asks for each vhost of names, in the fetcher's format. Both take an
 *   absolute deadline (loop_now_ms() milliseconds; rmq_fetch_deadline() is
 *   now + the fetcher's timeout) and leave out empty on failure. The
 *   plugin's text is filtered and capped when each response ends, not as it
 *   streams: while one is parsed it holds what the response names, bounded
 *   by max_response_bytes.
 *
 *   rmq_fetch_vhost_queues_at() is the same on several nodes: every vhost
 *   of names asked of each of the nbases base URLs (the plugin on each
 *   cluster node serves the queues that node hosts), all of them in one
 *   batch of at most max_parallel at once; any failing request fails the
 *   whole poll, its detail naming the node. rmq_fetch_get() is one GET of
 *   base_url + path, its body whole in *body (NUL-terminated, len without
 *   the NUL; the caller frees it with buf_free), bounded by
 *   max_response_bytes.
 *
 *   rmq_status_reason() names a response status other than 200 for the
 *   operator: a 401 says the user and whether a password was configured
 *   (none: reason auth_no_password, and where one can be set), a 404 the
 *   URL requested (its userinfo, if any, left out). Writes the detail,
 *   returns the reason. rmq_url_without_userinfo() is that URL, for any
 *   log line.
 */

enum rmq_reason {
	RMQ_REASON_CONNECT,
	RMQ_REASON_TIMEOUT,
	RMQ_REASON_TLS,
	RMQ_REASON_AUTH,
	RMQ_REASON_AUTH_NO_PASSWORD,
	RMQ_REASON_NOT_FOUND,
	RMQ_REASON_HTTP_STATUS,
	RMQ_REASON_TRANSFER,
	RMQ_REASON_TOO_LARGE,
	RMQ_REASON_INVALID_JSON,
	RMQ_REASON_UNEXPECTED_RESPONSE,
	RMQ_REASON_INVALID_TEXT, /* not the Prometheus text format, or cut short */
	RMQ_REASON_MAX,
};

/* The reason label of hostmon_rabbitmq_poll_errors_total and
 * hostmon_rabbitmq_detail_poll_errors_total, in enum order. */
extern const char *const rmq_reason_names[RMQ_REASON_MAX];

/* What the per-vhost requests ask for and how their bodies are read. */
enum rmq_format {
	RMQ_FORMAT_MANAGEMENT, /* GET {base}/api/queues/{vhost}?query, JSON */
	RMQ_FORMAT_PROMETHEUS, /* GET {base}/metrics/detailed?vhost={vhost}&query, text
				  (prom_parse.h) */
};

struct rmq_fetch_opts {
	const char *base_url; /* http(s)://host:port[/prefix], no trailing slash */
	enum rmq_format format;
	const char *user;
	const char *password;	   /* or NULL */
	const char *password_file; /* or NULL; re-read for every poll, so a rotated secret works */
	const char *ca_file, *cert_file, *key_file;
	bool insecure;
	unsigned max_parallel; /* 1..32 */
	uint64_t timeout_ms;   /* the whole poll */
	uint64_t max_response_bytes;
	int stop_fd; /* readable: abandon the poll at once; -1 for none */
};

/* What a poll keeps. */
struct rmq_select {
	const struct name_filter *vhosts, *queues; /* NULL: all */
	size_t max_queues;
};

struct rmq_fetch_error {
	enum rmq_reason reason;
	char detail[256];
};

struct rmq_fetch;

struct rmq_fetch *rmq_fetch_new(const struct rmq_fetch_opts *opts);
void rmq_fetch_free(struct rmq_fetch *f);
enum rmq_reason rmq_status_reason(long status, const char *url, const char *user,
				  bool password_given, char *detail, size_t len);
void rmq_url_without_userinfo(const char *url, char *out, size_t len);
int rmq_fetch_queues(struct rmq_fetch *f, const char *query, const struct rmq_select *sel,
		     struct rmq_list *out, struct rmq_fetch_error *fail);
uint64_t rmq_fetch_deadline(const struct rmq_fetch *f);
int rmq_fetch_vhost_queues_at(struct rmq_fetch *f, const char *query, const struct rmq_select *sel,
			      const struct rmq_list *names, const char *const *bases, size_t nbases,
			      uint64_t deadline_ms, struct rmq_list *out,
			      struct rmq_fetch_error *fail);
int rmq_fetch_get(struct rmq_fetch *f, const char *path, uint64_t deadline_ms, struct buf *body,
		  struct rmq_fetch_error *fail);
int rmq_fetch_vhosts(struct rmq_fetch *f, const struct rmq_select *sel, uint64_t deadline_ms,
		     struct rmq_list *out, struct rmq_fetch_error *fail);
int rmq_fetch_vhost_queues(struct rmq_fetch *f, const char *query, const struct rmq_select *sel,
			   const struct rmq_list *names, uint64_t deadline_ms, struct rmq_list *out,
			   struct rmq_fetch_error *fail);

#endif
