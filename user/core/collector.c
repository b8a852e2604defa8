/* core/collector.c — the table of compiled-in collectors and the set that selects, starts and runs
 * them.
 */
#include "core/collector.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cgroup_cpu/cgroup_cpu.h"
#include "cgroup_saturation/cgroup_saturation.h"
#include "cgroup_tcp/cgroup_tcp.h"
#include "core/host_check.h"
#include "core/log.h"
#include "http_latency/http_latency.h"
#include "lib/clock.h"
#include "nodejs_eventloop/nodejs_eventloop.h"
#include "rabbitmq/rabbitmq.h"
#include "status/status.h"

const struct collector_ops *const collector_table[] = {
	&cgroup_cpu_collector_ops,
	&http_latency_collector_ops,
	&rabbitmq_collector_ops,
	&cgroup_saturation_collector_ops,
	&cgroup_tcp_collector_ops,
	&nodejs_eventloop_collector_ops,
	NULL,
};
const size_t collector_table_len = sizeof(collector_table) / sizeof(collector_table[0]) - 1;

static const struct collector_ops *find_ops(const struct collector_ops *const *table, size_t n,
					    const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(table[i]->name) == len && strncmp(table[i]->name, name, len) == 0)
			return table[i];
	return NULL;
}

static int add(struct collector_set *set, const struct collector_ops *ops)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->items[i].ops == ops)
			return 0; /* listed twice: run once */
	struct collector *items = realloc(set->items, (set->n + 1) * sizeof(*items));
	if (!items)
		return -ENOMEM;
	set->items = items;
	set->items[set->n++] = (struct collector){ .ops = ops };
	return 0;
}

int collector_set_select(struct collector_set *set, const struct collector_ops *const *table,
			 size_t n, const struct config *cfg, char *err, size_t errlen)
{
	int rc = 0;

	memset(set, 0, sizeof(*set));
	if (!cfg->core.collectors) {
		for (size_t i = 0; i < n && !rc; i++)
			if (!table[i]->enabled_by_default || table[i]->enabled_by_default(cfg))
				rc = add(set, table[i]);
	} else {
		const char *p = cfg->core.collectors;
		while (*p && !rc) {
			size_t len = strcspn(p, ",");
			/* tolerate spaces around names: "cgroup_cpu, http_latency" */
			const char *name = p;
			size_t nlen = len;
			while (nlen && *name == ' ') {
				name++;
				nlen--;
			}
			while (nlen && name[nlen - 1] == ' ')
				nlen--;
			if (nlen) {
				const struct collector_ops *ops = find_ops(table, n, name, nlen);
				if (!ops) {
					char known[256] = "";
					for (size_t i = 0; i < n; i++) {
						strncat(known, i ? ", " : "",
							sizeof(known) - strlen(known) - 1);
						strncat(known, table[i]->name,
							sizeof(known) - strlen(known) - 1);
					}
					snprintf(err, errlen,
						 "unknown collector \"%.*s\" in --collectors "
						 "(known: %s)",
						 (int)nlen, name, *known ? known : "none");
					rc = -EINVAL;
					break;
				}
				rc = add(set, ops);
			}
			p += len;
			if (*p == ',')
				p++;
		}
	}
	if (rc == -ENOMEM)
		snprintf(err, errlen, "out of memory");
	if (rc)
		collector_set_destroy(set);
	return rc;
}

bool collector_set_uses_bpf(const struct collector_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		if (!set->items[i].ops->no_bpf)
			return true;
	return false;
}

size_t collector_set_start(struct collector_set *set, const struct config *cfg, struct loop *loop)
{
	size_t up = 0;

	for (size_t i = 0; i < set->n; i++) {
		struct collector *c = &set->items[i];
		char err[512] = "";
		int rc = c->ops->init(cfg, loop, &c->state, err, sizeof(err));
		if (rc) {
			char hint[256];
			c->state = NULL;
			if (rc == -EPERM || rc == -EACCES) {
				char missing[128];
				host_missing_bpf_caps(missing, sizeof(missing));
				snprintf(
					hint, sizeof(hint),
					"a privilege problem, not the kernel: %s%s; run as root or "
					"grant them",
					*missing ? "missing " : "the kernel refused even with ",
					*missing ? missing : "the capabilities it asks for");
			} else {
				snprintf(hint, sizeof(hint), "%s",
					 "--log-level=debug shows libbpf's and the verifier's "
					 "details");
			}
			log_error("collector failed to start", "collector", c->ops->name, "reason",
				  *err ? err : strerror(-rc), "hint", hint);
			/* the privilege hint says what to do; the libbpf one only where to look */
			bool privilege = rc == -EPERM || rc == -EACCES;
			snprintf(c->start_error, sizeof(c->start_error), "%.120s%s%.130s",
				 *err ? err : strerror(-rc), privilege ? "; " : "",
				 privilege ? hint : "");
			continue;
		}
		c->up = true;
		up++;
		log_info("collector started", "collector", c->ops->name);
	}
	return up;
}

int collector_section_end(struct metric_snapshot *s, struct metric_section *sec, int rc,
			  const char *key, const char *name, int *last_error)
{
	/* What the source appended was invalid: say so, "Invalid argument" alone would not. */
	bool malformed = metric_snapshot_error(s) == -EINVAL && (!rc || rc == -EINVAL);

	rc = metric_snapshot_end_section(s, sec, rc);
	/* Log changes only: a source that stays broken would otherwise log every scrape. */
	if (rc && rc != *last_error)
		log_warn("collect failed; its metrics are left out of the scrape", key, name,
			 "reason",
			 malformed ? "it appended an invalid metric family or series"
				   : strerror(-rc));
	else if (!rc && *last_error)
		log_info("collect recovered", key, name);
	*last_error = rc;
	return rc;
}

void collector_set_collect(struct collector_set *set, struct metric_snapshot *out)
{
	for (size_t i = 0; i < set->n; i++) {
		struct collector *c = &set->items[i];
		struct metric_section sec;

		if (!c->up)
			continue;
		metric_snapshot_begin_section(out, &sec);
		double start = clock_monotonic_seconds();
		int rc = c->ops->collect(c->state, out);
		c->last_duration_seconds = clock_monotonic_seconds() - start;
		collector_section_end(out, &sec, rc, "collector", c->ops->name, &c->last_error);
	}
}

bool collector_working(const struct collector *c, char *why, size_t len)
{
	if (!c->up) {
		snprintf(why, len, "did not start: %s",
			 *c->start_error ? c->start_error : "see the log");
		return false;
	}
	if (c->last_error) {
		snprintf(why, len, "last collect failed: %s", strerror(-c->last_error));
		return false;
	}
	*why = '\0';
	return !c->ops->healthy || c->ops->healthy(c->state, why, len);
}

void collector_set_status(const struct collector_set *set, struct status_model *m)
{
	for (size_t i = 0; i < set->n && m->ncollectors < STATUS_COLLECTORS_MAX; i++) {
		const struct collector *c = &set->items[i];
		struct status_collector *sc = &m->collectors[m->ncollectors++];
		char why[STATUS_TEXT] = "";

		status_copy(sc->name, sizeof(sc->name), c->ops->name);
		status_copy(sc->description, sizeof(sc->description), c->ops->description);
		sc->up = collector_working(c, why, sizeof(why));
		status_copy(sc->reason, sizeof(sc->reason), why);
		if (!c->up || !c->ops->status)
			continue;
		struct status_mark mark = status_mark(m);
		int rc = c->ops->status(c->state, m);
		if (rc) {
			status_rollback(m, &mark);
			snprintf(why, sizeof(why), "%s%sits status could not be read: %s",
				 sc->reason, *sc->reason ? "; " : "", strerror(-rc));
			status_copy(sc->reason, sizeof(sc->reason), why);
		}
	}
}

void collector_set_destroy(struct collector_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		if (set->items[i].ops->destroy)
			set->items[i].ops->destroy(set->items[i].state);
	free(set->items);
	set->items = NULL;
	set->n = 0;
}
