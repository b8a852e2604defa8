/* restart/notify.h — webhook POSTs sent in order by a background thread; callers never block. */
#ifndef HOSTMON_RESTART_NOTIFY_H
#define HOSTMON_RESTART_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   notifier_new() starts one delivery thread with one reused libcurl
 *   handle (keep-alive). Each attempt may take timeout_ms (connect and
 *   total); a message is tried max_attempts times (>= 1) with exponential
 *   backoff between attempts (1 s, doubled, at most 30 s). At most
 *   queue_max messages wait behind the one in flight. NULL + errno
 *   (EINVAL for a zero argument).
 *
 *   notifier_post() copies url and body (JSON) into the queue and returns at
 *   once: 0, -ENOSPC when the queue is full or -ENOMEM (both counted as
 *   dropped). Messages go out in the order posted, one at a time; a reply
 *   2xx is success, anything else (connect error, timeout, other status,
 *   redirects included) is retried. A message that fails every attempt is
 *   counted failed and logged once (URL without credentials or query; never
 *   the body). A URL curl cannot use (malformed, not http/https) fails at
 *   once, without retries.
 *
 *   notifier_set_backoff_base() changes the first backoff (tests use tens
 *   of ms). notifier_get_stats() may be called from any thread.
 *
 *   notifier_free() stops the thread, abandoning a message in flight within
 *   about a second, counts it and the queued ones as dropped (one log line
 *   says how many), and frees everything. Accepts NULL. Must not run while
 *   another thread posts.
 */
struct notifier;

struct notifier_stats {
	uint64_t sent;	  /* delivered (2xx) */
	uint64_t failed;  /* every attempt failed */
	uint64_t dropped; /* not queued (full, no memory), or unsent at shutdown */
	uint64_t retries; /* attempts after a message's first */
};

struct notifier *notifier_new(uint64_t timeout_ms, unsigned max_attempts, size_t queue_max);
int notifier_post(struct notifier *n, const char *url, const char *body);
void notifier_set_backoff_base(struct notifier *n, uint64_t base_ms);
void notifier_get_stats(struct notifier *n, struct notifier_stats *out);
void notifier_free(struct notifier *n);

#endif
