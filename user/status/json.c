/* status/json.c — the status model as /status.json, and read back from it (hostmon status). */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status/status.h"

/* Times and ratios that are not known are null, not 0: a reader should not graph "never". */
static void add_time(cJSON *o, const char *key, double t)
{
	if (t > 0)
		cJSON_AddNumberToObject(o, key, t);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *collectors_json(const struct status_model *m)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < m->ncollectors; i++) {
		const struct status_collector *c = &m->collectors[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", c->name);
		cJSON_AddStringToObject(o, "description", c->description);
		cJSON_AddBoolToObject(o, "up", c->up);
		cJSON_AddStringToObject(o, "reason", c->reason);
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *targets_json(const struct status_model *m)
{
	if (!m->have_http)
		return cJSON_CreateNull();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "total", (double)m->targets_total);
	cJSON_AddStringToObject(o, "php_hooks", m->php_hooks);
	cJSON_AddBoolToObject(o, "php_hooks_attached", m->php_hooks_attached);
	cJSON *a = cJSON_AddArrayToObject(o, "items");
	for (size_t i = 0; a && i < m->ntargets; i++) {
		const struct status_target *t = &m->targets[i];
		cJSON *x = cJSON_CreateObject();
		cJSON_AddNumberToObject(x, "pid", t->pid);
		cJSON_AddStringToObject(x, "exe", t->exe);
		cJSON_AddStringToObject(x, "runtime", t->runtime);
		cJSON_AddStringToObject(x, "mode", t->mode);
		cJSON_AddStringToObject(x, "pool", t->pool);
		cJSON_AddStringToObject(x, "cgroup", t->cgroup);
		cJSON_AddItemToArray(a, x);
	}
	return o;
}

static cJSON *rules_json(const struct status_model *m)
{
	if (!m->have_restart)
		return cJSON_CreateNull();
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; a && i < m->nrules; i++) {
		const struct status_rule *r = &m->rules[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddStringToObject(o, "target", r->target);
		cJSON_AddBoolToObject(o, "target_found", r->target_found);
		cJSON_AddStringToObject(o, "cgroup", r->cgroup);
		cJSON_AddStringToObject(o, "why_missing", r->why_missing);
		cJSON_AddStringToObject(o, "state", r->state);
		if (r->have_ratio)
			cJSON_AddNumberToObject(o, "cpu_ratio", r->cpu_ratio);
		else
			cJSON_AddNullToObject(o, "cpu_ratio");
		cJSON_AddNumberToObject(o, "threshold", r->threshold);
		cJSON_AddStringToObject(o, "action", r->action);
		cJSON_AddBoolToObject(o, "dry_run", r->dry_run);
		cJSON_AddNumberToObject(o, "actions", (double)r->actions);
		if (r->have_last) {
			cJSON *l = cJSON_AddObjectToObject(o, "last_action");
			cJSON_AddStringToObject(l, "result", r->last_result);
			add_time(l, "at", r->last_at);
			cJSON_AddStringToObject(l, "detail", r->last_detail);
		} else {
			cJSON_AddNullToObject(o, "last_action");
		}
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

static cJSON *rabbitmq_json(const struct status_model *m)
{
	if (!m->have_rabbitmq)
		return cJSON_CreateNull();
	const struct status_rabbitmq *q = &m->rabbitmq;
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "host", q->host);
	cJSON_AddBoolToObject(o, "up", q->up);
	cJSON_AddStringToObject(o, "last_error", q->last_error);
	add_time(o, "last_poll_at", q->last_poll_at);
	add_time(o, "last_success_at", q->last_success_at);
	cJSON_AddNumberToObject(o, "poll_duration_seconds", q->poll_duration_seconds);
	cJSON_AddNumberToObject(o, "queues", (double)q->queues);
	cJSON_AddStringToObject(o, "source", q->source);
	cJSON_AddStringToObject(o, "source_why", q->source_why);
	return o;
}

static cJSON *self_json(const struct status_model *m)
{
	const struct status_self *s = &m->self;
	cJSON *o = cJSON_CreateObject();
	add_time(o, "start_time", s->start_time);
	cJSON_AddNumberToObject(o, "cpu_seconds", s->cpu_seconds);
	cJSON_AddNumberToObject(o, "resident_memory_bytes", s->resident_memory_bytes);
	cJSON_AddNumberToObject(o, "bpf_map_memory_bytes", s->bpf_map_memory_bytes);
	cJSON_AddNumberToObject(o, "bpf_maps", (double)s->bpf_maps);
	return o;
}

int status_to_json(const struct status_model *m, struct buf *out)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	cJSON_AddStringToObject(root, "version", m->self.version);
	cJSON_AddStringToObject(root, "host", m->self.host);
	add_time(root, "generated_at", m->self.generated_at);
	cJSON_AddItemToObject(root, "collectors", collectors_json(m));
	cJSON_AddItemToObject(root, "http_targets", targets_json(m));
	cJSON_AddItemToObject(root, "restart_rules", rules_json(m));
	cJSON_AddItemToObject(root, "rabbitmq", rabbitmq_json(m));
	cJSON_AddItemToObject(root, "self", self_json(m));
	char *text = cJSON_PrintUnformatted(root); /* NULL when any allocation above failed too */
	cJSON_Delete(root);
	if (!text)
		return -ENOMEM;
	buf_puts(out, text);
	buf_putc(out, '\n');
	free(text);
	return out->err;
}

/* Readers: a missing or mistyped member reads as empty, 0 or false. */
static void get_str(const cJSON *o, const char *key, char *dst, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	status_copy(dst, len, cJSON_IsString(v) ? v->valuestring : "");
}

static double get_num(const cJSON *o, const char *key, bool *present)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	bool ok = cJSON_IsNumber(v) && isfinite(v->valuedouble);
	if (present)
		*present = ok;
	return ok ? v->valuedouble : 0;
}

static bool get_bool(const cJSON *o, const char *key)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, key));
}

static uint64_t get_count(const cJSON *o, const char *key)
{
	double v = get_num(o, key, NULL);
	return v > 0 && v < 1e18 ? (uint64_t)v : 0;
}

static void read_collectors(const cJSON *a, struct status_model *m)
{
	const cJSON *o;
	cJSON_ArrayForEach (o, a) {
		if (m->ncollectors >= STATUS_COLLECTORS_MAX)
			break;
		struct status_collector *c = &m->collectors[m->ncollectors++];
		get_str(o, "name", c->name, sizeof(c->name));
		get_str(o, "description", c->description, sizeof(c->description));
		c->up = get_bool(o, "up");
		get_str(o, "reason", c->reason, sizeof(c->reason));
	}
}

static void read_targets(const cJSON *o, struct status_model *m)
{
	const cJSON *x;
	m->have_http = cJSON_IsObject(o);
	get_str(o, "php_hooks", m->php_hooks, sizeof(m->php_hooks));
	m->php_hooks_attached = get_bool(o, "php_hooks_attached");
	cJSON_ArrayForEach (x, cJSON_GetObjectItemCaseSensitive(o, "items")) {
		struct status_target *t = status_target_add(m);
		if (!t)
			break;
		double pid = get_num(x, "pid", NULL);
		t->pid = pid > 0 && pid < 4294967296.0 ? (uint32_t)pid : 0;
		get_str(x, "exe", t->exe, sizeof(t->exe));
		get_str(x, "runtime", t->runtime, sizeof(t->runtime));
		get_str(x, "mode", t->mode, sizeof(t->mode));
		get_str(x, "pool", t->pool, sizeof(t->pool));
		get_str(x, "cgroup", t->cgroup, sizeof(t->cgroup));
	}
	uint64_t total = get_count(o, "total");
	if (total > m->targets_total)
		m->targets_total = total;
}

static void read_rules(const cJSON *a, struct status_model *m)
{
	const cJSON *o;
	m->have_restart = cJSON_IsArray(a);
	cJSON_ArrayForEach (o, a) {
		struct status_rule *r = status_rule_add(m);
		if (!r)
			break;
		get_str(o, "name", r->name, sizeof(r->name));
		get_str(o, "target", r->target, sizeof(r->target));
		r->target_found = get_bool(o, "target_found");
		get_str(o, "cgroup", r->cgroup, sizeof(r->cgroup));
		get_str(o, "why_missing", r->why_missing, sizeof(r->why_missing));
		get_str(o, "state", r->state, sizeof(r->state));
		r->cpu_ratio = get_num(o, "cpu_ratio", &r->have_ratio);
		r->threshold = get_num(o, "threshold", NULL);
		get_str(o, "action", r->action, sizeof(r->action));
		r->dry_run = get_bool(o, "dry_run");
		r->actions = get_count(o, "actions");
		const cJSON *l = cJSON_GetObjectItemCaseSensitive(o, "last_action");
		r->have_last = cJSON_IsObject(l);
		if (r->have_last) {
			get_str(l, "result", r->last_result, sizeof(r->last_result));
			r->last_at = get_num(l, "at", NULL);
			get_str(l, "detail", r->last_detail, sizeof(r->last_detail));
		}
	}
}

static void read_rabbitmq(const cJSON *o, struct status_model *m)
{
	struct status_rabbitmq *q = &m->rabbitmq;
	m->have_rabbitmq = cJSON_IsObject(o);
	if (!m->have_rabbitmq)
		return;
	get_str(o, "host", q->host, sizeof(q->host));
	q->up = get_bool(o, "up");
	get_str(o, "last_error", q->last_error, sizeof(q->last_error));
	q->last_poll_at = get_num(o, "last_poll_at", NULL);
	q->last_success_at = get_num(o, "last_success_at", NULL);
	q->poll_duration_seconds = get_num(o, "poll_duration_seconds", NULL);
	q->queues = get_count(o, "queues");
	get_str(o, "source", q->source, sizeof(q->source));
	get_str(o, "source_why", q->source_why, sizeof(q->source_why));
}

int status_from_json(const char *text, size_t len, struct status_model *m, char *err, size_t errlen)
{
	cJSON *root = cJSON_ParseWithLength(text, len);
	const cJSON *collectors =
		root ? cJSON_GetObjectItemCaseSensitive(root, "collectors") : NULL;

	if (!cJSON_IsObject(root) || !cJSON_IsArray(collectors)) {
		snprintf(err, errlen, "%s",
			 root ? "not a hostmon status document (no \"collectors\")" : "not JSON");
		cJSON_Delete(root);
		return -EINVAL;
	}
	memset(m, 0, sizeof(*m));
	get_str(root, "version", m->self.version, sizeof(m->self.version));
	get_str(root, "host", m->self.host, sizeof(m->self.host));
	m->self.generated_at = get_num(root, "generated_at", NULL);
	read_collectors(collectors, m);
	read_targets(cJSON_GetObjectItemCaseSensitive(root, "http_targets"), m);
	read_rules(cJSON_GetObjectItemCaseSensitive(root, "restart_rules"), m);
	read_rabbitmq(cJSON_GetObjectItemCaseSensitive(root, "rabbitmq"), m);
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(root, "self");
	m->self.start_time = get_num(s, "start_time", NULL);
	m->self.cpu_seconds = get_num(s, "cpu_seconds", NULL);
	m->self.resident_memory_bytes = get_num(s, "resident_memory_bytes", NULL);
	m->self.bpf_map_memory_bytes = get_num(s, "bpf_map_memory_bytes", NULL);
	m->self.bpf_maps = get_count(s, "bpf_maps");
	cJSON_Delete(root);
	return 0;
}
