/* cli/source.h — where the commands get their pages: a running daemon's /metrics, or, when none
 * answers, the collectors loaded in this process (standalone); and the wait between two reads. */
#ifndef HOSTMON_CLI_SOURCE_H
#define HOSTMON_CLI_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/settings.h"
#include "exposition/metrics.h"

/*
 * API:
 *   source_open() reads the daemon at src->url once; when nothing listens
 *   there (connection refused) it loads the cgroup_cpu and http_latency
 *   collectors in this process instead (root, or CAP_BPF + CAP_PERFMON;
 *   the daemon's own settings from HOSTMON_* apply) and reads them. Either
 *   way *first is that first page (the caller frees it) and *at its
 *   monotonic time in seconds. 0, or -errno with one line in err (no daemon
 *   and the collectors would not load: both said).
 *   source_read(): the next page, the same way.
 *   source_wait() lets time pass until the monotonic time until: the
 *   collectors keep running (their event loop turns), and each byte on
 *   key_fd (>= 0) goes to on_key, which returns false to end the wait
 *   early. Returns false when on_key or a signal (term_stop) ended it.
 *   source_mode() is "daemon" or "standalone"; source_describe() the
 *   header's words ("daemon http://...", "standalone: collectors loaded by
 *   this command"). source_close() unloads the collectors (detaching every
 *   BPF program they attached); accepts NULL.
 */
struct source;

int source_open(struct source **out, const struct cli_source_settings *src,
		struct metric_snapshot **first, double *at, char *err, size_t errlen);
int source_read(struct source *s, struct metric_snapshot **out, double *at, char *err,
		size_t errlen);
bool source_wait(struct source *s, double until, int key_fd, bool (*on_key)(void *arg, int c),
		 void *arg);
const char *source_mode(const struct source *s);
const char *source_describe(const struct source *s);
void source_close(struct source *s);

#endif
