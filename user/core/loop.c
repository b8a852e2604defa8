/* core/loop.c — the single epoll event loop: fd readiness callbacks and monotonic timers. */
#include "core/loop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "lib/clock.h"

#define LOOP_MAX_EVENTS 64

struct loop_watch {
	int fd;
	bool dead;
	loop_fd_fn fn;
	void *arg;
	struct loop_watch *next_dead;
};

struct loop_timer {
	uint64_t deadline_ms;
	uint64_t period_ms;
	bool dead;
	loop_timer_fn fn;
	void *arg;
	struct loop_timer *next;
};

struct loop {
	int epfd;
	bool stop;
	struct loop_watch *graveyard; /* deleted watches freed after the current batch */
	struct loop_timer *timers;    /* few timers: a list scanned per iteration is enough */
};

uint64_t loop_now_ms(void)
{
	return clock_monotonic_ms();
}

struct loop *loop_new(void)
{
	struct loop *l = calloc(1, sizeof(*l));
	if (!l)
		return NULL;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0) {
		int saved = errno;
		free(l);
		errno = saved;
		return NULL;
	}
	return l;
}

static void bury(struct loop *l)
{
	while (l->graveyard) {
		struct loop_watch *w = l->graveyard;
		l->graveyard = w->next_dead;
		free(w);
	}
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	bury(l);
	while (l->timers) {
		struct loop_timer *t = l->timers;
		l->timers = t->next;
		free(t);
	}
	close(l->epfd);
	free(l);
}

struct loop_watch *loop_watch_add(struct loop *l, int fd, uint32_t events, loop_fd_fn fn, void *arg)
{
	struct loop_watch *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->fd = fd;
	w->fn = fn;
	w->arg = arg;
	struct epoll_event ev = { .events = events, .data.ptr = w };
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int saved = errno;
		free(w);
		errno = saved;
		return NULL;
	}
	return w;
}

int loop_watch_mod(struct loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(l->epfd, EPOLL_CTL_MOD, w->fd, &ev) < 0 ? -errno : 0;
}

void loop_watch_del(struct loop *l, struct loop_watch *w)
{
	if (!w || w->dead)
		return;
	/* The fd may already be closed by the owner; the kernel then dropped it itself. */
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->dead = true;
	w->next_dead = l->graveyard;
	l->graveyard = w;
}

struct loop_timer *loop_timer_add(struct loop *l, uint64_t delay_ms, uint64_t period_ms,
				  loop_timer_fn fn, void *arg)
{
	struct loop_timer *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->deadline_ms = loop_now_ms() + delay_ms;
	t->period_ms = period_ms;
	t->fn = fn;
	t->arg = arg;
	t->next = l->timers;
	l->timers = t;
	return t;
}

void loop_timer_del(struct loop *l, struct loop_timer *t)
{
	(void)l;
	if (t)
		t->dead = true; /* unlinked and freed by run_timers */
}

/* Runs due timers, drops dead ones, and returns the epoll timeout until the next deadline. */
static int run_timers(struct loop *l)
{
	uint64_t now = loop_now_ms();

	for (struct loop_timer *t = l->timers; t; t = t->next) {
		if (t->dead || t->deadline_ms > now)
			continue;
		if (t->period_ms) {
			t->deadline_ms += t->period_ms;
			/* after a long stall, skip missed periods instead of firing in a burst */
			if (t->deadline_ms <= now)
				t->deadline_ms = now + t->period_ms;
		} else {
			t->dead = true;
		}
		t->fn(l, t->arg);
		if (l->stop)
			break;
	}

	uint64_t next = UINT64_MAX;
	struct loop_timer **pp = &l->timers;
	while (*pp) {
		struct loop_timer *t = *pp;
		if (t->dead) {
			*pp = t->next;
			free(t);
			continue;
		}
		if (t->deadline_ms < next)
			next = t->deadline_ms;
		pp = &t->next;
	}
	if (next == UINT64_MAX)
		return -1;
	now = loop_now_ms();
	return next <= now ? 0 : (int)(next - now > 60000 ? 60000 : next - now);
}

int loop_run(struct loop *l)
{
	struct epoll_event events[LOOP_MAX_EVENTS];

	l->stop = false;
	while (!l->stop) {
		int timeout = run_timers(l);
		if (l->stop)
			break;
		int n = epoll_wait(l->epfd, events, LOOP_MAX_EVENTS, timeout);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !l->stop; i++) {
			struct loop_watch *w = events[i].data.ptr;
			if (!w->dead)
				w->fn(l, w->fd, events[i].events, w->arg);
		}
		bury(l);
	}
	bury(l);
	return 0;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}
