/* lib/clock.h — the clocks hostmon reads: monotonic for intervals and deadlines, wall for
 * timestamps that leave the process. */
#ifndef HOSTMON_LIB_CLOCK_H
#define HOSTMON_LIB_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t clock_monotonic_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline uint64_t clock_monotonic_ms(void)
{
	return clock_monotonic_ns() / 1000000u;
}

static inline double clock_monotonic_seconds(void)
{
	return (double)clock_monotonic_ns() / 1e9;
}

static inline double clock_wall_seconds(void)
{
	return (double)clock_ns(CLOCK_REALTIME) / 1e9;
}

#endif
