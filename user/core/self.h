/* core/self.h — hostmon's metrics about itself: build, process, collectors, BPF programs, HTTP
 * server.
 */
#ifndef HOSTMON_CORE_SELF_H
#define HOSTMON_CORE_SELF_H

#include "core/collector.h"
#include "exposition/metrics.h"
#include "web/server.h"

/*
 * API:
 *   self_init() records what does not change (start time, kernel release,
 *   page size); self_collect() appends the self families to s; 0 or -errno.
 */
int self_init(void);
int self_collect(struct metric_snapshot *s, const struct collector_set *set,
		 const struct web_server_stats *http);

#endif
