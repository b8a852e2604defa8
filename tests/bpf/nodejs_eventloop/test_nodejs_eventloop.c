/* test_nodejs_eventloop.c — the event loop's state machine (bpf/nodejs_eventloop/turns.bpf.h) as
 * the verifier sees it: a turn runs from the switch that wakes an idle loop to its next sleep in
 * the poll, lands in its `le` bucket of its cgroup, and a loop not yet seen polling counts
 * nothing. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/types.h>
#include <stdio.h>
#include <string.h>

#include "bpf/nodejs_eventloop/nodejs_eventloop.h"
#include "bpf/nodejs_eventloop/nodejs_eventloop_test.h"
#include "skel/nodejs_eventloop_test.skel.h"
#include "test.h"

#define MS 1000000ull

static const __u64 bounds_ns[] = { 1 * MS, 10 * MS, 100 * MS, 250 * MS };
#define NBOUNDS (sizeof(bounds_ns) / sizeof(bounds_ns[0]))

static struct nodejs_eventloop_test_bpf *skel;

static int step(__u64 now, int sleep_in_poll, __u64 cgroup_id)
{
	struct el_test_step s = { .now_ns = now,
				  .cgroup_id = cgroup_id,
				  .sleep_in_poll = (__u32)sleep_in_poll };
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = &s, .ctx_size_in = sizeof(s));
	int err = bpf_prog_test_run_opts(bpf_program__fd(skel->progs.loop_step), &opts);
	return err ? err : (int)opts.retval;
}

static struct el_loop loop_state(void)
{
	struct el_loop l = { 0 };
	__u32 zero = 0;
	bpf_map_lookup_elem(bpf_map__fd(skel->maps.test_loop), &zero, &l);
	return l;
}

static int hist_of(__u64 cgroup_id, struct el_hist *h)
{
	memset(h, 0, sizeof(*h));
	return bpf_map_lookup_elem(bpf_map__fd(skel->maps.el_cgroups), &cgroup_id, h);
}

int main(void)
{
	struct el_hist h;
	struct el_loop l;

	skel = nodejs_eventloop_test_bpf__open();
	CHECK(skel != NULL, "open: %d", -errno);
	if (!skel)
		return test_summary("test_nodejs_eventloop");
	for (size_t i = 0; i < NBOUNDS; i++)
		skel->rodata->turn_bounds_ns[i] = bounds_ns[i];
	skel->rodata->turn_nbounds = NBOUNDS;
	int err = nodejs_eventloop_test_bpf__load(skel);
	CHECK(err == 0, "load: %d", err);
	if (err)
		goto out;

	/* marked while running: nothing is known until the first sleep in the poll */
	CHECK(step(1000, 0, 5) == 0, "wake of an unknown loop runs");
	l = loop_state();
	CHECK(l.state == EL_STATE_UNKNOWN, "a wake does not make an unknown loop busy (%u)",
	      l.state);
	step(2000, 1, 5);
	l = loop_state();
	CHECK(l.state == EL_STATE_IDLE && l.since_ns == 2000 && l.turns == 0 && l.busy_ns == 0,
	      "the first poll makes it idle, no turn (state %u since %llu turns %llu)", l.state,
	      (unsigned long long)l.since_ns, (unsigned long long)l.turns);
	CHECK(hist_of(5, &h) != 0, "no turn ended: no histogram for the cgroup");
	CHECK(l.cgroup_id == 5 && l.seq % 2 == 0,
	      "the poll notes the cgroup (%llu), seq even (%llu)", (unsigned long long)l.cgroup_id,
	      (unsigned long long)l.seq);

	/* a 200 ms turn; a preemption in the middle changes nothing */
	__u64 t = 10 * MS;
	step(t, 0, 5);
	step(t + 50 * MS, 0, 5);
	l = loop_state();
	CHECK(l.state == EL_STATE_BUSY && l.since_ns == t, "busy since the wake (since %llu)",
	      (unsigned long long)l.since_ns);
	step(t + 200 * MS, 1, 5);
	l = loop_state();
	CHECK(l.state == EL_STATE_IDLE && l.turns == 1 && l.busy_ns == 200 * MS,
	      "the next poll ends a 200 ms turn (turns %llu busy %llu)",
	      (unsigned long long)l.turns, (unsigned long long)l.busy_ns);
	CHECK(hist_of(5, &h) == 0 && h.buckets[3] == 1 && h.sum_ns == 200 * MS,
	      "200 ms lands in (0.1, 0.25] (bucket 3: %llu, sum %llu)",
	      (unsigned long long)h.buckets[3], (unsigned long long)h.sum_ns);

	/* woken inside the poll without events, asleep again: no turn */
	step(t + 300 * MS, 1, 5);
	l = loop_state();
	CHECK(l.turns == 1 && l.since_ns == t + 200 * MS,
	      "a second sleep in the same poll is no turn (turns %llu)",
	      (unsigned long long)l.turns);

	/* a turn of exactly a bound is in that bound's bucket (`le`), in the cgroup it polled in */
	t = 1000 * MS;
	step(t, 0, 5);
	step(t + 100 * MS, 1, 9);
	CHECK(hist_of(9, &h) == 0 && h.buckets[2] == 1, "100 ms lands in le=0.1 of cgroup 9 (%llu)",
	      (unsigned long long)h.buckets[2]);
	hist_of(5, &h);
	CHECK(h.buckets[2] == 0 && h.buckets[3] == 1, "cgroup 5 keeps its one turn");

	/* above every bound: +Inf */
	t = 5000 * MS;
	step(t, 0, 9);
	step(t + 3000 * MS, 1, 9);
	hist_of(9, &h);
	CHECK(h.buckets[NBOUNDS] == 1, "3 s lands in +Inf (%llu)",
	      (unsigned long long)h.buckets[NBOUNDS]);
	l = loop_state();
	CHECK(l.turns == 3 && l.busy_ns == 3300 * MS && l.seq % 2 == 0,
	      "three turns, 3.3 s busy (turns %llu busy %llu)", (unsigned long long)l.turns,
	      (unsigned long long)l.busy_ns);
out:
	nodejs_eventloop_test_bpf__destroy(skel);
	return test_summary("test_nodejs_eventloop");
}
