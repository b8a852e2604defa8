/* restart/fsm.c — sustained-high detection, cooldown, backoff and budget for one restart rule. */
#include "restart/fsm.h"

#include <string.h>

const char *restart_state_name(enum restart_state s)
{
	static const char *const names[RESTART_NSTATES] = {
		[RESTART_OK] = "ok",
		[RESTART_PENDING] = "pending",
		[RESTART_COOLDOWN] = "cooldown",
		[RESTART_SUSPENDED] = "suspended",
	};
	return s < RESTART_NSTATES ? names[s] : "unknown";
}

void restart_fsm_init(struct restart_fsm *f, const struct restart_fsm_params *p)
{
	memset(f, 0, sizeof(*f));
	f->p = *p;
	f->state = RESTART_OK;
}

static struct restart_step go(struct restart_fsm *f, enum restart_state to, const char *why)
{
	struct restart_step s = { .from = f->state, .to = to, .why = why };
	f->state = to;
	return s;
}

static struct restart_step stay(const struct restart_fsm *f)
{
	struct restart_step s = { .from = f->state, .to = f->state };
	return s;
}

/* Forgets actions older than `per`; the history is oldest first. */
static void prune_actions(struct restart_fsm *f, uint64_t now_ms)
{
	size_t keep = 0;
	while (keep < f->nactions && now_ms - f->actions_ms[keep] >= f->p.per_ms)
		keep++;
	memmove(f->actions_ms, f->actions_ms + keep, (f->nactions - keep) * sizeof(uint64_t));
	f->nactions -= keep;
}

/* Time-driven exits from cooldown and suspension. */
static struct restart_step expire(struct restart_fsm *f, uint64_t now_ms)
{
	if (f->state == RESTART_COOLDOWN && now_ms >= f->until_ms)
		return go(f, RESTART_OK, "cooldown over");
	if (f->state == RESTART_SUSPENDED && now_ms >= f->until_ms) {
		prune_actions(f, now_ms);
		return go(f, RESTART_OK, "action budget available again");
	}
	return stay(f);
}

/* The window is complete: act, unless that would exceed the budget. */
static struct restart_step fire(struct restart_fsm *f, uint64_t now_ms)
{
	struct restart_step s;

	prune_actions(f, now_ms);
	if (f->nactions >= f->p.max_actions || f->nactions >= RESTART_FSM_HISTORY) {
		f->until_ms = f->actions_ms[0] + f->p.per_ms;
		return go(f, RESTART_SUSPENDED, "more than max_actions within per");
	}
	uint64_t cooldown = f->p.cooldown_ms;
	for (size_t i = 0; i < f->nactions && cooldown < f->p.per_ms; i++)
		cooldown *= 2;
	if (cooldown > f->p.per_ms)
		cooldown = f->p.per_ms;
	f->actions_ms[f->nactions++] = now_ms;
	f->until_ms = now_ms + cooldown;
	s = go(f, RESTART_COOLDOWN, "high for the whole window");
	s.act = true;
	return s;
}

static void forget_baseline(struct restart_fsm *f)
{
	f->have_baseline = false;
	f->have_ratio = false;
}

struct restart_step restart_fsm_sample(struct restart_fsm *f, uint64_t now_ms, uint64_t id,
				       uint64_t cpu_ns, double capacity_cores)
{
	const char *reset = NULL;
	struct restart_step s = expire(f, now_ms);

	if (!f->have_baseline)
		reset = "first sample";
	else if (id != f->base_id)
		reset = "target replaced";
	else if (cpu_ns < f->base_cpu_ns)
		reset = "counter reset";
	else if (now_ms <= f->base_ms || now_ms - f->base_ms > 2 * f->p.interval_ms)
		reset = "gap in samples";

	uint64_t since_ms = f->base_ms;
	double used_ns = (double)(cpu_ns - f->base_cpu_ns);
	f->have_baseline = true;
	f->base_ms = now_ms;
	f->base_cpu_ns = cpu_ns;
	f->base_id = id;
	if (reset) {
		f->have_ratio = false;
		if (f->state == RESTART_PENDING)
			return go(f, RESTART_OK, reset);
		return s;
	}
	f->have_ratio = true;
	f->ratio = used_ns / 1e6 / (double)(now_ms - since_ms) / capacity_cores;

	switch (f->state) {
	case RESTART_OK:
		if (f->ratio > f->p.threshold) {
			enum restart_state from = s.from;
			/* a window never reaches back into a cooldown or suspension */
			f->pending_since_ms = since_ms > f->until_ms ? since_ms : f->until_ms;
			s = go(f, RESTART_PENDING, "above threshold");
			s.from = from;
		}
		break;
	case RESTART_PENDING:
		if (f->ratio < f->p.clear)
			return go(f, RESTART_OK, "below clear level");
		break;
	default:
		return s;
	}
	if (f->state == RESTART_PENDING && now_ms - f->pending_since_ms >= f->p.window_ms) {
		enum restart_state from = s.from;
		s = fire(f, now_ms);
		s.from = from;
	}
	return s;
}

struct restart_step restart_fsm_missing(struct restart_fsm *f, uint64_t now_ms)
{
	struct restart_step s = expire(f, now_ms);

	forget_baseline(f);
	if (f->state == RESTART_PENDING)
		return go(f, RESTART_OK, "target missing");
	return s;
}

struct restart_step restart_fsm_reload(struct restart_fsm *f, const struct restart_fsm_params *p,
				       uint64_t now_ms)
{
	f->p = *p;
	f->nactions = 0;
	if (f->state == RESTART_SUSPENDED || f->state == RESTART_PENDING) {
		f->until_ms = now_ms;
		return go(f, RESTART_OK, "configuration reloaded");
	}
	return expire(f, now_ms);
}
