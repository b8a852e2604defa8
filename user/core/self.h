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
 *   page size); 0 or -errno. self_collect() appends the self families to s,
 *   among them hostmon_collector_up from each collector's started state and
 *   last collect result, so it runs after collector_set_collect(); its
 *   errors are left to the snapshot (the daemon runs it in a section).
 *   http may be NULL.
 *   self_log_bpf_map_memory() logs one line with the kernel memory of all
 *   started collectors' BPF maps (the total hostmon_bpf_map_memory_bytes
 *   exports per map). self_status() fills the same facts into the status
 *   page's model.
 */
int self_init(void);
void self_collect(struct metric_snapshot *s, const struct collector_set *set,
		  const struct web_server_stats *http);
void self_log_bpf_map_memory(const struct collector_set *set);
/* hostmon's own part of the status page: version, host, CPU, resident and BPF map memory. */
struct status_model;
void self_status(struct status_model *m, const struct collector_set *set);

#endif
