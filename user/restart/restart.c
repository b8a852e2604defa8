/* restart/restart.c — the restart controller: samples each rule's target, acts, verifies and
 * reports. */
#include "restart/restart.h"

#include <cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "cgroup_cpu/cgroup_cpu.h"
#include "core/log.h"
#include "core/loop.h"
#include "lib/clock.h"
#include "restart/action.h"
#include "restart/ctl.h"
#include "restart/fsm.h"
#include "restart/notify.h"

#define NOTIFY_TIMEOUT_MS 5000
#define NOTIFY_ATTEMPTS	  4
#define NOTIFY_QUEUE	  64

static void cgroup_dir(const struct rule_rt *r, char *dir, size_t len)
{
	snprintf(dir, len, "%s%s", cgroup_cpu_root(r->ctl->cpu),
		 strcmp(r->cgroup, "/") ? r->cgroup : "");
}

/* The notification: Slack-compatible "text" plus the same facts as fields. */
static void notify(struct rule_rt *r, const char *event, const char *text, const char *k1,
		   const char *v1, const char *k2, const char *v2)
{
	if (!r->rule.webhook[0] || !r->ctl->notifier)
		return;
	cJSON *o = cJSON_CreateObject();
	char line[1024];
	/* a dry run says so in the first words a chat shows */
	snprintf(line, sizeof(line), "hostmon on %s: %srestart rule %s: %s", r->ctl->host,
		 r->rule.dry_run ? "DRY RUN: " : "", r->rule.name, text);
	cJSON_AddStringToObject(o, "text", line);
	cJSON_AddStringToObject(o, "host", r->ctl->host);
	cJSON_AddStringToObject(o, "rule", r->rule.name);
	cJSON_AddStringToObject(o, "event", event);
	cJSON_AddStringToObject(o, "target", r->target_found ? r->cgroup : r->rule.target);
	cJSON_AddStringToObject(o, "state", restart_state_name(r->fsm.state));
	if (r->fsm.have_ratio)
		cJSON_AddNumberToObject(o, "cpu_ratio", r->fsm.ratio);
	cJSON_AddBoolToObject(o, "dry_run", r->rule.dry_run);
	if (k1)
		cJSON_AddStringToObject(o, k1, v1);
	if (k2)
		cJSON_AddStringToObject(o, k2, v2);
	char *body = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	if (body)
		notifier_post(r->ctl->notifier, r->rule.webhook, body);
	free(body);
}

static void report_step(struct rule_rt *r, const struct restart_step *st)
{
	struct log_num ratio = { { 0 } };
	char text[256];

	if (st->from == st->to)
		return;
	log_info("restart rule state", "rule", r->rule.name, "from", restart_state_name(st->from),
		 "to", restart_state_name(st->to), "reason", st->why, "cpu_ratio",
		 r->fsm.have_ratio ? log_f64(&ratio, r->fsm.ratio) : "");
	snprintf(text, sizeof(text), "%s -> %s (%s)", restart_state_name(st->from),
		 restart_state_name(st->to), st->why);
	notify(r, "state", text, "from", restart_state_name(st->from), "reason", st->why);
}

static void finish(struct rule_rt *r, enum result res, const char *detail)
{
	struct log_num ratio = { { 0 } };
	char text[512];

	r->results[res]++;
	r->last.taken = true;
	r->last.result = res;
	r->last.at_wall = clock_wall_seconds();
	snprintf(r->last.detail, sizeof(r->last.detail), "%s", detail);
	r->phase = PHASE_IDLE;
	restart_child_free(r->child);
	r->child = NULL;
	log_event(res == RESULT_OK || res == RESULT_DRY_RUN ? LOG_INFO : LOG_WARN,
		  "restart action result", "rule", r->rule.name, "action",
		  restart_action_kind_name(r->rule.action.kind), "result",
		  restart_result_names[res], "detail", detail, "cpu_ratio",
		  r->fsm.have_ratio ? log_f64(&ratio, r->fsm.ratio) : "", (char *)NULL);
	snprintf(text, sizeof(text), "%s action: %s (%s)",
		 restart_action_kind_name(r->rule.action.kind), restart_result_names[res], detail);
	notify(r, "action", text, "action", restart_action_kind_name(r->rule.action.kind), "result",
	       restart_result_names[res]);
}

static void start_verify(struct rule_rt *r)
{
	r->phase = PHASE_VERIFYING;
	r->verify_deadline_ms = loop_now_ms() + r->rule.verify_ms;
	r->replaced = r->cpu_fell = false;
}

/*
 * Replaced: every process of before, except the main one (the master, which a graceful reload
 * keeps and a restart replaces), is gone, and the target runs processes again.
 */
static bool processes_replaced(struct rule_rt *r)
{
	static pid_t now[PIDS_MAX];
	char dir[CGROUP_PATH_MAX * 2];

	cgroup_dir(r, dir, sizeof(dir));
	long n = restart_cgroup_pids(dir, now, PIDS_MAX);
	if (n <= 0)
		return false;
	for (size_t i = 0; i < r->nbefore; i++) {
		if (r->before[i] == r->kept)
			continue;
		for (long j = 0; j < n; j++)
			if (now[j] == r->before[i])
				return false;
	}
	return true;
}

static void verify(struct rule_rt *r, uint64_t now_ms)
{
	if (!r->target_found) {
		if (now_ms >= r->verify_deadline_ms)
			finish(r, RESULT_TIMEOUT, "target did not come back");
		return;
	}
	if (!r->cpu_fell && r->fsm.have_ratio && now_ms > r->acted_ms &&
	    r->fsm.ratio < r->rule.threshold)
		r->cpu_fell = true;
	if (!r->replaced)
		r->replaced = processes_replaced(r);
	if (r->replaced && r->cpu_fell)
		finish(r, RESULT_OK, "processes replaced, CPU below the threshold");
	else if (now_ms >= r->verify_deadline_ms)
		finish(r, RESULT_TIMEOUT,
		       r->replaced ? "CPU still above the threshold after the verify window"
				   : "processes not replaced within the verify window");
}

static void on_child_done(void *arg, int result, const char *output)
{
	struct rule_rt *r = arg;
	char detail[768];

	if (result == 0) {
		restart_child_free(r->child);
		r->child = NULL;
		start_verify(r);
		return;
	}
	if (result == -ETIMEDOUT)
		snprintf(detail, sizeof(detail), "command killed after %llu ms; output: %s",
			 (unsigned long long)r->rule.action.timeout_ms, output);
	else
		snprintf(detail, sizeof(detail), "command exited with status %d; output: %s",
			 result, output);
	finish(r, result == -ETIMEDOUT ? RESULT_TIMEOUT : RESULT_FAILED, detail);
}

/* The process a signal action is for: the pidfile's, else the target cgroup's main one. */
static int signal_pid(struct rule_rt *r, pid_t *pid, char *why, size_t len)
{
	char dir[CGROUP_PATH_MAX * 2];

	if (r->rule.action.pidfile[0])
		return restart_pidfile_read(r->rule.action.pidfile, pid, why, len);
	cgroup_dir(r, dir, sizeof(dir));
	*pid = restart_cgroup_main_pid(dir);
	if (!*pid) {
		snprintf(why, len, "no process in the target cgroup");
		return -ESRCH;
	}
	return 0;
}

static void act_signal(struct rule_rt *r, char *why, size_t len)
{
	struct proc_id who;
	pid_t pid = 0;
	char sig[32];

	if (signal_pid(r, &pid, why, len) ||
	    restart_signal(pid, r->rule.action.exe, r->rule.action.signal, &who, why, len)) {
		finish(r, RESULT_FAILED, why);
		return;
	}
	struct log_num p = { { 0 } };
	log_info("restart action taken", "rule", r->rule.name, "action", "signal", "signal",
		 restart_signal_name(r->rule.action.signal, sig, sizeof(sig)), "pid",
		 log_u64(&p, (unsigned long long)who.pid), "exe", who.exe);
	r->kept = who.pid;
	start_verify(r);
}

static void act_command(struct rule_rt *r, char *why, size_t len)
{
	const struct restart_rule *rule = &r->rule;
	char env_rule[RESTART_NAME_MAX + 16], env_target[CGROUP_PATH_MAX + 32], env_ratio[64];
	char *systemd_argv[] = { (char *)rule->action.systemctl, "restart",
				 (char *)rule->action.unit, NULL };
	char *const *argv =
		rule->action.kind == RESTART_ACTION_SYSTEMD ? systemd_argv : rule->action.argv;
	/* the whole environment: nothing of hostmon's (its secrets) reaches the command */
	char *env[] = { env_rule, env_target, env_ratio,
			"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };

	snprintf(env_rule, sizeof(env_rule), "HOSTMON_RULE=%s", rule->name);
	snprintf(env_target, sizeof(env_target), "HOSTMON_TARGET=%s", r->cgroup);
	snprintf(env_ratio, sizeof(env_ratio), "HOSTMON_CPU_RATIO=%.4f", r->fsm.ratio);
	r->child = restart_child_spawn(r->ctl->loop, argv, env, rule->action.user,
				       rule->action.timeout_ms, on_child_done, r, why, len);
	if (!r->child) {
		finish(r, RESULT_FAILED, why);
		return;
	}
	log_info("restart action taken", "rule", rule->name, "action",
		 restart_action_kind_name(rule->action.kind), "command", argv[0], "user",
		 rule->action.user);
	r->phase = PHASE_RUNNING;
}

/*
 * What the action would do now, checked as far as it can be without doing it: the process a
 * signal would reach (pidfile, executable) or the command that would run (executable).
 */
static void describe_dry_run(struct rule_rt *r, char *out, size_t len)
{
	const struct restart_rule *rule = &r->rule;
	char why[512] = "", sig[32], dir[CGROUP_PATH_MAX * 2];
	struct proc_id who;
	pid_t pid = 0;

	if (rule->action.kind == RESTART_ACTION_SIGNAL) {
		restart_signal_name(rule->action.signal, sig, sizeof(sig));
		if (signal_pid(r, &pid, why, sizeof(why)) ||
		    restart_signal_check(pid, rule->action.exe, &who, why, sizeof(why))) {
			snprintf(out, len, "dry run: no action taken; sending %s would fail: %s",
				 sig, why);
			return;
		}
		cgroup_dir(r, dir, sizeof(dir));
		bool master = restart_cgroup_main_pid(dir) == who.pid;
		snprintf(out, len, "dry run: no action taken; would send %s to pid %d (%s%s)", sig,
			 (int)who.pid, who.exe, master ? " master" : "");
		return;
	}
	const char *cmd = rule->action.kind == RESTART_ACTION_SYSTEMD ? rule->action.systemctl
								      : rule->action.argv[0];
	if (access(cmd, X_OK) < 0)
		snprintf(out, len, "dry run: no action taken; running %.200s would fail: %s", cmd,
			 strerror(errno));
	else if (rule->action.kind == RESTART_ACTION_SYSTEMD)
		snprintf(out, len, "dry run: no action taken; would run %.200s restart %.200s", cmd,
			 rule->action.unit);
	else
		snprintf(out, len, "dry run: no action taken; would run %.400s", cmd);
}

static void act(struct rule_rt *r, uint64_t now_ms)
{
	char why[512] = "", dir[CGROUP_PATH_MAX * 2];

	if (r->phase != PHASE_IDLE) /* a verify window longer than the cooldown */
		finish(r, RESULT_TIMEOUT, "overtaken by the next action");
	r->acted_ms = now_ms;
	if (r->rule.dry_run) {
		describe_dry_run(r, why, sizeof(why));
		finish(r, RESULT_DRY_RUN, why);
		return;
	}
	cgroup_dir(r, dir, sizeof(dir));
	long n = restart_cgroup_pids(dir, r->before, PIDS_MAX);
	r->nbefore = n > 0 ? (size_t)n : 0;
	r->kept = restart_cgroup_main_pid(dir); /* a graceful reload keeps it; a restart need not */
	if (r->rule.action.kind == RESTART_ACTION_SIGNAL)
		act_signal(r, why, sizeof(why));
	else
		act_command(r, why, sizeof(why));
}

/* Where the rule's target is now: its cgroup path. 0 or -errno with why. */
static int resolve(struct rule_rt *r, char *why, size_t len)
{
	const struct restart_rule *rule = &r->rule;
	struct proc_id id;
	pid_t pid;
	int rc;

	if (!r->ctl->cpu) {
		snprintf(why, len, "the cgroup_cpu collector is not running");
		return -ENODEV;
	}
	switch (rule->target_kind) {
	case RESTART_TARGET_CGROUP:
		snprintf(r->cgroup, sizeof(r->cgroup), "%s", rule->target);
		return 0;
	case RESTART_TARGET_UNIT:
		rc = cgroup_cpu_find(r->ctl->cpu, rule->target, r->cgroup, sizeof(r->cgroup));
		if (rc)
			snprintf(why, len, "no cgroup named %.200s", rule->target);
		return rc;
	case RESTART_TARGET_PROCESS:
		rc = restart_pidfile_read(rule->target, &pid, why, len);
		if (rc)
			return rc;
		rc = proc_id_read(pid, &id);
		if (!rc && strcmp(id.exe, rule->target_exe) != 0)
			rc = -ESRCH;
		if (!rc)
			rc = cgroup_pid_path(pid, r->cgroup, sizeof(r->cgroup));
		if (!rc && strcmp(r->cgroup, "/") == 0)
			rc = -EPERM;
		if (rc)
			snprintf(why, len,
				 "pid %d from %.200s is not a running %s in a cgroup of its own",
				 (int)pid, rule->target, rule->target_exe);
		return rc;
	}
	return -EINVAL;
}

static void tick(struct loop *l, void *arg)
{
	struct rule_rt *r = arg;
	uint64_t now_ms = loop_now_ms();
	struct cgroup_cpu_usage u;
	struct restart_step st;
	char why[512] = "";
	(void)l;

	int rc = resolve(r, why, sizeof(why));
	if (!rc) {
		rc = cgroup_cpu_usage(r->ctl->cpu, r->cgroup, &u);
		if (rc)
			snprintf(why, sizeof(why), "cgroup %.300s: %s", r->cgroup,
				 rc == -ENOENT ? "not found" : strerror(-rc));
	}
	r->target_found = rc == 0;
	if (r->target_found) {
		double capacity = r->rule.cores > 0   ? r->rule.cores
				  : u.limit_cores > 0 ? u.limit_cores
						      : (double)r->ctl->online_cpus;
		st = restart_fsm_sample(&r->fsm, now_ms, u.id, u.cpu_ns, capacity);
		if (r->target_reported)
			log_info("restart target found", "rule", r->rule.name, "cgroup", r->cgroup);
		r->target_reported = false;
	} else {
		st = restart_fsm_missing(&r->fsm, now_ms);
		if (!r->target_reported || strcmp(why, r->why_missing) != 0)
			log_warn("restart target not found", "rule", r->rule.name, "reason", why);
		r->target_reported = true;
		snprintf(r->why_missing, sizeof(r->why_missing), "%s", why);
	}
	report_step(r, &st);
	if (st.act)
		act(r, now_ms);
	else if (r->phase == PHASE_VERIFYING)
		verify(r, now_ms);
}

static struct restart_fsm_params params_of(const struct restart_rule *rule)
{
	struct restart_fsm_params p = {
		.threshold = rule->threshold,
		.clear = rule->clear,
		.window_ms = rule->window_ms,
		.interval_ms = rule->interval_ms,
		.cooldown_ms = rule->cooldown_ms,
		.per_ms = rule->per_ms,
		.max_actions = rule->max_actions,
	};
	return p;
}

static void rule_free(struct rule_rt *r)
{
	if (!r)
		return;
	loop_timer_del(r->ctl->loop, r->timer);
	restart_child_free(r->child);
	restart_rule_release(&r->rule);
	free(r);
}

/* Moves rule into a new runtime (its argv changes owner), timer started. */
static struct rule_rt *rule_new(struct restart_ctl *c, struct restart_rule *rule)
{
	struct rule_rt *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->ctl = c;
	r->rule = *rule;
	rule->action.argv[0] = NULL;
	struct restart_fsm_params p = params_of(&r->rule);
	restart_fsm_init(&r->fsm, &p);
	r->timer = loop_timer_add(c->loop, r->rule.interval_ms, r->rule.interval_ms, tick, r);
	if (!r->timer) {
		rule_free(r);
		return NULL;
	}
	return r;
}

static bool any_webhook(const struct restart_rules *rules)
{
	for (size_t i = 0; i < rules->n; i++)
		if (rules->items[i].webhook[0])
			return true;
	return false;
}

static struct rule_rt *find_rule(const struct restart_ctl *c, const char *name)
{
	for (size_t j = 0; j < c->n; j++)
		if (c->rules[j] && strcmp(c->rules[j]->rule.name, name) == 0)
			return c->rules[j];
	return NULL;
}

/* A kept rule takes its new settings; its state, counters and any action in flight stay. */
static void update(struct rule_rt *r, struct restart_rule *rule)
{
	uint64_t old_interval = r->rule.interval_ms;

	restart_rule_release(&r->rule);
	r->rule = *rule;
	rule->action.argv[0] = NULL; /* moved */
	struct restart_fsm_params p = params_of(&r->rule);
	struct restart_step st = restart_fsm_reload(&r->fsm, &p, loop_now_ms());
	report_step(r, &st);
	if (r->rule.interval_ms != old_interval) {
		loop_timer_del(r->ctl->loop, r->timer);
		r->timer = loop_timer_add(r->ctl->loop, r->rule.interval_ms, r->rule.interval_ms,
					  tick, r);
		if (!r->timer)
			log_error("restart rule stopped: cannot set its timer", "rule",
				  r->rule.name);
	}
}

/*
 * Replaces the rule set: new names start fresh, kept names are updated in place (so a
 * running action command and its verification carry on), missing names are stopped.
 * All allocation happens before anything changes: -ENOMEM leaves the running set as it was.
 */
static int install(struct restart_ctl *c, struct restart_rules *rules)
{
	struct rule_rt **next = calloc(rules->n + 1, sizeof(*next));
	if (!next)
		return -ENOMEM;
	for (size_t i = 0; i < rules->n; i++) {
		if (find_rule(c, rules->items[i].name))
			continue;
		next[i] = rule_new(c, &rules->items[i]);
		if (!next[i]) {
			for (size_t k = 0; k < i; k++)
				if (!find_rule(c, rules->items[k].name))
					rule_free(next[k]);
			free(next);
			return -ENOMEM;
		}
	}
	if (!c->notifier && any_webhook(rules)) {
		c->notifier = notifier_new(NOTIFY_TIMEOUT_MS, NOTIFY_ATTEMPTS, NOTIFY_QUEUE);
		if (!c->notifier)
			log_warn("cannot start webhook notifications", "reason", strerror(errno));
	}
	for (size_t i = 0; i < rules->n; i++) {
		struct rule_rt *old = find_rule(c, rules->items[i].name);
		if (!old)
			continue;
		update(old, &rules->items[i]);
		next[i] = old;
		for (size_t j = 0; j < c->n; j++)
			if (c->rules[j] == old)
				c->rules[j] = NULL; /* taken over */
	}
	for (size_t j = 0; j < c->n; j++)
		rule_free(c->rules[j]);
	free(c->rules);
	c->rules = next;
	c->n = rules->n;
	return 0;
}

struct restart_ctl *restart_ctl_new(struct loop *loop, struct restart_rules *rules,
				    struct cgroup_cpu *cpu, const char *config_path,
				    bool check_files)
{
	struct restart_ctl *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->loop = loop;
	c->cpu = cpu;
	c->check_files = check_files;
	c->config_path = config_path ? strdup(config_path) : NULL;
	c->online_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (c->online_cpus < 1)
		c->online_cpus = 1;
	if (gethostname(c->host, sizeof(c->host) - 1) < 0)
		strcpy(c->host, "unknown");
	if (install(c, rules)) {
		restart_ctl_free(c);
		return NULL;
	}
	restart_rules_free(rules);
	if (!cpu && c->n)
		log_warn("restart rules need the cgroup_cpu collector; they will not act", "rules",
			 c->rules[0]->rule.name);
	return c;
}

void restart_ctl_reload(struct restart_ctl *c)
{
	struct restart_rules rules = { 0 };
	char err[1024];
	struct log_num n = { { 0 } };

	if (!c->config_path) {
		log_info("SIGHUP: no --config file to reload");
		return;
	}
	int rc = restart_rules_load_file(c->config_path, c->check_files, &rules, err, sizeof(err));
	if (!rc)
		rc = install(c, &rules);
	restart_rules_free(&rules);
	if (rc) {
		log_error("restart rules not reloaded; the running rules stay", "reason",
			  rc == -ENOMEM ? "out of memory" : err);
		return;
	}
	log_info("restart rules reloaded", "rules", log_u64(&n, c->n));
}

void restart_ctl_free(struct restart_ctl *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++)
		rule_free(c->rules[i]);
	free(c->rules);
	notifier_free(c->notifier);
	free(c->config_path);
	free(c);
}
