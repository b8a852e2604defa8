/* cli/scrape.h — one GET of a running daemon's /metrics, parsed into a snapshot. */
#ifndef HOSTMON_CLI_SCRAPE_H
#define HOSTMON_CLI_SCRAPE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "exposition/metrics.h"
#include "lib/buf.h"

/*
 * API:
 *   scrape_daemon() fetches url's /metrics (url is the daemon's base URL,
 *   e.g. http://127.0.0.1:9567; one ending in /metrics is taken as it is),
 *   at most SCRAPE_MAX_BYTES, within timeout_ms, and parses it
 *   (exposition/expo_parse.h). On success *out is a snapshot the caller
 *   frees and *at the monotonic time (seconds) halfway through the request,
 *   the best guess of when the daemon read its counters. Errors: -ECONNREFUSED
 *   (nothing listens: no daemon runs there), -EIO (other transfer
 *   errors, a status other than 200, a page too large), -EINVAL (the page
 *   does not parse; err has the line), -ECANCELED (*stop turned true),
 *   -ENOMEM. err is one line, naming the URL without credentials.
 */
#define SCRAPE_MAX_BYTES (64u << 20)

/*
 * scrape_fetch() is the GET under it, for any page of the daemon (path "/metrics",
 * "/status.json"): the same limits and errors; *out is the body (the caller frees it).
 */
int scrape_fetch(const char *url, const char *path, uint64_t timeout_ms, const atomic_bool *stop,
		 struct buf *out, double *at, char *err, size_t errlen);
int scrape_daemon(const char *url, uint64_t timeout_ms, const atomic_bool *stop,
		  struct metric_snapshot **out, double *at, char *err, size_t errlen);

#endif
