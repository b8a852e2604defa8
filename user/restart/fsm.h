/* restart/fsm.h — the decision of one restart rule: sustained-high detection and anti-flap, no I/O.
 */
#ifndef HOSTMON_RESTART_FSM_H
#define HOSTMON_RESTART_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   A pure state machine driven by the caller's clock (milliseconds, any
 *   monotonic origin), so it is tested with a fake one.
 *
 *   restart_fsm_sample() takes one reading of the target's cumulative CPU
 *   time (ns) and identity (cgroup id). The utilisation ratio is the CPU
 *   time used since the previous reading per second of wall time, divided
 *   by the capacity in cores. A first reading, a changed id, a counter that
 *   went down, or a gap longer than two intervals only sets a new baseline
 *   (and clears a pending window): no ratio comes from them.
 *
 *   States: ok -> pending when a ratio is above the threshold; the window
 *   starts where that sample's interval started. pending -> ok when a ratio
 *   falls below the clear level (hysteresis: ratios between clear and
 *   threshold keep the window going). When pending has lasted the window,
 *   the step says act (the caller acts, or in dry-run pretends to) and the
 *   rule enters cooldown. The n-th action within `per` is followed by a
 *   cooldown of cooldown * 2^(n-1) (backoff, at most `per`). An action
 *   that would exceed max_actions within `per` is not taken: the rule is
 *   suspended until the oldest of those actions is `per` old, or a reload.
 *   cooldown/suspended -> ok when their time is over; a new action then
 *   needs a whole new window.
 *
 *   restart_fsm_missing() says the target is gone (no cgroup, no process):
 *   a pending window is dropped and the baseline forgotten.
 *   restart_fsm_reload() applies new parameters, keeps the cooldown and
 *   lifts a suspension (the action history is forgotten).
 */

enum restart_state {
	RESTART_OK,
	RESTART_PENDING,
	RESTART_COOLDOWN,
	RESTART_SUSPENDED,
	RESTART_NSTATES,
};

#define RESTART_FSM_HISTORY 64 /* action times remembered for the max_actions budget */

struct restart_fsm_params {
	double threshold, clear;
	uint64_t window_ms, interval_ms, cooldown_ms, per_ms;
	unsigned max_actions;
};

struct restart_fsm {
	struct restart_fsm_params p;
	enum restart_state state;
	bool have_baseline;
	uint64_t base_ms, base_cpu_ns, base_id;
	bool have_ratio;
	double ratio;
	uint64_t pending_since_ms;
	uint64_t until_ms; /* end of cooldown or suspension */
	uint64_t actions_ms[RESTART_FSM_HISTORY];
	size_t nactions;
};

/* What one step did: a state change (from != to) with its reason, and whether to act. */
struct restart_step {
	enum restart_state from, to;
	bool act;
	const char *why; /* static text; NULL when nothing changed */
};

void restart_fsm_init(struct restart_fsm *f, const struct restart_fsm_params *p);
struct restart_step restart_fsm_sample(struct restart_fsm *f, uint64_t now_ms, uint64_t id,
				       uint64_t cpu_ns, double capacity_cores);
struct restart_step restart_fsm_missing(struct restart_fsm *f, uint64_t now_ms);
struct restart_step restart_fsm_reload(struct restart_fsm *f, const struct restart_fsm_params *p,
				       uint64_t now_ms);
const char *restart_state_name(enum restart_state s);

#endif
