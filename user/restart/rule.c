/* restart/rule.c — parses and checks restart rules from the config file's "restart" section. */
#include "restart/rule.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/options.h"
#include "lib/filetrust.h"
#include "lib/parse.h"

#define MS_PER_S 1000ull

/* Everything a rule or its parts may contain; anything else is a typo worth refusing. */
static const char *const rule_keys[] = { "name",      "cgroup",	  "unit",	 "process",
					 "threshold", "clear",	  "cores",	 "window",
					 "interval",  "cooldown", "max_actions", "per",
					 "verify",    "dry_run",  "action",	 "notify" };
static const char *const process_keys[] = { "exe", "pidfile" };
static const char *const action_keys[] = { "type",	"signal", "pidfile", "exe", "unit",
					   "systemctl", "argv",	  "timeout", "user" };
static const char *const notify_keys[] = { "webhook" };

static const struct {
	const char *name;
	int number;
} signals[] = {
	{ "HUP", SIGHUP },   { "INT", SIGINT },	  { "QUIT", SIGQUIT },
	{ "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
	{ "TERM", SIGTERM }, { "CONT", SIGCONT }, { "WINCH", SIGWINCH },
};

/* The error context of one rule while it is parsed. */
struct ctx {
	const char *rule; /* its "name"; empty while it has none that is valid */
	size_t position;  /* from 1, in "rules": says which rule when the name cannot */
	char *err;
	size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct ctx *c, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (*c->rule)
		snprintf(c->err, c->errlen, "restart rule \"%s\": %s", c->rule, reason);
	else
		snprintf(c->err, c->errlen,
			 "restart rule number %zu in \"rules\" (it has no valid "
			 "\"name\"): %s",
			 c->position, reason);
	return -EINVAL;
}

const char *restart_action_kind_name(enum restart_action_kind k)
{
	switch (k) {
	case RESTART_ACTION_SIGNAL:
		return "signal";
	case RESTART_ACTION_SYSTEMD:
		return "systemd";
	case RESTART_ACTION_EXEC:
		return "exec";
	}
	return "unknown";
}

int restart_signal_parse(const char *s)
{
	uint64_t n;

	if (parse_u64(s, 1, 64, &n) == 0)
		return (int)n;
	if (strncmp(s, "SIG", 3) == 0)
		s += 3;
	for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++)
		if (strcmp(s, signals[i].name) == 0)
			return signals[i].number;
	return -EINVAL;
}

const char *restart_signal_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig); /* glibc 2.32: "USR2"; NULL for real-time ones */

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

static int check_keys(struct ctx *c, const cJSON *obj, const char *where, const char *const *keys,
		      size_t nkeys)
{
	const cJSON *item;

	if (!cJSON_IsObject(obj))
		return fail(c, "%s must be an object", where);
	cJSON_ArrayForEach (item, obj) {
		size_t i = 0;
		while (i < nkeys && strcmp(item->string, keys[i]) != 0)
			i++;
		if (i == nkeys)
			return fail(c, "unknown key \"%s\" in %s", item->string, where);
	}
	return 0;
}

/* Copies an optional string member; absent keeps out unchanged. */
static int get_string(struct ctx *c, const cJSON *obj, const char *key, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsString(v) || !v->valuestring[0])
		return fail(c, "\"%s\" must be a non-empty string", key);
	if (strlen(v->valuestring) >= len)
		return fail(c, "\"%s\" is longer than %zu bytes", key, len - 1);
	strcpy(out, v->valuestring);
	return 0;
}

static int get_number(struct ctx *c, const cJSON *obj, const char *key, double min, double max,
		      double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v)
		return 0;
	if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) || v->valuedouble < min ||
	    v->valuedouble > max)
		return fail(c, "\"%s\" must be a number from %g to %g", key, min, max);
	*out = v->valuedouble;
	return 0;
}

/* A duration is a string such as "90s", "5m", "500ms", or a number of seconds. */
static int get_duration(struct ctx *c, const cJSON *obj, const char *key, uint64_t min_ms,
			uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	uint64_t ms;

	if (!v)
		return 0;
	if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0 &&
	    v->valuedouble < 1e9)
		ms = (uint64_t)llround(v->valuedouble * MS_PER_S);
	else if (!cJSON_IsString(v) || parse_duration_ms(v->valuestring, &ms))
		return fail(c, "\"%s\" must be a duration such as \"60s\" or \"5m\"", key);
	if (ms < min_ms)
		return fail(c, "\"%s\" must be at least %llu ms", key, (unsigned long long)min_ms);
	*out = ms;
	return 0;
}

static int parse_target(struct ctx *c, const cJSON *j, struct restart_rule *r)
{
	const cJSON *cg = cJSON_GetObjectItemCaseSensitive(j, "cgroup");
	const cJSON *unit = cJSON_GetObjectItemCaseSensitive(j, "unit");
	const cJSON *proc = cJSON_GetObjectItemCaseSensitive(j, "process");
	int rc;

	if (!!cg + !!unit + !!proc != 1)
		return fail(c, "needs exactly one target: \"cgroup\", \"unit\" or \"process\"");
	if (cg) {
		r->target_kind = RESTART_TARGET_CGROUP;
		rc = get_string(c, j, "cgroup", r->target, sizeof(r->target));
		if (!rc && r->target[0] != '/')
			rc = fail(c, "\"cgroup\" must be a path starting with /, as in the "
				     "cgroup label of hostmon_cgroup_cpu_seconds_total");
		return rc;
	}
	if (unit) {
		r->target_kind = RESTART_TARGET_UNIT;
		rc = get_string(c, j, "unit", r->target, sizeof(r->target));
		if (!rc && (strchr(r->target, '/') || !strchr(r->target, '.')))
			rc = fail(c, "\"unit\" must be a unit name such as php8.2-fpm.service");
		return rc;
	}
	r->target_kind = RESTART_TARGET_PROCESS;
	rc = check_keys(c, proc, "\"process\"", process_keys,
			sizeof(process_keys) / sizeof(process_keys[0]));
	if (!rc)
		rc = get_string(c, proc, "pidfile", r->target, sizeof(r->target));
	if (!rc)
		rc = get_string(c, proc, "exe", r->target_exe, sizeof(r->target_exe));
	if (!rc && (!r->target[0] || !r->target_exe[0]))
		rc = fail(c, "\"process\" needs \"exe\" and \"pidfile\"");
	return rc;
}

static int parse_argv(struct ctx *c, const cJSON *a, struct restart_rule *r)
{
	const cJSON *item;
	size_t n = 0;

	if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) < 1 ||
	    cJSON_GetArraySize(a) > RESTART_ARGV_MAX)
		return fail(c, "\"argv\" must be an array of 1 to %d strings", RESTART_ARGV_MAX);
	cJSON_ArrayForEach (item, a) {
		if (!cJSON_IsString(item) || (n == 0 && item->valuestring[0] != '/'))
			return fail(c, "\"argv\" must hold strings, the first an absolute path "
				       "(no shell, no PATH search)");
		r->action.argv[n] = strdup(item->valuestring);
		if (!r->action.argv[n])
			return fail(c, "out of memory");
		n++;
	}
	r->action.argv[n] = NULL;
	return 0;
}

static int parse_action(struct ctx *c, const cJSON *a, struct restart_rule *r)
{
	char type[16] = "", sig[16] = "SIGUSR2";
	int rc;

	if (!a)
		return fail(c, "needs an \"action\"");
	rc = check_keys(c, a, "\"action\"", action_keys,
			sizeof(action_keys) / sizeof(action_keys[0]));
	if (!rc)
		rc = get_string(c, a, "type", type, sizeof(type));
	if (rc)
		return rc;
	if (strcmp(type, "signal") == 0)
		r->action.kind = RESTART_ACTION_SIGNAL;
	else if (strcmp(type, "systemd") == 0)
		r->action.kind = RESTART_ACTION_SYSTEMD;
	else if (strcmp(type, "exec") == 0)
		r->action.kind = RESTART_ACTION_EXEC;
	else
		return fail(c, "action \"type\" must be signal, systemd or exec");

	const char *only_signal[] = { "signal", "pidfile", "exe" };
	for (size_t i = 0; i < 3; i++)
		if (r->action.kind != RESTART_ACTION_SIGNAL &&
		    cJSON_GetObjectItemCaseSensitive(a, only_signal[i]))
			return fail(c, "\"%s\" applies to the signal action only", only_signal[i]);
	if (r->action.kind != RESTART_ACTION_SYSTEMD &&
	    (cJSON_GetObjectItemCaseSensitive(a, "unit") ||
	     cJSON_GetObjectItemCaseSensitive(a, "systemctl")))
		return fail(c, "\"unit\" and \"systemctl\" apply to the systemd action only");
	if (r->action.kind != RESTART_ACTION_EXEC && cJSON_GetObjectItemCaseSensitive(a, "argv"))
		return fail(c, "\"argv\" applies to the exec action only");
	if (r->action.kind == RESTART_ACTION_SIGNAL &&
	    (cJSON_GetObjectItemCaseSensitive(a, "timeout") ||
	     cJSON_GetObjectItemCaseSensitive(a, "user")))
		return fail(c,
			    "\"timeout\" and \"user\" apply to the systemd and exec actions only");
	/* exec runs as nobody unless told; systemctl must be root to restart a unit */
	strcpy(r->action.user, r->action.kind == RESTART_ACTION_EXEC ? "nobody" : "root");
	rc = get_string(c, a, "user", r->action.user, sizeof(r->action.user));
	if (rc)
		return rc;

	switch (r->action.kind) {
	case RESTART_ACTION_SIGNAL:
		rc = get_string(c, a, "signal", sig, sizeof(sig));
		if (!rc && (r->action.signal = restart_signal_parse(sig)) < 0)
			rc = fail(c, "unknown signal \"%s\"", sig);
		if (!rc)
			rc = get_string(c, a, "pidfile", r->action.pidfile,
					sizeof(r->action.pidfile));
		if (!rc)
			rc = get_string(c, a, "exe", r->action.exe, sizeof(r->action.exe));
		/* a process target names its process already */
		if (!rc && r->target_kind == RESTART_TARGET_PROCESS) {
			if (!r->action.pidfile[0])
				strcpy(r->action.pidfile, r->target);
			if (!r->action.exe[0])
				strcpy(r->action.exe, r->target_exe);
		}
		break;
	case RESTART_ACTION_SYSTEMD:
		rc = get_string(c, a, "unit", r->action.unit, sizeof(r->action.unit));
		if (!rc && !r->action.unit[0]) {
			if (r->target_kind != RESTART_TARGET_UNIT)
				return fail(c, "the systemd action needs \"unit\" unless the "
					       "target is a unit");
			strcpy(r->action.unit, r->target);
		}
		if (!rc)
			rc = get_string(c, a, "systemctl", r->action.systemctl,
					sizeof(r->action.systemctl));
		if (!rc && r->action.systemctl[0] != '/')
			rc = fail(c, "\"systemctl\" must be an absolute path");
		break;
	case RESTART_ACTION_EXEC: {
		const cJSON *argv = cJSON_GetObjectItemCaseSensitive(a, "argv");
		if (!argv)
			return fail(c, "the exec action needs \"argv\"");
		rc = parse_argv(c, argv, r);
		break;
	}
	}
	if (!rc)
		rc = get_duration(c, a, "timeout", 100, &r->action.timeout_ms);
	return rc;
}

static int parse_notify(struct ctx *c, const cJSON *n, struct restart_rule *r)
{
	int rc;

	if (!n)
		return 0;
	rc = check_keys(c, n, "\"notify\"", notify_keys,
			sizeof(notify_keys) / sizeof(notify_keys[0]));
	if (!rc)
		rc = get_string(c, n, "webhook", r->webhook, sizeof(r->webhook));
	if (!rc && r->webhook[0] && strncmp(r->webhook, "http://", 7) != 0 &&
	    strncmp(r->webhook, "https://", 8) != 0)
		rc = fail(c, "\"webhook\" must be an http:// or https:// URL");
	return rc;
}

static bool valid_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' || *s == '.'))
			return false;
	return true;
}

static void rule_defaults(struct restart_rule *r)
{
	memset(r, 0, sizeof(*r));
	r->threshold = 0.8;
	r->clear = NAN; /* threshold - 0.1 once the threshold is known */
	r->interval_ms = 5 * MS_PER_S;
	r->window_ms = 60 * MS_PER_S;
	r->cooldown_ms = 300 * MS_PER_S;
	r->per_ms = 3600 * MS_PER_S;
	r->verify_ms = 60 * MS_PER_S;
	r->max_actions = 3;
	r->action.signal = SIGUSR2;
	r->action.timeout_ms = 30 * MS_PER_S;
	strcpy(r->action.systemctl, "/bin/systemctl");
}

static int parse_rule(struct ctx *c, const cJSON *j, struct restart_rule *r)
{
	double max_actions = 3;
	const cJSON *dry;
	int rc;

	rule_defaults(r);
	if (!cJSON_IsObject(j))
		return fail(c, "the rule must be an object");
	/* the name first, so that every later error names the rule */
	rc = get_string(c, j, "name", r->name, sizeof(r->name));
	if (rc)
		return rc;
	if (!valid_name(r->name))
		return fail(c, "needs a \"name\" of letters, digits, '_', '-' and '.'");
	c->rule = r->name;
	rc = check_keys(c, j, "the rule", rule_keys, sizeof(rule_keys) / sizeof(rule_keys[0]));
	if (!rc)
		rc = parse_target(c, j, r);
	if (!rc)
		rc = get_number(c, j, "threshold", 0.01, 64, &r->threshold);
	if (!rc)
		rc = get_number(c, j, "clear", 0, 64, &r->clear);
	if (!rc)
		rc = get_number(c, j, "cores", 0.01, 4096, &r->cores);
	if (!rc)
		rc = get_number(c, j, "max_actions", 1, 1000, &max_actions);
	if (!rc)
		rc = get_duration(c, j, "interval", 100, &r->interval_ms);
	if (!rc)
		rc = get_duration(c, j, "window", 0, &r->window_ms);
	if (!rc)
		rc = get_duration(c, j, "cooldown", 0, &r->cooldown_ms);
	if (!rc)
		rc = get_duration(c, j, "per", 1, &r->per_ms);
	if (!rc)
		rc = get_duration(c, j, "verify", 0, &r->verify_ms);
	if (rc)
		return rc;
	if (max_actions != floor(max_actions))
		return fail(c, "\"max_actions\" must be a whole number");
	r->max_actions = (unsigned)max_actions;
	if (isnan(r->clear))
		r->clear = r->threshold > 0.1 ? r->threshold - 0.1 : 0;
	if (r->clear >= r->threshold)
		return fail(c, "\"clear\" (%g) must be below \"threshold\" (%g)", r->clear,
			    r->threshold);
	if (r->window_ms < r->interval_ms)
		return fail(c, "\"window\" must be at least one \"interval\"");
	if (r->per_ms < r->cooldown_ms)
		return fail(c, "\"per\" must be at least the \"cooldown\"");
	dry = cJSON_GetObjectItemCaseSensitive(j, "dry_run");
	if (dry && !cJSON_IsBool(dry))
		return fail(c, "\"dry_run\" must be true or false");
	r->dry_run = dry && cJSON_IsTrue(dry);
	rc = parse_action(c, cJSON_GetObjectItemCaseSensitive(j, "action"), r);
	if (!rc)
		rc = parse_notify(c, cJSON_GetObjectItemCaseSensitive(j, "notify"), r);
	return rc;
}

void restart_rule_release(struct restart_rule *r)
{
	for (size_t i = 0; r->action.argv[i]; i++)
		free(r->action.argv[i]);
	r->action.argv[0] = NULL;
}

void restart_rules_free(struct restart_rules *rules)
{
	if (!rules)
		return;
	for (size_t i = 0; i < rules->n; i++)
		restart_rule_release(&rules->items[i]);
	free(rules->items);
	rules->items = NULL;
	rules->n = 0;
}

int restart_rules_parse(const cJSON *root, struct restart_rules *out, char *err, size_t errlen)
{
	struct restart_rules rules = { 0 };
	const cJSON *section = root ? cJSON_GetObjectItemCaseSensitive(root, "restart") : NULL;
	const cJSON *list, *item;
	struct ctx c = { .rule = "", .err = err, .errlen = errlen };
	int rc = 0;

	if (!section) {
		*out = rules;
		return 0;
	}
	if (!cJSON_IsObject(section) || cJSON_GetArraySize(section) != 1 ||
	    !cJSON_IsArray(list = cJSON_GetObjectItemCaseSensitive(section, "rules"))) {
		snprintf(err, errlen, "config: \"restart\" must be {\"rules\": [...]}");
		return -EINVAL;
	}
	rules.items = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof(*rules.items));
	if (!rules.items) {
		snprintf(err, errlen, "restart rules: out of memory");
		return -ENOMEM;
	}
	cJSON_ArrayForEach (item, list) {
		c.rule = "";
		c.position = rules.n + 1;
		rc = parse_rule(&c, item, &rules.items[rules.n]);
		rules.n++; /* counted even when it failed, so its argv is freed */
		if (rc)
			break;
		for (size_t i = 0; i + 1 < rules.n; i++)
			if (strcmp(rules.items[i].name, rules.items[rules.n - 1].name) == 0) {
				rc = fail(&c, "the name is used by another rule");
				break;
			}
		if (rc)
			break;
	}
	if (rc) {
		restart_rules_free(&rules);
		return rc;
	}
	*out = rules;
	return 0;
}

int restart_rules_load_file(const char *path, bool check_files, struct restart_rules *out,
			    char *err, size_t errlen)
{
	cJSON *root = NULL;
	int rc = check_files ? file_trusted(path, 0, "config file", err, errlen) : 0;

	if (!rc)
		rc = config_read_json_file(path, &root, err, errlen);
	if (rc)
		return rc;
	rc = restart_rules_parse(root, out, err, errlen);
	cJSON_Delete(root);
	if (!rc && check_files && (rc = restart_rules_check_programs(out, err, errlen)))
		restart_rules_free(out);
	return rc;
}

int restart_rules_check_programs(const struct restart_rules *rules, char *err, size_t errlen)
{
	char why[1024];

	for (size_t i = 0; i < rules->n; i++) {
		const struct restart_rule *r = &rules->items[i];
		struct ctx c = { .rule = r->name, .err = err, .errlen = errlen };
		const char *prog = r->action.kind == RESTART_ACTION_EXEC      ? r->action.argv[0]
				   : r->action.kind == RESTART_ACTION_SYSTEMD ? r->action.systemctl
									      : NULL;
		if (!prog)
			continue;
		int rc = file_trusted(prog, 0, "action program", why, sizeof(why));
		if (rc) {
			fail(&c, "%s", why);
			return rc;
		}
		if (!getpwnam(r->action.user)) {
			fail(&c, "action \"user\" %s does not exist", r->action.user);
			return -ENOENT;
		}
	}
	return 0;
}

static const char *const sections[] = { "restart", NULL };

const struct option_group restart_option_group = {
	.title = "restart rules",
	.sections = sections,
};
