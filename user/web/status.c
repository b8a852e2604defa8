/* web/status.c — the status page at /: the status model as one HTML page, no scripts, no
 * external assets. */
#include "web/status.h"

#include <stdio.h>
#include <string.h>

/* Text into HTML, element content or a quoted attribute alike. */
void web_html_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			buf_puts(out, "&amp;");
			break;
		case '<':
			buf_puts(out, "&lt;");
			break;
		case '>':
			buf_puts(out, "&gt;");
			break;
		case '"':
			buf_puts(out, "&quot;");
			break;
		case '\'':
			buf_puts(out, "&#39;");
			break;
		default:
			buf_putc(out, *s);
		}
	}
}

/* <td>escaped text</td>, with an optional class */
static void cell(struct buf *out, const char *cls, const char *text)
{
	buf_puts(out, cls ? "<td class=\"" : "<td>");
	if (cls) {
		web_html_escape(out, cls);
		buf_puts(out, "\">");
	}
	web_html_escape(out, text);
	buf_puts(out, "</td>");
}

static void head(struct buf *out, const char *const *cols, size_t n)
{
	buf_puts(out, "<table>\n<tr>");
	for (size_t i = 0; i < n; i++) {
		buf_puts(out, "<th>");
		web_html_escape(out, cols[i]);
		buf_puts(out, "</th>");
	}
	buf_puts(out, "</tr>\n");
}

static void collectors(const struct status_model *m, struct buf *out)
{
	static const char *const cols[] = { "collector", "state", "reason", "what it measures" };

	buf_puts(out, "<h2 id=\"collectors\">Collectors</h2>\n");
	head(out, cols, 4);
	for (size_t i = 0; i < m->ncollectors; i++) {
		const struct status_collector *c = &m->collectors[i];
		buf_puts(out, "<tr>");
		cell(out, NULL, c->name);
		cell(out, c->up ? "up" : "down", c->up ? "up" : "down");
		cell(out, NULL, c->reason);
		cell(out, NULL, c->description);
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</table>\n");
}

static void targets(const struct status_model *m, struct buf *out)
{
	static const char *const cols[] = {
		"pid", "executable", "runtime", "mode", "pool", "cgroup"
	};
	char pid[16];

	if (!m->have_http)
		return;
	buf_printf(out, "<h2 id=\"http-targets\">HTTP targets (%zu)</h2>\n", m->targets_total);
	if (m->php_hooks[0]) {
		buf_puts(out, "<p>PHP-FPM hooks: ");
		web_html_escape(out, m->php_hooks);
		buf_puts(out, m->php_hooks_attached ? ", attached</p>\n"
						    : ", not attached (no PHP-FPM target)</p>\n");
	}
	if (!m->ntargets) {
		buf_puts(out, "<p>No process is measured now.</p>\n");
		return;
	}
	head(out, cols, 6);
	for (size_t i = 0; i < m->ntargets; i++) {
		const struct status_target *t = &m->targets[i];
		snprintf(pid, sizeof(pid), "%u", t->pid);
		buf_puts(out, "<tr>");
		cell(out, "num", pid);
		cell(out, NULL, t->exe);
		cell(out, NULL, t->runtime);
		cell(out, NULL, t->mode);
		cell(out, NULL, t->pool);
		cell(out, "path", t->cgroup);
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</table>\n");
	if (m->targets_total > m->ntargets)
		buf_printf(out, "<p>... and %zu more (see /status.json for the count only).</p>\n",
			   m->targets_total - m->ntargets);
}

static void rules(const struct status_model *m, struct buf *out)
{
	static const char *const cols[] = { "rule",	   "state",  "target", "CPU / threshold",
					    "last action", "actions" };
	char text[STATUS_TEXT * 2], when[64];

	if (!m->have_restart) {
		buf_puts(out,
			 "<h2 id=\"restart-rules\">Restart rules</h2>\n<p>None configured (they "
			 "live in the --config file, see docs/restart.md).</p>\n");
		return;
	}
	buf_printf(out, "<h2 id=\"restart-rules\">Restart rules (%zu)</h2>\n", m->nrules);
	head(out, cols, 6);
	for (size_t i = 0; i < m->nrules; i++) {
		const struct status_rule *r = &m->rules[i];
		buf_puts(out, "<tr>");
		snprintf(text, sizeof(text), "%s (%s%s)", r->name, r->action,
			 r->dry_run ? ", dry run" : "");
		cell(out, NULL, text);
		cell(out, strcmp(r->state, "ok") ? "down" : "up", r->state);
		if (r->target_found && strcmp(r->target, r->cgroup) == 0)
			snprintf(text, sizeof(text), "%s", r->cgroup);
		else if (r->target_found)
			snprintf(text, sizeof(text), "%s in %s", r->target, r->cgroup);
		else
			snprintf(text, sizeof(text), "%s not found: %s", r->target, r->why_missing);
		cell(out, "path", text);
		if (r->have_ratio)
			snprintf(text, sizeof(text), "%.2f / %.2f", r->cpu_ratio, r->threshold);
		else
			snprintf(text, sizeof(text), "- / %.2f", r->threshold);
		cell(out, "num", text);
		if (r->have_last) {
			status_format_time(r->last_at, when, sizeof(when));
			snprintf(text, sizeof(text), "%s: %s (%s)", when, r->last_result,
				 r->last_detail);
		} else {
			snprintf(text, sizeof(text), "none yet");
		}
		cell(out, NULL, text);
		snprintf(text, sizeof(text), "%llu", (unsigned long long)r->actions);
		cell(out, "num", text);
		buf_puts(out, "</tr>\n");
	}
	buf_puts(out, "</table>\n");
}

/* One row of a two-column fact table. */
static void fact(struct buf *out, const char *name, const char *cls, const char *value)
{
	buf_puts(out, "<tr><th>");
	web_html_escape(out, name);
	buf_puts(out, "</th>");
	cell(out, cls, value);
	buf_puts(out, "</tr>\n");
}

static void rabbitmq(const struct status_model *m, struct buf *out)
{
	const struct status_rabbitmq *q = &m->rabbitmq;
	char text[64];

	if (!m->have_rabbitmq)
		return;
	buf_puts(out, "<h2 id=\"rabbitmq\">RabbitMQ</h2>\n<table>\n");
	fact(out, "host", NULL, q->host);
	fact(out, "state", q->up ? "up" : "down", q->up ? "up" : "down");
	if (*q->source) {
		fact(out, "source", NULL, q->source);
		fact(out, "why this source", NULL, q->source_why);
	}
	fact(out, "last error", NULL, *q->last_error ? q->last_error : "none");
	status_format_time(q->last_poll_at, text, sizeof(text));
	fact(out, "last poll", NULL, text);
	status_format_time(q->last_success_at, text, sizeof(text));
	fact(out, "last success", NULL, text);
	if (q->last_success_at > 0)
		snprintf(text, sizeof(text), "%.3f s", q->poll_duration_seconds);
	else
		snprintf(text, sizeof(text), "-");
	fact(out, "poll took", "num", text);
	snprintf(text, sizeof(text), "%llu", (unsigned long long)q->queues);
	fact(out, "queues", "num", text);
	buf_puts(out, "</table>\n");
}

static void self(const struct status_model *m, struct buf *out)
{
	const struct status_self *s = &m->self;
	double age = s->generated_at - s->start_time;
	char text[96];

	buf_puts(out, "<h2 id=\"self\">hostmon itself</h2>\n<table>\n");
	status_format_time(s->start_time, text, sizeof(text));
	fact(out, "started", NULL, text);
	if (age > 0)
		snprintf(text, sizeof(text), "%.2f s (%.2f%% of one core on average)",
			 s->cpu_seconds, 100 * s->cpu_seconds / age);
	else
		snprintf(text, sizeof(text), "%.2f s", s->cpu_seconds);
	fact(out, "CPU", "num", text);
	status_format_bytes(s->resident_memory_bytes, text, sizeof(text));
	fact(out, "resident memory", "num", text);
	char bytes[32];
	status_format_bytes(s->bpf_map_memory_bytes, bytes, sizeof(bytes));
	snprintf(text, sizeof(text), "%s in %llu maps", bytes, (unsigned long long)s->bpf_maps);
	fact(out, "BPF map memory", "num", text);
	buf_puts(out, "</table>\n");
}

static const char style[] =
	"body{font-family:sans-serif;margin:1.5em;color:#222}"
	"table{border-collapse:collapse;margin-bottom:1em}"
	"th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}"
	"th{background:#f3f3f3}td.num{text-align:right}td.path{font-family:monospace}"
	"td.up{color:#176f2c;font-weight:bold}td.down{color:#b00020;font-weight:bold}"
	"footer{color:#666;font-size:.9em}";

int web_status_render_html(const struct status_model *m, struct buf *out)
{
	char when[64];

	status_format_time(m->self.generated_at, when, sizeof(when));
	buf_puts(out,
		 "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		 "<meta name=\"viewport\" content=\"width=device-width\">\n<title>hostmon on ");
	web_html_escape(out, m->self.host);
	buf_printf(out, "</title>\n<style>%s</style>\n</head><body>\n<h1>hostmon ", style);
	web_html_escape(out, m->self.version);
	buf_puts(out, " on ");
	web_html_escape(out, m->self.host);
	buf_puts(out, "</h1>\n<p>Status of ");
	web_html_escape(out, when);
	buf_puts(out, " (reload the page for a newer one).</p>\n");
	collectors(m, out);
	targets(m, out);
	rules(m, out);
	rabbitmq(m, out);
	self(m, out);
	buf_puts(out, "<footer><a href=\"/metrics\">/metrics</a> Prometheus metrics &middot; "
		      "<a href=\"/status.json\">/status.json</a> this page as JSON &middot; "
		      "<a href=\"/healthz\">/healthz</a> liveness &middot; "
		      "<a href=\"/readyz\">/readyz</a> readiness</footer>\n</body></html>\n");
	return out->err;
}
