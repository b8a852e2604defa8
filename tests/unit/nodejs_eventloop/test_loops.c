/* test_loops.c — the event-loop collector's arithmetic: a loop's busy time with its open turn,
 * the utilisation window of one sample, and which --http-targets names are node. */
#include <string.h>

#include "bpf/nodejs_eventloop/nodejs_eventloop.h"
#include "nodejs_eventloop/loops.h"
#include "test.h"

#define MS 1000000ull

static void busy_until(void)
{
	struct el_loop idle = { .state = EL_STATE_IDLE, .since_ns = 100 * MS, .busy_ns = 40 * MS };
	struct el_loop busy = { .state = EL_STATE_BUSY, .since_ns = 100 * MS, .busy_ns = 40 * MS };

	CHECK(el_busy_until(&idle, 500 * MS) == 40 * MS, "an idle loop: its finished turns only");
	CHECK(el_busy_until(&busy, 500 * MS) == 440 * MS, "a busy loop: the open turn counts");
	CHECK(el_busy_until(&busy, 50 * MS) == 40 * MS,
	      "a clock behind the kernel's: no negative turn");
}

static void windows(void)
{
	struct el_tracked t = { 0 };

	el_window(&t, 1000 * MS, 0, 1000 * MS);
	CHECK(!t.in_window && t.have_prev, "the first sample opens the window");
	el_window(&t, 1500 * MS, 400 * MS, 1000 * MS);
	CHECK(t.in_window && t.win_wall_ns == 500 * MS && t.win_busy_ns == 400 * MS,
	      "a window of 0.5 s, 0.4 s busy (%llu/%llu)", (unsigned long long)t.win_busy_ns,
	      (unsigned long long)t.win_wall_ns);
	CHECK(t.prev_ns == 1000 * MS, "under the minimum, the window's start stays");
	el_window(&t, 2500 * MS, 1400 * MS, 1000 * MS);
	CHECK(t.win_wall_ns == 1500 * MS && t.win_busy_ns == 1400 * MS && t.prev_ns == 2500 * MS,
	      "the next sample still counts from 1 s; past the minimum the start moves on");
	el_window(&t, 3000 * MS, 2000 * MS, 1000 * MS);
	CHECK(t.win_busy_ns == t.win_wall_ns, "busy is clamped to the wall time (%llu)",
	      (unsigned long long)t.win_busy_ns);
	el_window(&t, 3000 * MS, 2000 * MS, 1000 * MS);
	CHECK(t.in_window && t.win_wall_ns == 500 * MS, "a second sample at once keeps the window");
	struct el_tracked back = { .have_prev = true, .prev_ns = 5000 * MS };
	el_window(&back, 4000 * MS, 0, 1000 * MS);
	CHECK(!back.in_window && back.prev_ns == 4000 * MS, "a clock that went back restarts");
}

static void node_names(void)
{
	struct latency_targets all, node;
	char err[256];

	CHECK(latency_parse_targets("node,nodejs,php-fpm*,php,nginx", &all, err, sizeof(err)) == 0,
	      "the default list parses: %s", err);
	CHECK(el_loops_node_names(&all, &node) == 2 && strcmp(node.items[0].name, "node") == 0 &&
		      strcmp(node.items[1].name, "nodejs") == 0,
	      "node and nodejs are the loops' names (%zu)", node.n);
	CHECK(latency_targets_match(&node, "nodejs") == 1 &&
		      latency_targets_match(&node, "nginx") < 0,
	      "nodejs matches, nginx does not");
	CHECK(latency_parse_targets("php-fpm*,nginx", &all, err, sizeof(err)) == 0 &&
		      el_loops_node_names(&all, &node) == 0,
	      "no node name: no loops (the collector is off by default then)");
}

int main(void)
{
	busy_until();
	windows();
	node_names();
	return test_summary("nodejs_eventloop/test_loops");
}
