/* test_fsm.c — the restart rule state machine against a fake clock. */
#include <stdlib.h>

#include "restart/fsm.h"
#include "test.h"

#define S 1000ull /* ms */

static const struct restart_fsm_params params = {
	.threshold = 0.8,
	.clear = 0.7,
	.window_ms = 60 * S,
	.interval_ms = 5 * S,
	.cooldown_ms = 300 * S,
	.per_ms = 3600 * S,
	.max_actions = 3,
};

/* A fake target: a clock and a CPU counter advanced by a utilisation per interval. */
struct sim {
	struct restart_fsm f;
	uint64_t now, cpu, id;
	int actions, changes;
};

static void sim_init(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	restart_fsm_init(&s->f, &params);
	s->now = 1000 * S;
	s->id = 7;
}

/* Advances by dt at the given utilisation of one core, then samples. */
static struct restart_step sim_step(struct sim *s, uint64_t dt, double util)
{
	s->now += dt;
	s->cpu += (uint64_t)(util * (double)dt * 1e6);
	struct restart_step st = restart_fsm_sample(&s->f, s->now, s->id, s->cpu, 1.0);
	s->actions += st.act;
	s->changes += st.from != st.to;
	return st;
}

/* Runs n samples at util, 5 s apart; returns the number of actions. */
static int sim_run(struct sim *s, int n, double util)
{
	int before = s->actions;
	for (int i = 0; i < n; i++)
		sim_step(s, 5 * S, util);
	return s->actions - before;
}

static void test_burst_shorter_than_window(void)
{
	struct sim s;
	sim_init(&s);
	sim_step(&s, 5 * S, 0.1); /* baseline */
	CHECK(!s.f.have_ratio, "first sample gives no ratio");
	CHECK(sim_run(&s, 11, 1.0) == 0, "55 s of burn is shorter than the 60 s window");
	CHECK(s.f.state == RESTART_PENDING, "state %s", restart_state_name(s.f.state));
	CHECK(sim_run(&s, 1, 0.2) == 0, "a low sample clears");
	CHECK(s.f.state == RESTART_OK, "state %s", restart_state_name(s.f.state));
	CHECK(sim_run(&s, 11, 1.0) == 0, "the window starts again");
}

static void test_sustained_acts_once_at_window(void)
{
	struct sim s;
	sim_init(&s);
	sim_step(&s, 5 * S, 0.0);
	CHECK(sim_run(&s, 11, 0.95) == 0, "not before the window");
	struct restart_step st = sim_step(&s, 5 * S, 0.95);
	CHECK(st.act, "12th hot sample completes 60 s");
	CHECK(st.from == RESTART_PENDING && st.to == RESTART_COOLDOWN, "%s -> %s",
	      restart_state_name(st.from), restart_state_name(st.to));
	CHECK(s.f.ratio > 0.94 && s.f.ratio < 0.96, "ratio %f", s.f.ratio);
	CHECK(sim_run(&s, 59, 1.0) == 0, "no second action inside the 300 s cooldown");
	CHECK(s.f.state == RESTART_COOLDOWN, "state %s", restart_state_name(s.f.state));
	sim_step(&s, 5 * S, 1.0); /* 300 s after the action */
	CHECK(s.f.state == RESTART_PENDING, "after cooldown a new window starts: %s",
	      restart_state_name(s.f.state));
	CHECK(sim_run(&s, 11, 1.0) == 0, "not before a whole new window");
	CHECK(sim_run(&s, 1, 1.0) == 1, "and acts when it is complete");
}

static void test_threshold_is_strict_and_exact(void)
{
	struct sim s;
	sim_init(&s);
	sim_step(&s, 5 * S, 0);
	CHECK(sim_run(&s, 30, 0.8) == 0, "exactly at the threshold is not above it");
	CHECK(s.f.state == RESTART_OK, "state %s", restart_state_name(s.f.state));
}

static void test_oscillation(void)
{
	struct sim s;
	sim_init(&s);
	sim_step(&s, 5 * S, 0);
	/* 0.75 / 0.85: inside the hysteresis band, still pegged: one action */
	int acts = 0;
	for (int i = 0; i < 6; i++)
		acts += sim_run(&s, 1, 0.85) + sim_run(&s, 1, 0.75);
	CHECK(acts == 1, "oscillation within the band acts once, got %d", acts);

	sim_init(&s);
	sim_step(&s, 5 * S, 0);
	acts = 0;
	for (int i = 0; i < 50; i++)
		acts += sim_run(&s, 1, 0.9) + sim_run(&s, 1, 0.6);
	CHECK(acts == 0, "dipping below the clear level never acts, got %d", acts);
	CHECK(s.changes >= 50, "and the state follows it (%d changes)", s.changes);
}

static void test_gap_restarts_window(void)
{
	struct sim s;
	sim_init(&s);
	sim_step(&s, 5 * S, 0);
	sim_run(&s, 10, 1.0);
	CHECK(s.f.state == RESTART_PENDING, "pending");
	struct restart_step st = sim_step(&s, 11 * S, 1.0); /* more than two intervals */
	CHECK(st.to == RESTART_OK && !st.act, "a gap clears: %s", restart_state_name(st.to));
	CHECK(!s.f.have_ratio, "no ratio across a gap");
	CHECK(sim_run(&s, 11, 1.0) == 0, "the window restarts after the gap");
	CHECK(sim_run(&s, 1, 1.0) == 1, "and completes 60 s later");
	/* exactly two intervals is not a gap */
	sim_init(&s);
	sim_step(&s, 5 * S, 0);
	sim_run(&s, 5, 1.0);
	sim_step(&s, 10 * S, 1.0);
	CHECK(s.f.state == RESTART_PENDING, "10 s late sample keeps the window: %s",
	      restart_state_name(s.f.state));
}

static void test_counter_reset_and_replaced_target(void)
{
	struct sim s;
	sim_init(&s);
	sim_step(&s, 5 * S, 0);
	sim_run(&s, 10, 1.0);
	s.cpu = 0; /* the counter went back: a new cgroup, or a restarted exporter source */
	struct restart_step st = sim_step(&s, 5 * S, 1.0);
	CHECK(st.to == RESTART_OK && st.why && strcmp(st.why, "counter reset") == 0, "%s",
	      st.why ? st.why : "(null)");
	sim_run(&s, 5, 1.0);
	s.id = 8; /* same path, new cgroup (unit restarted) */
	st = sim_step(&s, 5 * S, 1.0);
	CHECK(st.to == RESTART_OK && st.why && strcmp(st.why, "target replaced") == 0, "%s",
	      st.why ? st.why : "(null)");
}

static void test_target_missing(void)
{
	struct sim s;
	sim_init(&s);
	sim_step(&s, 5 * S, 0);
	sim_run(&s, 8, 1.0);
	s.now += 5 * S;
	struct restart_step st = restart_fsm_missing(&s.f, s.now);
	CHECK(st.from == RESTART_PENDING && st.to == RESTART_OK, "missing target clears");
	CHECK(!s.f.have_ratio && !s.f.have_baseline, "and forgets the baseline");
	sim_step(&s, 5 * S, 1.0);
	CHECK(!s.f.have_ratio, "the next sample is a new baseline");
}

static void test_backoff_and_budget(void)
{
	struct sim s;
	sim_init(&s);
	sim_step(&s, 5 * S, 0);
	uint64_t t[5] = { 0 };
	int n = 0;
	/* burn continuously for 2 h and note when actions happen */
	for (int i = 0; i < 1440 && n < 5 && s.f.state != RESTART_SUSPENDED; i++)
		if (sim_step(&s, 5 * S, 1.0).act)
			t[n++] = s.now;
	CHECK(n == 3, "three actions within the hour, got %d", n);
	CHECK(t[1] - t[0] == 300 * S + 60 * S, "cooldown 300 s then a window: %llu",
	      (unsigned long long)(t[1] - t[0]));
	CHECK(t[2] - t[1] == 600 * S + 60 * S, "backoff doubles the cooldown: %llu",
	      (unsigned long long)(t[2] - t[1]));
	CHECK(s.f.state == RESTART_SUSPENDED, "the fourth is refused: %s",
	      restart_state_name(s.f.state));
	CHECK(s.f.until_ms == t[0] + 3600 * S, "suspended until the first is an hour old");

	/* stays suspended, then acts again when the budget frees up */
	int acts = 0;
	while (s.now < t[0] + 3600 * S - 5 * S)
		acts += sim_step(&s, 5 * S, 1.0).act;
	CHECK(acts == 0 && s.f.state == RESTART_SUSPENDED, "no action while suspended");
	sim_step(&s, 5 * S, 1.0);
	CHECK(s.f.state == RESTART_PENDING, "budget back: a new window: %s",
	      restart_state_name(s.f.state));
	CHECK(sim_run(&s, 12, 1.0) == 1, "acts again");
}

static void test_reload_lifts_suspension(void)
{
	struct sim s;
	sim_init(&s);
	struct restart_fsm_params p = params;
	p.max_actions = 1;
	p.cooldown_ms = 10 * S;
	restart_fsm_reload(&s.f, &p, s.now);
	sim_step(&s, 5 * S, 0);
	CHECK(sim_run(&s, 12, 1.0) == 1, "one action");
	sim_run(&s, 20, 1.0);
	CHECK(s.f.state == RESTART_SUSPENDED, "then suspended: %s", restart_state_name(s.f.state));
	struct restart_step st = restart_fsm_reload(&s.f, &p, s.now);
	CHECK(st.to == RESTART_OK && st.from == RESTART_SUSPENDED, "reload lifts it");
	CHECK(sim_run(&s, 12, 1.0) == 1, "and the rule can act again after a window");
	/* reload keeps a cooldown */
	CHECK(s.f.state == RESTART_COOLDOWN, "cooldown");
	st = restart_fsm_reload(&s.f, &p, s.now);
	CHECK(st.to == RESTART_COOLDOWN, "reload keeps cooldown: %s", restart_state_name(st.to));
}

static void test_capacity(void)
{
	struct restart_fsm f;
	restart_fsm_init(&f, &params);
	restart_fsm_sample(&f, 1000, 1, 0, 2.0);
	restart_fsm_sample(&f, 2000, 1, 1000000000ull, 2.0); /* 1 core busy of 2 */
	CHECK(f.have_ratio && f.ratio > 0.499 && f.ratio < 0.501, "ratio %f", f.ratio);
	restart_fsm_sample(&f, 3000, 1, 1000000000ull + 1900000000ull, 2.0);
	CHECK(f.ratio > 0.949 && f.ratio < 0.951 && f.state == RESTART_PENDING, "ratio %f",
	      f.ratio);
}

int main(void)
{
	test_burst_shorter_than_window();
	test_sustained_acts_once_at_window();
	test_threshold_is_strict_and_exact();
	test_oscillation();
	test_gap_restarts_window();
	test_counter_reset_and_replaced_target();
	test_target_missing();
	test_backoff_and_budget();
	test_reload_lifts_suspension();
	test_capacity();
	return test_summary("restart/test_fsm");
}
