/* test_rule.c — restart rules from the config file: defaults, every check, error texts. */
#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "restart/rule.h"
#include "test.h"

static char err[1024];

/* Parses {"restart":{"rules":[RULE]}}; returns 0 or -errno. */
static int parse(const char *rule, struct restart_rules *out)
{
	char text[4096];
	snprintf(text, sizeof(text), "{\"restart\": {\"rules\": [%s]}}", rule);
	cJSON *root = cJSON_Parse(text);
	if (!root) {
		snprintf(err, sizeof(err), "test JSON does not parse");
		return -100;
	}
	err[0] = '\0';
	int rc = restart_rules_parse(root, out, err, sizeof(err));
	cJSON_Delete(root);
	return rc;
}

/* A rule with one part replaced must be refused with a message containing want. */
static void refused(const char *rule, const char *want)
{
	struct restart_rules r = { 0 };
	int rc = parse(rule, &r);
	CHECK(rc == -EINVAL && strstr(err, want), "rule %s: rc %d err [%s], want [%s]", rule, rc,
	      err, want);
	restart_rules_free(&r);
}

#define SIG_ACTION "\"action\": {\"type\": \"signal\"}"

static void test_example_from_the_docs(void)
{
	struct restart_rules r = { 0 };
	int rc = parse(
		"{\"name\": \"laravel\", \"cgroup\": \"/system.slice/php8.2-fpm.service\","
		" \"threshold\": 0.80, \"cores\": 1, \"window\": \"60s\", \"interval\": \"5s\","
		" \"cooldown\": \"300s\", \"max_actions\": 3, \"per\": \"1h\", \"dry_run\": false,"
		" \"action\": {\"type\": \"signal\", \"signal\": \"SIGUSR2\","
		"  \"pidfile\": \"/run/php/php8.2-fpm.pid\"},"
		" \"notify\": {\"webhook\": \"https://hooks.example/x\"}}",
		&r);
	CHECK(rc == 0 && r.n == 1, "rc %d err %s", rc, err);
	if (rc)
		return;
	const struct restart_rule *x = &r.items[0];
	CHECK_STR(x->name, "laravel");
	CHECK(x->target_kind == RESTART_TARGET_CGROUP, "kind");
	CHECK_STR(x->target, "/system.slice/php8.2-fpm.service");
	CHECK(x->threshold == 0.8 && x->clear > 0.6999 && x->clear < 0.7001, "clear %f", x->clear);
	CHECK(x->cores == 1, "cores");
	CHECK(x->window_ms == 60000 && x->interval_ms == 5000 && x->cooldown_ms == 300000 &&
		      x->per_ms == 3600000,
	      "durations");
	CHECK(x->max_actions == 3 && !x->dry_run, "budget");
	CHECK(x->action.kind == RESTART_ACTION_SIGNAL && x->action.signal == SIGUSR2, "signal");
	CHECK_STR(x->action.pidfile, "/run/php/php8.2-fpm.pid");
	CHECK_STR(x->webhook, "https://hooks.example/x");
	restart_rules_free(&r);
}

static void test_defaults_and_kinds(void)
{
	struct restart_rules r = { 0 };
	int rc = parse(
		"{\"name\": \"a\", \"unit\": \"php8.2-fpm.service\", " SIG_ACTION "},"
		"{\"name\": \"b\", \"process\": {\"exe\": \"php-fpm8.2\", \"pidfile\": "
		"\"/run/p.pid\"}, " SIG_ACTION "},"
		"{\"name\": \"c\", \"unit\": \"x.service\", \"action\": {\"type\": "
		"\"systemd\"}},"
		"{\"name\": \"d\", \"cgroup\": \"/x\", \"window\": 90, \"action\": {\"type\": "
		"\"exec\", \"argv\": [\"/bin/echo\", \"hi\"], \"timeout\": \"10s\"}}",
		&r);
	CHECK(rc == 0 && r.n == 4, "rc %d err %s", rc, err);
	if (rc)
		return;
	CHECK(r.items[0].target_kind == RESTART_TARGET_UNIT && r.items[0].threshold == 0.8 &&
		      r.items[0].window_ms == 60000 && r.items[0].interval_ms == 5000 &&
		      r.items[0].cooldown_ms == 300000 && r.items[0].max_actions == 3 &&
		      r.items[0].verify_ms == 60000 && r.items[0].cores == 0,
	      "defaults");
	CHECK(r.items[1].target_kind == RESTART_TARGET_PROCESS, "process");
	CHECK_STR(r.items[1].action.pidfile, "/run/p.pid");
	CHECK_STR(r.items[1].action.exe, "php-fpm8.2");
	CHECK(r.items[2].action.kind == RESTART_ACTION_SYSTEMD, "systemd");
	CHECK_STR(r.items[2].action.unit, "x.service");
	CHECK_STR(r.items[2].action.systemctl, "/bin/systemctl");
	CHECK(r.items[3].window_ms == 90000, "a number is seconds");
	CHECK_STR(r.items[3].action.argv[0], "/bin/echo");
	CHECK_STR(r.items[3].action.argv[1], "hi");
	CHECK(r.items[3].action.argv[2] == NULL && r.items[3].action.timeout_ms == 10000, "argv");
	restart_rules_free(&r);
}

static void test_refusals(void)
{
	refused("{\"cgroup\": \"/x\", " SIG_ACTION "}",
		"restart rule number 1 in \"rules\" (it has no valid \"name\"): needs a \"name\"");
	/* the rule is named by its "name" even when the error is found before the name's key */
	refused("{\"treshold\": 0.9, \"name\": \"laravel\", \"cgroup\": \"/x\", " SIG_ACTION "}",
		"restart rule \"laravel\": unknown key \"treshold\" in the rule");
	refused("{\"name\": \"bad name\", \"cgroup\": \"/x\", " SIG_ACTION "}", "needs a \"name\"");
	refused("{\"name\": \"a\", " SIG_ACTION "}",
		"restart rule \"a\": needs exactly one target");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"unit\": \"u.service\", " SIG_ACTION "}",
		"exactly one target");
	refused("{\"name\": \"a\", \"cgroup\": \"x\", " SIG_ACTION "}", "starting with /");
	refused("{\"name\": \"a\", \"unit\": \"a/b.service\", " SIG_ACTION "}", "unit name");
	refused("{\"name\": \"a\", \"process\": {\"exe\": \"php\"}, " SIG_ACTION "}",
		"needs \"exe\" and \"pidfile\"");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"treshold\": 0.9, " SIG_ACTION "}",
		"unknown key \"treshold\"");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"threshold\": \"high\", " SIG_ACTION "}",
		"\"threshold\" must be a number");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"threshold\": 0, " SIG_ACTION "}",
		"\"threshold\" must be a number");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"threshold\": 0.5, \"clear\": "
		"0.6, " SIG_ACTION "}",
		"\"clear\" (0.6) must be below \"threshold\" (0.5)");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"window\": \"soon\", " SIG_ACTION "}",
		"\"window\" must be a duration");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"window\": \"1s\", " SIG_ACTION "}",
		"at least one \"interval\"");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"interval\": \"10ms\", " SIG_ACTION "}",
		"\"interval\" must be at least 100 ms");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"per\": \"1m\", " SIG_ACTION "}",
		"\"per\" must be at least the \"cooldown\"");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"max_actions\": 1.5, " SIG_ACTION "}",
		"whole number");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"max_actions\": 0, " SIG_ACTION "}",
		"\"max_actions\" must be a number from 1");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"dry_run\": \"yes\", " SIG_ACTION "}",
		"\"dry_run\" must be true or false");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\"}", "needs an \"action\"");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"action\": {\"type\": \"reboot\"}}",
		"must be signal, systemd or exec");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"action\": {\"type\": \"signal\", "
		"\"signal\": "
		"\"SIGFOO\"}}",
		"unknown signal \"SIGFOO\"");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"action\": {\"type\": \"signal\", "
		"\"argv\": "
		"[\"/bin/true\"]}}",
		"\"argv\" applies to the exec action only");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"action\": {\"type\": \"exec\"}}",
		"the exec action needs \"argv\"");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"action\": {\"type\": \"exec\", \"argv\": "
		"[\"sh\", \"-c\", \"x\"]}}",
		"absolute path");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"action\": {\"type\": \"exec\", \"argv\": "
		"[]}}",
		"array of 1 to");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"action\": {\"type\": \"systemd\"}}",
		"needs \"unit\" unless the target is a unit");
	refused("{\"name\": \"a\", \"unit\": \"u.service\", \"action\": {\"type\": \"systemd\", "
		"\"systemctl\": \"systemctl\"}}",
		"absolute path");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", " SIG_ACTION
		", \"notify\": {\"webhook\": \"ftp://x\"}}",
		"http:// or https://");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", " SIG_ACTION
		", \"notify\": {\"email\": \"x\"}}",
		"unknown key \"email\" in \"notify\"");
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", " SIG_ACTION
		"}, {\"name\": \"a\", \"cgroup\": "
		"\"/y\", " SIG_ACTION "}",
		"restart rule \"a\": the name is used by another rule");
	/* an error in a later rule frees the argv of the earlier ones (checked by the sanitizers)
	 */
	refused("{\"name\": \"a\", \"cgroup\": \"/x\", \"action\": {\"type\": \"exec\", \"argv\": "
		"[\"/bin/true\", \"x\"]}}, {\"name\": \"b\"}",
		"restart rule \"b\"");
}

static void test_section_shape(void)
{
	struct restart_rules r = { 0 };
	cJSON *root = cJSON_Parse("{\"restart\": []}");
	CHECK(restart_rules_parse(root, &r, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "{\"rules\": [...]}"),
	      "err %s", err);
	cJSON_Delete(root);
	root = cJSON_Parse("{\"listen\": \":1\"}");
	CHECK(restart_rules_parse(root, &r, err, sizeof(err)) == 0 && r.n == 0, "no section");
	cJSON_Delete(root);
	CHECK(restart_rules_parse(NULL, &r, err, sizeof(err)) == 0 && r.n == 0, "no file");
	restart_rules_free(&r);
	restart_rules_free(NULL);
}

static void test_signal_names(void)
{
	CHECK(restart_signal_parse("SIGUSR2") == SIGUSR2, "SIGUSR2");
	CHECK(restart_signal_parse("USR1") == SIGUSR1, "USR1");
	CHECK(restart_signal_parse("15") == SIGTERM, "15");
	CHECK(restart_signal_parse("SIGQUIT") == SIGQUIT, "QUIT");
	CHECK(restart_signal_parse("0") == -EINVAL, "0");
	CHECK(restart_signal_parse("usr2") == -EINVAL, "case matters");
	/* logged by name, not strsignal's "User defined signal 2" */
	char name[32];
	CHECK_STR(restart_signal_name(SIGUSR2, name, sizeof(name)), "SIGUSR2");
	CHECK_STR(restart_signal_name(SIGTERM, name, sizeof(name)), "SIGTERM");
	CHECK_STR(restart_signal_name(SIGRTMIN + 1, name, sizeof(name)), "SIGRTMIN+1");
	CHECK_STR(restart_signal_name(200, name, sizeof(name)), "signal 200");
}

/* Who runs a command, and which programs root may run at all. */
static void test_users_and_programs(void)
{
	struct restart_rules r = { 0 };
	CHECK(parse("{\"name\": \"e\", \"cgroup\": \"/a\", \"action\": {\"type\": \"exec\", "
		    "\"argv\": [\"/bin/true\"]}}, {\"name\": \"s\", \"unit\": \"a.service\", "
		    "\"action\": {\"type\": \"systemd\", \"systemctl\": \"/bin/true\"}}, "
		    "{\"name\": \"u\", \"cgroup\": \"/a\", \"action\": {\"type\": \"exec\", "
		    "\"user\": \"daemon\", \"argv\": [\"/bin/true\"]}}",
		    &r) == 0,
	      "%s", err);
	CHECK(r.n == 3 && strcmp(r.items[0].action.user, "nobody") == 0 &&
		      strcmp(r.items[1].action.user, "root") == 0 &&
		      strcmp(r.items[2].action.user, "daemon") == 0,
	      "exec defaults to nobody, systemd to root, \"user\" names one");
	CHECK(restart_rules_check_programs(&r, err, sizeof(err)) == 0, "%s", err);
	restart_rules_free(&r);
	refused("{\"name\": \"x\", \"cgroup\": \"/a\", \"action\": {\"type\": \"signal\", "
		"\"user\": \"nobody\"}}",
		"\"user\" apply to the systemd and exec actions only");

	/* a script anyone may rewrite would be a root command for anyone: refused */
	char dir[] = "/tmp/hostmon-rule-XXXXXX", script[64], rule[256];
	if (!mkdtemp(dir))
		return;
	snprintf(script, sizeof(script), "%s/restart.sh", dir);
	FILE *f = fopen(script, "w");
	if (f) {
		fputs("#!/bin/sh\n", f);
		fclose(f);
	}
	chmod(script, 0777);
	snprintf(rule, sizeof(rule),
		 "{\"name\": \"w\", \"cgroup\": \"/a\", \"action\": {\"type\": \"exec\", "
		 "\"argv\": [\"%s\"]}}",
		 script);
	CHECK(parse(rule, &r) == 0, "%s", err);
	int rc = restart_rules_check_programs(&r, err, sizeof(err));
	CHECK(rc == -EPERM && strstr(err, "restart rule \"w\"") && strstr(err, "mode 0777") &&
		      strstr(err, "--insecure-allow-writable"),
	      "a 0777 program: %d [%s]", rc, err);
	restart_rules_free(&r);
	snprintf(rule, sizeof(rule),
		 "{\"name\": \"n\", \"cgroup\": \"/a\", \"action\": {\"type\": \"exec\", "
		 "\"user\": \"no-such-user-here\", \"argv\": [\"/bin/true\"]}}");
	CHECK(parse(rule, &r) == 0, "%s", err);
	CHECK(restart_rules_check_programs(&r, err, sizeof(err)) == -ENOENT &&
		      strstr(err, "no-such-user-here"),
	      "[%s]", err);
	restart_rules_free(&r);
	unlink(script);
	rmdir(dir);
}

int main(void)
{
	test_users_and_programs();
	test_example_from_the_docs();
	test_defaults_and_kinds();
	test_refusals();
	test_section_shape();
	test_signal_names();
	return test_summary("restart/test_rule");
}
