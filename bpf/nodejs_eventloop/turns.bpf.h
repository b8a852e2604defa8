/* nodejs_eventloop/turns.bpf.h — the event loop's state machine at a context switch (asleep in
 * the poll: idle; running again: a turn begins; asleep in the poll again: the turn ends) and the
 * maps it writes, shared by the collector's program and its test wrappers. */
#ifndef HOSTMON_BPF_NODEJS_EVENTLOOP_TURNS_BPF_H
#define HOSTMON_BPF_NODEJS_EVENTLOOP_TURNS_BPF_H

/*
 * API:
 *   el_poll_sleep(l, now, cgid): the loop thread went to sleep inside its
 *     poll at now: a running turn ends (histogram of cgid, busy time) and
 *     the loop is idle from now; a loop not yet seen polling starts here.
 *   el_wake(l, now): the loop thread runs again: an idle loop is busy from
 *     now (its runqueue wait before this counted as idle, as node counts it:
 *     the thread is still inside the poll).
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "lib/counters.bpf.h"
#include "lib/histogram.bpf.h"
#include "lib/maps.bpf.h"
#include "nodejs_eventloop.h"

/* Set before load: the turn histogram's upper bounds in ns (ascending), and how many. */
const volatile __u64 turn_bounds_ns[EL_MAX_BOUNDS] = {};
const volatile __u32 turn_nbounds = 0;

__u32 loops_marked = 0;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct el_loop);
} el_loops SEC(".maps");

/* One bit per pid, set by user space for the loops it marked: the first test of every switch is
 * an inlined array access, so tasks that are no loop never reach a task-storage lookup. Sized from
 * pid_max by user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} el_pid_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, EL_MAX_CGROUPS);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u64);
	__type(value, struct el_hist);
} el_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, EL_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} el_counters SEC(".maps");

static const struct el_hist zero_el_hist;

static __always_inline void el_record_turn(__u64 cgid, __u64 ns)
{
	struct el_hist *h = map_lookup_or_try_init(&el_cgroups, &cgid, &zero_el_hist);
	if (!h) {
		counter_inc(&el_counters, EL_COUNTER_HISTS_FULL);
		return;
	}
	__u32 b = hist_bucket_le(turn_bounds_ns, turn_nbounds, EL_MAX_BOUNDS, ns);
	if (b > EL_MAX_BOUNDS)
		b = EL_MAX_BOUNDS; /* for the verifier: hist_bucket_le never returns more */
	__sync_fetch_and_add(&h->buckets[b], 1);
	__sync_fetch_and_add(&h->sum_ns, ns);
}

static __always_inline void el_poll_sleep(struct el_loop *l, __u64 now, __u64 cgid)
{
	if (l->state == EL_STATE_IDLE)
		return; /* a second sleep in the same poll (woken without events) */
	__u64 turn = l->state == EL_STATE_BUSY && now > l->since_ns ? now - l->since_ns : 0;
	if (l->state == EL_STATE_BUSY)
		el_record_turn(cgid, turn);
	l->seq++;
	if (l->state == EL_STATE_BUSY) {
		l->busy_ns += turn;
		l->turns++;
	}
	l->since_ns = now;
	l->cgroup_id = cgid;
	l->state = EL_STATE_IDLE;
	l->seq++;
}

static __always_inline void el_wake(struct el_loop *l, __u64 now)
{
	if (l->state != EL_STATE_IDLE)
		return; /* preempted in a turn, or not yet seen polling */
	l->seq++;
	l->since_ns = now;
	l->state = EL_STATE_BUSY;
	l->seq++;
}

#endif
