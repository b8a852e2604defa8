/* nodejs_eventloop/loops.h — the loop threads the event-loop collector measures: found at their
 * exec and in /proc by the node names of the http_latency collector's targets, marked in the
 * kernel's task storage through a pidfd, read back with their in-progress state, dropped when their
 * process exits. */
#ifndef HOSTMON_NODEJS_EVENTLOOP_LOOPS_H
#define HOSTMON_NODEJS_EVENTLOOP_LOOPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "http_latency/settings.h"

/*
 * API:
 *   el_loops_scan() marks the main thread of every process /proc lists whose
 *   executable has one of the node names of names (see
 *   el_loops_node_names()) and is not marked yet, up to EL_LOOPS_MAX; it
 *   forgets loops whose process is gone. *marked_count (the kernel's
 *   loops_marked) follows. A loop asleep in its poll when marked starts
 *   idle; any other starts unknown until its first poll. 0 or -errno.
 *   el_loops_sample() reads every loop's state at now_ns (CLOCK_MONOTONIC)
 *   and fills its window: busy and wall ns since its previous sample, which
 *   moves on only once it is at least min_window_ns old (several scrapers
 *   never make the window tiny); a loop whose process exited (a zombie
 *   too) or ran another program is forgotten.
 *   el_busy_until() and el_window() are its arithmetic, pure for the unit
 *   tests: a loop's busy ns up to now (finished turns plus the open one),
 *   and one sample's window (busy clamped to wall, a clock that did not
 *   move gives none) and whether the sample moves on.
 *   el_loops_free() closes every pidfd.
 */

#define EL_LOOPS_MAX 4096

struct el_tracked {
	pid_t pid;
	uint64_t start_ticks; /* with pid, the process's identity */
	int pidfd;
	bool known;	    /* seen polling at least once */
	bool have_prev;	    /* prev_* hold a sample */
	uint64_t prev_ns;   /* when */
	uint64_t prev_busy; /* the loop's busy ns up to then, the open turn included */
	uint64_t cgroup_id; /* at its last poll */
	bool in_window;	    /* the window below is valid */
	uint64_t win_busy_ns, win_wall_ns;
	bool seen; /* by the scan in progress */
};

struct el_loop_set {
	int map_fd;		 /* el_loops (task storage) */
	const char *cgroup_root; /* the cgroup2 mount: a loop's initial cgroup */
	int bits_fd;		 /* el_pid_bits */
	size_t bits_words;
	struct el_tracked *items;
	size_t n;
	uint64_t untracked_total; /* node processes left out: EL_LOOPS_MAX reached or no pidfd */
	bool warned_exe_denied;
};

struct el_loop;

/* The names of names that are node (runtime node): 0 when there is none. */
size_t el_loops_node_names(const struct latency_targets *names, struct latency_targets *out);
int el_loops_scan(struct el_loop_set *s, const struct latency_targets *node_names,
		  uint32_t *marked_count);
/* One process the kernel saw exec a node name: marked as the scan would (its executable checked).
 */
void el_loops_found(struct el_loop_set *s, const struct latency_targets *node_names, pid_t pid,
		    uint32_t *marked_count);
void el_loops_sample(struct el_loop_set *s, uint64_t now_ns, uint64_t min_window_ns,
		     uint32_t *marked_count);
uint64_t el_busy_until(const struct el_loop *l, uint64_t now_ns);
void el_window(struct el_tracked *t, uint64_t now_ns, uint64_t busy_ns, uint64_t min_window_ns);
void el_loops_free(struct el_loop_set *s);

#endif
