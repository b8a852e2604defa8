/* cli/source.c — a running daemon's page, or the same collectors loaded here when none runs. */
#include "cli/source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cli/scrape.h"
#include "cli/term.h"
#include "core/collector.h"
#include "core/config.h"
#include "core/host_check.h"
#include "core/log.h"
#include "core/loop.h"
#include "lib/bpf_util.h"
#include "lib/clock.h"

/* how often a wait looks at term_stop: signals do not end epoll_wait in the loop */
#define STOP_CHECK_MS 100

extern char **environ;

struct source {
	const struct cli_source_settings *src;
	bool standalone;
	struct loop *loop;
	struct config cfg;
	struct collector_set collectors;
	char describe[512];
	/* the wait in progress */
	struct loop_timer *deadline; /* NULL once fired: the loop frees a one-shot timer itself */
	bool (*on_key)(void *arg, int c);
	void *arg;
	bool ended;
};

/* The collectors as the daemon would run them, with its settings from the environment. */
static int load_collectors(struct source *s, char *err, size_t errlen)
{
	char *argv[] = { "hostmon", "--collectors", "cgroup_cpu,http_latency", NULL };
	struct host_status host;
	char why[512] = "";

	if (config_load(&s->cfg, 3, argv, environ, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "the collectors' settings: %s", why);
		return -EINVAL;
	}
	/* only errors: the live view owns the terminal */
	log_setup(LOG_ERROR, s->cfg.core.log_format);
	bpf_util_route_libbpf_log();
	if (collector_set_select(&s->collectors, collector_table, collector_table_len, &s->cfg, why,
				 sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		return -EINVAL;
	}
	host_check(&host, collector_set_uses_bpf(&s->collectors));
	s->loop = loop_new();
	if (!s->loop)
		return -errno;
	size_t up = collector_set_start(&s->collectors, &s->cfg, s->loop);
	if (up == 0) {
		host_status_explain(&host, why, sizeof(why));
		snprintf(err, errlen, "and the collectors cannot be loaded here: %s",
			 *why ? why
			      : "each failed to start (the lines above say why; loading them "
				"needs root, or CAP_BPF and CAP_PERFMON)");
		return -EPERM;
	}
	snprintf(s->describe, sizeof(s->describe),
		 "standalone: %zu of %zu collectors loaded by this command (no daemon at %s)", up,
		 s->collectors.n, s->src->url);
	return 0;
}

int source_read(struct source *s, struct metric_snapshot **out, double *at, char *err,
		size_t errlen)
{
	if (!s->standalone)
		return scrape_daemon(s->src->url, s->src->timeout_ms, &term_stop, out, at, err,
				     errlen);
	struct metric_snapshot *snap = metric_snapshot_new();
	if (!snap) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	/* the same families the daemon's page would have, without the text in between */
	collector_set_collect(&s->collectors, snap);
	*at = clock_monotonic_seconds();
	*out = snap;
	return 0;
}

int source_open(struct source **out, const struct cli_source_settings *src,
		struct metric_snapshot **first, double *at, char *err, size_t errlen)
{
	struct source *s = calloc(1, sizeof(*s));
	char daemon_err[512];
	int rc;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->src = src;
	/* the event loop also paces the daemon mode's waits */
	s->loop = loop_new();
	if (!s->loop) {
		free(s);
		snprintf(err, errlen, "cannot create an event loop: %s", strerror(errno));
		return -ENOMEM;
	}
	snprintf(s->describe, sizeof(s->describe), "daemon %s", src->url);
	rc = scrape_daemon(src->url, src->timeout_ms, &term_stop, first, at, daemon_err,
			   sizeof(daemon_err));
	if (rc == -ECONNREFUSED) {
		loop_free(s->loop);
		s->loop = NULL;
		s->standalone = true;
		rc = load_collectors(s, err, errlen);
		if (rc) {
			/* both ways failed: say both */
			char mine[512];
			snprintf(mine, sizeof(mine), "%s", err);
			snprintf(err, errlen, "no hostmon daemon at %s (connection refused), %s",
				 src->url, mine);
		} else {
			rc = source_read(s, first, at, err, errlen);
		}
	} else if (rc) {
		snprintf(err, errlen, "%s", daemon_err);
	}
	if (rc) {
		source_close(s);
		return rc;
	}
	*out = s;
	return 0;
}

static void on_deadline(struct loop *l, void *arg)
{
	struct source *s = arg;

	s->deadline = NULL;
	loop_stop(l);
}

static void on_stop_check(struct loop *l, void *arg)
{
	struct source *s = arg;
	if (atomic_load(&term_stop)) {
		s->ended = true;
		loop_stop(l);
	}
}

static void on_input(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct source *s = arg;
	unsigned char c;
	(void)events;

	ssize_t n = read(fd, &c, 1);
	if (n == 1 && s->on_key && !s->on_key(s->arg, c)) {
		s->ended = true;
		loop_stop(l);
	}
}

bool source_wait(struct source *s, double until, int key_fd, bool (*on_key)(void *arg, int c),
		 void *arg)
{
	double left = until - clock_monotonic_seconds();

	if (atomic_load(&term_stop))
		return false;
	if (left <= 0)
		return true;
	s->on_key = on_key;
	s->arg = arg;
	s->ended = false;
	s->deadline = loop_timer_add(s->loop, (uint64_t)(left * 1000) + 1, 0, on_deadline, s);
	struct loop_timer *check =
		loop_timer_add(s->loop, STOP_CHECK_MS, STOP_CHECK_MS, on_stop_check, s);
	struct loop_watch *keys =
		key_fd >= 0 ? loop_watch_add(s->loop, key_fd, EPOLLIN, on_input, s) : NULL;
	if (!s->deadline || !check || (key_fd >= 0 && !keys)) {
		/* no timers: wait without the loop rather than spin */
		usleep((useconds_t)(left * 1e6));
	} else {
		loop_run(s->loop);
	}
	loop_timer_del(s->loop, s->deadline); /* still pending when a key or a signal ended it */
	s->deadline = NULL;
	loop_timer_del(s->loop, check);
	loop_watch_del(s->loop, keys);
	return !s->ended && !atomic_load(&term_stop);
}

const char *source_mode(const struct source *s)
{
	return s->standalone ? "standalone" : "daemon";
}

const char *source_describe(const struct source *s)
{
	return s->describe;
}

void source_close(struct source *s)
{
	if (!s)
		return;
	collector_set_destroy(&s->collectors);
	loop_free(s->loop);
	config_free(&s->cfg);
	free(s);
}
