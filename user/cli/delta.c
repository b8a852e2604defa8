/* cli/delta.c — counter and histogram deltas across resets, and histogram_quantile. */
#include "cli/delta.h"

#include <math.h>

double counter_delta(double after, double before)
{
	return after < before ? after : after - before;
}

bool hist_delta(const uint64_t *after, const uint64_t *before, size_t n, uint64_t *out)
{
	bool reset = false;

	for (size_t i = 0; before && i < n; i++)
		if (after[i] < before[i])
			reset = true;
	for (size_t i = 0; i < n; i++)
		out[i] = (before && !reset) ? after[i] - before[i] : after[i];
	return reset;
}

double hist_quantile(double q, const double *bounds, size_t nbounds, const uint64_t *counts,
		     bool *beyond)
{
	uint64_t total = 0, below = 0;
	size_t b;

	if (beyond)
		*beyond = false;
	if (isnan(q))
		return NAN;
	if (q < 0)
		return -INFINITY;
	if (q > 1)
		return INFINITY;
	for (size_t i = 0; i <= nbounds; i++)
		total += counts[i];
	if (total == 0 || nbounds == 0)
		return NAN;
	double rank = q * (double)total;
	for (b = 0; b < nbounds; b++) {
		if ((double)(below + counts[b]) >= rank)
			break;
		below += counts[b];
	}
	if (b == nbounds) {
		if (beyond)
			*beyond = true;
		return bounds[nbounds - 1];
	}
	if (b == 0 && bounds[0] <= 0)
		return bounds[0];
	double start = b == 0 ? 0 : bounds[b - 1];
	if (counts[b] == 0)
		return NAN; /* q = 0 on an empty first bucket: 0/0 in PromQL too */
	return start + (bounds[b] - start) * ((rank - (double)below) / (double)counts[b]);
}
