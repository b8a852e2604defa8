/* core/loop.h — the single epoll event loop: fd readiness callbacks and monotonic timers. */
#ifndef HOSTMON_CORE_LOOP_H
#define HOSTMON_CORE_LOOP_H

#include <stdint.h>

/*
 * API:
 *   loop_watch_add() registers fd for events (EPOLLIN/EPOLLOUT, level
 *   triggered) and returns a handle; loop_watch_del() removes it. A watch
 *   may be deleted from inside any callback, including its own: it is
 *   freed only after the current batch of events, and callbacks for it
 *   that are still queued in that batch are skipped.
 *
 *   Timers fire on CLOCK_MONOTONIC with millisecond resolution; a periodic
 *   timer re-arms from its previous deadline (no drift). loop_timer_del()
 *   is safe from callbacks, including the timer's own.
 *
 *   loop_run() blocks in epoll_wait until loop_stop() is called; 0 or -errno.
 */

struct loop;
struct loop_watch;
struct loop_timer;

typedef void (*loop_fd_fn)(struct loop *l, int fd, uint32_t events, void *arg);
typedef void (*loop_timer_fn)(struct loop *l, void *arg);

struct loop *loop_new(void); /* NULL + errno */
void loop_free(
	struct loop *l); /* accepts NULL; frees remaining watches and timers, not their fds */

struct loop_watch *loop_watch_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn,
				  void *arg);
int loop_watch_mod(struct loop *l, struct loop_watch *w, uint32_t events);
void loop_watch_del(struct loop *l, struct loop_watch *w); /* accepts NULL */

struct loop_timer *loop_timer_add(struct loop *l, uint64_t delay_ms, uint64_t period_ms,
				  loop_timer_fn fn, void *arg);
void loop_timer_del(struct loop *l, struct loop_timer *t); /* accepts NULL */

int loop_run(struct loop *l);
void loop_stop(struct loop *l);
uint64_t loop_now_ms(void); /* CLOCK_MONOTONIC in ms */

#endif
