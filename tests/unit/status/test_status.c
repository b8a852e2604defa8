/* test_status.c — the status model: clean text, bounds, rollback, JSON both ways, the HTML page
 * escaping what sources contain, and the text hostmon status prints. */
#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "status/status.h"
#include "test.h"
#include "web/status.h"

/* the check macro tests its argument for NULL, which an array never is */
static const char *text_of(const char *s)
{
	return s;
}

static void test_copy(void)
{
	char out[16];

	status_copy(out, sizeof(out), "php-fpm8.2");
	CHECK_STR(text_of(out), "php-fpm8.2");
	/* control characters (a terminal escape, a newline) and invalid UTF-8 become '?' */
	status_copy(out, sizeof(out), "a\x1b[2Jb\nc");
	CHECK_STR(text_of(out), "a?[2Jb?c");
	status_copy(out, sizeof(out), "x\xff\xc0\xafy");
	CHECK_STR(text_of(out), "x???y");
	/* valid multi-byte text stays; an overlong or surrogate form does not */
	status_copy(out, sizeof(out), "caf\xc3\xa9");
	CHECK_STR(text_of(out), "caf\xc3\xa9");
	status_copy(out, sizeof(out), "\xed\xa0\x80");
	CHECK_STR(text_of(out), "???");
	/* cut at a character boundary: 14 bytes, then a 2-byte character that does not fit */
	status_copy(out, sizeof(out), "abcdefghijklmn\xc3\xa9");
	CHECK_STR(text_of(out), "abcdefghijklmn");
	status_copy(out, sizeof(out), NULL);
	CHECK_STR(text_of(out), "");
}

static void fill(struct status_model *m)
{
	status_copy(m->self.version, sizeof(m->self.version), "1.2.3");
	status_copy(m->self.host, sizeof(m->self.host), "node-1");
	m->self.generated_at = 1796212800;
	m->self.start_time = 1796212700;
	m->self.cpu_seconds = 2.5;
	m->self.resident_memory_bytes = 20 << 20;
	m->self.bpf_map_memory_bytes = 3 << 20;
	m->self.bpf_maps = 14;
	m->ncollectors = 2;
	status_copy(m->collectors[0].name, STATUS_NAME, "cgroup_cpu");
	m->collectors[0].up = true;
	status_copy(m->collectors[1].name, STATUS_NAME, "rabbitmq");
	status_copy(m->collectors[1].reason, STATUS_TEXT,
		    "last poll failed: http_401: <script>alert(1)</script>");
	m->have_http = true;
	status_copy(m->php_hooks, sizeof(m->php_hooks), "sock_iter");
	m->php_hooks_attached = true;
	struct status_target *t = status_target_add(m);
	t->pid = 4242;
	status_copy(t->exe, sizeof(t->exe), "node");
	status_copy(t->runtime, sizeof(t->runtime), "node");
	status_copy(t->mode, sizeof(t->mode), "http");
	status_copy(t->cgroup, sizeof(t->cgroup), "/a&b/<i>\"x'");
	m->have_restart = true;
	struct status_rule *r = status_rule_add(m);
	status_copy(r->name, sizeof(r->name), "laravel");
	status_copy(r->target, sizeof(r->target), "/system.slice/php8.2-fpm.service");
	r->target_found = true;
	status_copy(r->cgroup, sizeof(r->cgroup), "/system.slice/php8.2-fpm.service");
	status_copy(r->state, sizeof(r->state), "cooldown");
	r->have_ratio = true;
	r->cpu_ratio = 0.25;
	r->threshold = 0.8;
	status_copy(r->action, sizeof(r->action), "signal");
	r->dry_run = true;
	r->actions = 1;
	r->have_last = true;
	status_copy(r->last_result, sizeof(r->last_result), "dry_run");
	r->last_at = 1796212790;
	status_copy(r->last_detail, sizeof(r->last_detail),
		    "dry run: no action taken; would send SIGUSR2 to pid 7 (php-fpm8.2 master)");
	m->have_rabbitmq = true;
	status_copy(m->rabbitmq.host, sizeof(m->rabbitmq.host), "mq");
	status_copy(m->rabbitmq.last_error, sizeof(m->rabbitmq.last_error), "http_401: denied");
	m->rabbitmq.last_poll_at = 1796212799;
}

static void test_bounds_and_rollback(void)
{
	struct status_model *m = status_model_new();

	CHECK(m != NULL, "new");
	for (int i = 0; i < STATUS_TARGETS_MAX + 10; i++)
		status_target_add(m);
	CHECK(m->ntargets == STATUS_TARGETS_MAX && m->targets_total == STATUS_TARGETS_MAX + 10,
	      "full: %zu shown of %zu", m->ntargets, m->targets_total);
	CHECK(status_target_add(m) == NULL, "no slot past the bound");

	/* a source that fails half-way leaves nothing of what it added */
	struct status_model *n = status_model_new();
	struct status_mark k = status_mark(n);
	n->have_http = true;
	status_target_add(n);
	n->have_rabbitmq = true;
	status_copy(n->rabbitmq.host, sizeof(n->rabbitmq.host), "half");
	status_rollback(n, &k);
	CHECK(!n->have_http && n->ntargets == 0 && n->targets_total == 0, "targets taken back");
	CHECK(!n->have_rabbitmq && n->rabbitmq.host[0] == '\0', "rabbitmq taken back");
	status_model_free(n);
	status_model_free(m);
}

static void test_json_round_trip(void)
{
	struct status_model *m = status_model_new(), *back = status_model_new();
	struct buf out = { 0 };
	char err[256] = "";

	fill(m);
	CHECK(status_to_json(m, &out) == 0, "render");
	cJSON *j = cJSON_Parse(out.data);
	CHECK(j != NULL, "valid JSON: %s", out.data);
	const cJSON *rules = cJSON_GetObjectItem(j, "restart_rules");
	const cJSON *r0 = cJSON_GetArrayItem(rules, 0);
	CHECK(cJSON_IsObject(cJSON_GetObjectItem(r0, "last_action")), "last_action object");
	CHECK(cJSON_IsNull(
		      cJSON_GetObjectItem(cJSON_GetObjectItem(j, "rabbitmq"), "last_success_at")),
	      "a time that never was is null");
	cJSON_Delete(j);

	CHECK(status_from_json(out.data, out.len, back, err, sizeof(err)) == 0, "%s", err);
	CHECK_STR(text_of(back->self.host), "node-1");
	CHECK(back->ncollectors == 2 && back->collectors[0].up && !back->collectors[1].up, "up");
	CHECK_STR(text_of(back->collectors[1].reason),
		  "last poll failed: http_401: <script>alert(1)</script>");
	CHECK(back->have_http && back->ntargets == 1 && back->targets[0].pid == 4242, "target");
	CHECK_STR(text_of(back->targets[0].cgroup), "/a&b/<i>\"x'");
	CHECK(strcmp(back->php_hooks, "sock_iter") == 0 && back->php_hooks_attached,
	      "the PHP-FPM hooks' tier: [%s]", back->php_hooks);
	CHECK(back->have_restart && back->nrules == 1 && back->rules[0].have_last, "rule");
	CHECK(back->rules[0].have_ratio && back->rules[0].cpu_ratio == 0.25, "ratio");
	CHECK_STR(text_of(back->rules[0].last_result), "dry_run");
	CHECK(back->have_rabbitmq && back->rabbitmq.last_success_at == 0, "rabbitmq");
	CHECK(back->self.bpf_maps == 14 && back->self.cpu_seconds == 2.5, "self");

	/* no rules configured, no rabbitmq collector: null, and read back as absent */
	struct status_model *none = status_model_new();
	buf_reset(&out);
	CHECK(status_to_json(none, &out) == 0 && strstr(out.data, "\"restart_rules\":null") &&
		      strstr(out.data, "\"rabbitmq\":null") &&
		      strstr(out.data, "\"http_targets\":null"),
	      "absent parts are null: %s", out.data);
	CHECK(status_from_json(out.data, out.len, back, err, sizeof(err)) == 0 &&
		      !back->have_restart && !back->have_rabbitmq && !back->have_http,
	      "absent parts read back as absent");
	status_model_free(none);

	/* what is not a status document is refused with a reason */
	CHECK(status_from_json("[1]", 3, back, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "collectors"),
	      "%s", err);
	CHECK(status_from_json("<html>", 6, back, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "not JSON"),
	      "%s", err);
	/* hostile text in a document is cleaned on the way in (a terminal escape) */
	const char *evil = "{\"collectors\":[{\"name\":\"x\\u001b[2J\",\"up\":false}]}";
	CHECK(status_from_json(evil, strlen(evil), back, err, sizeof(err)) == 0, "%s", err);
	CHECK_STR(text_of(back->collectors[0].name), "x?[2J");
	buf_free(&out);
	status_model_free(back);
	status_model_free(m);
}

static void test_html(void)
{
	struct status_model *m = status_model_new();
	struct buf out = { 0 };

	fill(m);
	CHECK(web_status_render_html(m, &out) == 0, "render");
	CHECK(strstr(out.data, "<script>") == NULL, "no markup from a source reaches the page");
	CHECK(strstr(out.data, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL, "escaped reason");
	CHECK(strstr(out.data, "/a&amp;b/&lt;i&gt;&quot;x&#39;") != NULL, "escaped cgroup path");
	CHECK(strstr(out.data, "src=") == NULL && strstr(out.data, "<link") == NULL &&
		      strstr(out.data, "<script") == NULL,
	      "no external assets, no scripts");
	CHECK(strstr(out.data, "<td class=\"down\">down</td>") != NULL, "rabbitmq down");
	CHECK(strstr(out.data, "would send SIGUSR2 to pid 7 (php-fpm8.2 master)") != NULL,
	      "last action");
	CHECK(strstr(out.data, "4242") && strstr(out.data, "BPF map memory"), "target and self");
	CHECK(strstr(out.data, "<p>PHP-FPM hooks: sock_iter, attached</p>") != NULL, "PHP tier");
	buf_free(&out);
	status_model_free(m);
}

static void test_text(void)
{
	struct status_model *m = status_model_new();
	struct buf out = { 0 };

	fill(m);
	status_print_text(m, &out);
	CHECK(out.err == 0 && out.data, "text");
	CHECK(strstr(out.data, "hostmon 1.2.3 on node-1, status of 2026-12-02 ") != NULL, "%s",
	      out.data);
	CHECK(strstr(out.data, "rabbitmq       down last poll failed") != NULL, "%s", out.data);
	CHECK(strstr(out.data, "4242") && strstr(out.data, "/a&b/<i>\"x'"), "target as is");
	CHECK(strstr(out.data, "  PHP-FPM hooks: sock_iter, attached\n") != NULL, "%s", out.data);
	CHECK(strstr(out.data, "laravel: cooldown (dry run), signal action") != NULL, "%s",
	      out.data);
	CHECK(strstr(out.data, "resident memory 20.0 MiB; BPF maps 3.0 MiB (14 maps)") != NULL,
	      "%s", out.data);
	CHECK(strstr(out.data, "(2.50% of one core on average)") != NULL, "%s", out.data);
	buf_free(&out);
	status_model_free(m);
}

int main(void)
{
	test_copy();
	test_bounds_and_rollback();
	test_json_round_trip();
	test_html();
	test_text();
	return test_summary("status/test_status");
}
