/* core/collector.h — the interface every collector implements, and the registry that runs them. */
#ifndef HOSTMON_CORE_COLLECTOR_H
#define HOSTMON_CORE_COLLECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/loop.h"
#include "exposition/metrics.h"

struct bpf_object;
struct status_model;

/*
 * API:
 *   A collector is a const struct collector_ops; collector_table lists the
 *   compiled-in ones, and a set is selected from a table (tests pass their
 *   own). Lifecycle:
 *     enabled_by_default(cfg): true when it is available and configured
 *       (e.g. RabbitMQ only with a URL); used when --collectors is unset.
 *     init(cfg, loop, &state, err): open, configure, load and attach
 *       (for BPF: skeleton open -> rodata -> load -> attach). 0 or -errno;
 *       on failure it has released everything itself and err says why
 *       (left empty, the set reports strerror(-rc)). A collector reads its
 *       own member of cfg (cfg->cgroup_cpu, ...), declared in its
 *       settings.c, and the shared cfg->cgroup; nothing else.
 *     collect(state, snapshot): append its families to the scrape's
 *       snapshot; 0 or -errno. A collector reads its sources into its own
 *       memory first and appends only a complete result, so a failed
 *       source read returns an error having appended nothing: data is
 *       never published half-updated. It need not check
 *       metric_snapshot_error(): the set runs each collect in a snapshot
 *       section, and when collect returns an error or anything it appended
 *       was invalid (or memory ran out), everything it appended in that
 *       scrape is dropped and the rest of the page is served.
 *     bpf_object(state): optional; its programs get run-time metrics.
 *     destroy(state): detach and free; accepts NULL.
 *   hostmon_collector_up{collector} is 1 when the collector started and
 *   its last collect succeeded. A collector that fails init is logged once
 *   and exported as 0; one whose collect fails is exported as 0 for that
 *   scrape, logged when it starts failing and when it recovers (not at
 *   every scrape). The others keep running.
 */
struct collector_ops {
	const char *name;
	const char *description;
	bool (*enabled_by_default)(const struct config *cfg);
	int (*init)(const struct config *cfg, struct loop *loop, void **state, char *err,
		    size_t errlen);
	int (*collect)(void *state, struct metric_snapshot *s);
	struct bpf_object *(*bpf_object)(void *state);
	/* optional: whether the collector's source works now (a broker that answers, say); false
	 * with a reason makes the collector down while it keeps exporting its own health series */
	bool (*healthy)(void *state, char *reason, size_t len);
	/* optional: adds its own part of the status page (status/status.h) from a consistent
	 * view of its state; 0 or -errno, and on an error the set takes back what it added */
	int (*status)(void *state, struct status_model *m);
	void (*destroy)(void *state);
	/* runs no BPF program: the startup checks of BPF's prerequisites are not for it */
	bool no_bpf;
};

struct collector {
	const struct collector_ops *ops;
	void *state;
	bool up;
	double last_duration_seconds;
	int last_error;	       /* of the last collect, 0 when it succeeded */
	char start_error[256]; /* why init failed, for /readyz and the status page */
};

struct collector_set {
	struct collector *items;
	size_t n;
};

/* Whether any collector of the set runs BPF programs. */
bool collector_set_uses_bpf(const struct collector_set *set);

/* The collectors compiled in, in a fixed order. */
extern const struct collector_ops *const collector_table[];
extern const size_t collector_table_len;

/*
 * Chooses the collectors from the n entries of table by cfg->core.collectors (or
 * the defaults). An unknown name is a configuration error: -EINVAL with err
 * set.
 */
int collector_set_select(struct collector_set *set, const struct collector_ops *const *table,
			 size_t n, const struct config *cfg, char *err, size_t errlen);
/*
 * Initialises every selected collector, logging each failure once (a refusal
 * for want of privileges says which capabilities are missing). Returns how
 * many are up.
 */
size_t collector_set_start(struct collector_set *set, const struct config *cfg, struct loop *loop);
/*
 * Runs each up collector into out, each in its own section, timing it and
 * recording its result (last_error).
 */
void collector_set_collect(struct collector_set *set, struct metric_snapshot *out);
void collector_set_destroy(struct collector_set *set);
/*
 * Adds every collector to m (up or down, and why, as /readyz says it) and each up collector's
 * own part (ops->status); a part that fails is taken back and the collector's reason says so.
 */
void collector_set_status(const struct collector_set *set, struct status_model *m);
/*
 * Whether c works now: started, its last collect succeeded, and its source is
 * healthy (ops->healthy). When not, why says why in a few words.
 */
bool collector_working(const struct collector *c, char *why, size_t len);

/*
 * For any source of metrics run in a section sec of s: closes sec with the
 * source's result rc (see metric_snapshot_end_section) and logs a change of
 * that result once, a failure or a recovery, under key=name (collector=
 * rabbitmq, source=restart). *last_error keeps the result between scrapes.
 * Returns it.
 */
int collector_section_end(struct metric_snapshot *s, struct metric_section *sec, int rc,
			  const char *key, const char *name, int *last_error);

#endif
