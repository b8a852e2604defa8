/* status/text.c — the status model as plain text: what hostmon status prints. */
#include <stdio.h>
#include <string.h>

#include "status/status.h"

static void print_collectors(const struct status_model *m, struct buf *out)
{
	buf_puts(out, "\nCollectors\n");
	for (size_t i = 0; i < m->ncollectors; i++) {
		const struct status_collector *c = &m->collectors[i];
		buf_printf(out, "  %-14s %-4s %s\n", c->name, c->up ? "up" : "down",
			   c->up ? "" : c->reason);
	}
	if (!m->ncollectors)
		buf_puts(out, "  none selected\n");
}

static void print_targets(const struct status_model *m, struct buf *out)
{
	if (!m->have_http)
		return;
	buf_printf(out, "\nHTTP targets (%zu)\n", m->targets_total);
	if (m->php_hooks[0])
		buf_printf(out, "  PHP-FPM hooks: %s, %s\n", m->php_hooks,
			   m->php_hooks_attached ? "attached" : "not attached (no PHP-FPM target)");
	if (m->ntargets)
		buf_printf(out, "  %-8s %-16s %-8s %-8s %-12s %s\n", "PID", "EXE", "RUNTIME",
			   "MODE", "POOL", "CGROUP");
	for (size_t i = 0; i < m->ntargets; i++) {
		const struct status_target *t = &m->targets[i];
		buf_printf(out, "  %-8u %-16s %-8s %-8s %-12s %s\n", t->pid, t->exe, t->runtime,
			   t->mode, t->pool[0] ? t->pool : "-", t->cgroup);
	}
	if (m->targets_total > m->ntargets)
		buf_printf(out, "  ... and %zu more\n", m->targets_total - m->ntargets);
}

static void print_rules(const struct status_model *m, struct buf *out)
{
	char when[64];

	if (!m->have_restart)
		return;
	buf_printf(out, "\nRestart rules (%zu)\n", m->nrules);
	for (size_t i = 0; i < m->nrules; i++) {
		const struct status_rule *r = &m->rules[i];
		buf_printf(out, "  %s: %s%s, %s action", r->name, r->state,
			   r->dry_run ? " (dry run)" : "", r->action);
		if (r->have_ratio)
			buf_printf(out, ", CPU %.2f of capacity (threshold %.2f)", r->cpu_ratio,
				   r->threshold);
		buf_putc(out, '\n');
		if (r->target_found)
			buf_printf(out, "    target %s in %s\n", r->target, r->cgroup);
		else
			buf_printf(out, "    target %s not found: %s\n", r->target, r->why_missing);
		if (r->have_last) {
			status_format_time(r->last_at, when, sizeof(when));
			buf_printf(out, "    last action %s: %s (%s); %llu in all\n", when,
				   r->last_result, r->last_detail, (unsigned long long)r->actions);
		} else {
			buf_puts(out, "    no action yet\n");
		}
	}
}

static void print_rabbitmq(const struct status_model *m, struct buf *out)
{
	const struct status_rabbitmq *q = &m->rabbitmq;
	char poll[64], ok[64];

	if (!m->have_rabbitmq)
		return;
	status_format_time(q->last_poll_at, poll, sizeof(poll));
	status_format_time(q->last_success_at, ok, sizeof(ok));
	buf_printf(out, "\nRabbitMQ %s\n  %s; last poll %s, last success %s", q->host,
		   q->up ? "up" : "down", poll, ok);
	if (q->last_success_at > 0)
		buf_printf(out, " (took %.3f s, %llu queues)", q->poll_duration_seconds,
			   (unsigned long long)q->queues);
	if (*q->source)
		buf_printf(out, "\n  source %s: %s", q->source, q->source_why);
	buf_printf(out, "\n  last error: %s\n", *q->last_error ? q->last_error : "none");
}

static void print_self(const struct status_model *m, struct buf *out)
{
	const struct status_self *s = &m->self;
	char rss[32], maps[32], start[64];
	double age = s->generated_at - s->start_time;

	status_format_bytes(s->resident_memory_bytes, rss, sizeof(rss));
	status_format_bytes(s->bpf_map_memory_bytes, maps, sizeof(maps));
	status_format_time(s->start_time, start, sizeof(start));
	buf_printf(out, "\nhostmon itself\n  started %s; CPU %.2f s", start, s->cpu_seconds);
	if (age > 0)
		buf_printf(out, " (%.2f%% of one core on average)", 100 * s->cpu_seconds / age);
	buf_printf(out, "; resident memory %s; BPF maps %s (%llu maps)\n", rss, maps,
		   (unsigned long long)s->bpf_maps);
}

void status_print_text(const struct status_model *m, struct buf *out)
{
	char when[64];

	status_format_time(m->self.generated_at, when, sizeof(when));
	buf_printf(out, "hostmon %s on %s, status of %s\n", m->self.version, m->self.host, when);
	print_collectors(m, out);
	print_targets(m, out);
	print_rules(m, out);
	print_rabbitmq(m, out);
	print_self(m, out);
}
