/* restart/export.c — what the restart controller shows: its hostmon_restart_* families and its
 * part of the status page. */
#include <stdio.h>
#include <string.h>

#include "exposition/family_table.h"
#include "restart/ctl.h"
#include "restart/notify.h"
#include "restart/restart.h"
#include "status/status.h"

const char *const restart_result_names[RESULT_N] = { "ok", "failed", "timeout", "dry_run" };

void restart_ctl_collect(struct restart_ctl *c, struct metric_snapshot *s)
{
	static const char *const rule_label[] = { "rule" };
	static const char *const state_labels[] = { "rule", "state" };
	static const char *const action_labels[] = { "rule", "action", "result" };
	static const char *const result_label[] = { "result" };
	static const struct metric_def per_rule[] = {
		{ "hostmon_restart_actions_total",
		  "Restart actions by rule, action type and verified result (ok, failed, timeout, "
		  "dry_run).",
		  METRIC_COUNTER, 3, action_labels },
		{ "hostmon_restart_rule_cpu_ratio",
		  "CPU use of the rule's target over its last sample interval, as a fraction of "
		  "its capacity.",
		  METRIC_GAUGE, 1, rule_label },
		{ "hostmon_restart_rule_state",
		  "1 for the state the rule is in (ok, pending, cooldown, suspended), 0 for the "
		  "others.",
		  METRIC_GAUGE, 2, state_labels },
		{ "hostmon_restart_rule_target_found",
		  "1 when the rule's target (cgroup, unit or process) was found at the last "
		  "sample.",
		  METRIC_GAUGE, 1, rule_label },
	};
	struct metric_family *f[METRIC_DEFS_N(per_rule)];
	metric_families_get(s, per_rule, METRIC_DEFS_N(per_rule), f);
	struct metric_family *actions = f[0], *ratio = f[1], *state = f[2], *found = f[3];

	for (size_t i = 0; i < c->n; i++) {
		const struct rule_rt *r = c->rules[i];
		const char *name = r->rule.name;
		const char *kind = restart_action_kind_name(r->rule.action.kind);
		for (int res = 0; res < RESULT_N; res++) {
			const char *v[] = { name, kind, restart_result_names[res] };
			metric_add(actions, v, (double)r->results[res]);
		}
		if (r->fsm.have_ratio)
			metric_add(ratio, &name, r->fsm.ratio);
		for (int st = 0; st < RESTART_NSTATES; st++) {
			const char *v[] = { name, restart_state_name(st) };
			metric_add(state, v, r->fsm.state == (enum restart_state)st ? 1 : 0);
		}
		metric_add(found, &name, r->target_found ? 1 : 0);
	}
	if (c->notifier) {
		struct notifier_stats ns;
		notifier_get_stats(c->notifier, &ns);
		struct metric_family *sent = metric_family_get(
			s, "hostmon_restart_notifications_total",
			"Webhook notifications of the restart controller by result (sent, failed "
			"after retries, dropped because the queue was full or hostmon stopped).",
			METRIC_COUNTER, 1, result_label);
		const char *res[] = { "sent", "failed", "dropped" };
		double vals[] = { (double)ns.sent, (double)ns.failed, (double)ns.dropped };
		for (int k = 0; k < 3; k++)
			metric_add(sent, &res[k], vals[k]);
	}
}

void restart_ctl_status(const struct restart_ctl *c, struct status_model *m)
{
	m->have_restart = true;
	for (size_t i = 0; i < c->n; i++) {
		const struct rule_rt *r = c->rules[i];
		struct status_rule *s = status_rule_add(m);
		if (!s)
			break;
		status_copy(s->name, sizeof(s->name), r->rule.name);
		status_copy(s->target, sizeof(s->target), r->rule.target);
		s->target_found = r->target_found;
		status_copy(s->cgroup, sizeof(s->cgroup), r->target_found ? r->cgroup : "");
		status_copy(s->why_missing, sizeof(s->why_missing),
			    r->target_found ? "" : r->why_missing);
		status_copy(s->state, sizeof(s->state), restart_state_name(r->fsm.state));
		s->have_ratio = r->fsm.have_ratio;
		s->cpu_ratio = r->fsm.ratio;
		s->threshold = r->rule.threshold;
		status_copy(s->action, sizeof(s->action),
			    restart_action_kind_name(r->rule.action.kind));
		s->dry_run = r->rule.dry_run;
		for (int res = 0; res < RESULT_N; res++)
			s->actions += r->results[res];
		s->have_last = r->last.taken;
		if (r->last.taken) {
			status_copy(s->last_result, sizeof(s->last_result),
				    restart_result_names[r->last.result]);
			s->last_at = r->last.at_wall;
			status_copy(s->last_detail, sizeof(s->last_detail), r->last.detail);
		}
	}
}
