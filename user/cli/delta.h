/* cli/delta.h — the arithmetic of a window between two scrapes: counter and histogram deltas
 * across resets, and quantiles interpolated as PromQL's histogram_quantile does. */
#ifndef HOSTMON_CLI_DELTA_H
#define HOSTMON_CLI_DELTA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   counter_delta(): after - before, or after when the counter went down
 *   (the daemon restarted: it counted from zero since), as PromQL's
 *   increase() treats a reset.
 *
 *   hist_delta(): per-bucket deltas of NON-cumulative counts (n buckets);
 *   a bucket that went down means a reset, and then out is after itself.
 *   before NULL: the series is new in the window, out is after. Returns
 *   true on a reset.
 *
 *   hist_quantile(): the q-quantile (0..1) of NON-cumulative counts
 *   counts[0..nbounds] over ascending finite bounds (counts[nbounds] above
 *   the last bound), as histogram_quantile(): rank = q * total; the first
 *   bucket whose cumulative count reaches the rank holds it, linearly
 *   interpolated between its lower bound (0 for the first bucket, unless
 *   its bound is <= 0: then the bound) and its upper bound. A rank that
 *   only the +Inf bucket reaches gives the last bound, and *beyond (when
 *   not NULL) is set: shown as ">10s". NaN for no observations, or for
 *   q = 0 with an empty first bucket (0/0, as Prometheus gives).
 */
double counter_delta(double after, double before);
bool hist_delta(const uint64_t *after, const uint64_t *before, size_t n, uint64_t *out);
double hist_quantile(double q, const double *bounds, size_t nbounds, const uint64_t *counts,
		     bool *beyond);

#endif
