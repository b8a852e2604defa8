/* core/daemon.c — runs hostmon: event loop, HTTP endpoints, collectors, signals. */
#include "core/daemon.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "cgroup_cpu/cgroup_cpu.h"
#include "core/collector.h"
#include "core/host_check.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/privilege.h"
#include "core/self.h"
#include "core/version.h"
#include "exposition/expo.h"
#include "exposition/metrics.h"
#include "lib/bpf_util.h"
#include "restart/restart.h"
#include "status/status.h"
#include "web/server.h"
#include "web/status.h"

struct daemon {
	const struct config *cfg;
	struct loop *loop;
	struct web_server *http;
	struct collector_set collectors;
	struct restart_ctl *restart; /* NULL without rules */
	struct buf scratch;	     /* a piece of the text page on its way into gzip */
	struct host_status host;     /* BPF prerequisites found at start, for /readyz */
	/* the last collect results of the sources that are not collectors: failures log once */
	int restart_error, self_error;
	int exit_code;
};

static bool path_is(const struct web_request *req, const char *path)
{
	return req->path_len == strlen(path) && memcmp(req->path, path, req->path_len) == 0;
}

/* What one rendering of /metrics needs: the render callback's argument. */
struct metrics_render {
	struct daemon *d;
	enum expo_format fmt;
};

static int gzip_take(void *arg, const char *data, size_t len)
{
	return expo_gzip_write(arg, data, len, false);
}

/* Compressed as it is written: memory holds the gzip page and a piece of the text, never the
 * text whole (tens of MB at 50,000 RabbitMQ queues, thirty times the compressed page). */
static int render_gzip(const struct metric_snapshot *snap, enum expo_format fmt,
		       struct buf *scratch, struct buf *out)
{
	struct expo_gzip *z = expo_gzip_begin(out);
	struct expo_sink sink = { gzip_take, z };

	if (!z)
		return -errno;
	buf_reset(scratch);
	int rc = expo_render_to(snap, fmt, scratch, &sink);
	if (!rc)
		rc = expo_gzip_write(z, NULL, 0, true);
	expo_gzip_free(z);
	return rc;
}

/* Collects every source into one snapshot and renders it: the page is all of one moment. */
static int render_metrics(void *arg, struct buf *out)
{
	struct metrics_render *mr = arg;
	struct daemon *d = mr->d;
	struct metric_snapshot *snap = metric_snapshot_new();
	struct metric_section sec;
	struct web_server_stats stats;
	int rc = snap ? 0 : -ENOMEM;

	/* Each source in its own section: one that fails loses its metrics, not the page. */
	if (!rc) {
		collector_set_collect(&d->collectors, snap);
		if (d->restart) {
			metric_snapshot_begin_section(snap, &sec);
			restart_ctl_collect(d->restart, snap);
			collector_section_end(snap, &sec, 0, "source", "restart",
					      &d->restart_error);
		}
		web_server_get_stats(d->http, &stats);
		metric_snapshot_begin_section(snap, &sec);
		self_collect(snap, &d->collectors, &stats);
		collector_section_end(snap, &sec, 0, "source", "self", &d->self_error);
		rc = metric_snapshot_error(snap);
	}
	if (!rc)
		rc = render_gzip(snap, mr->fmt, &d->scratch, out);
	metric_snapshot_free(snap);
	/* a page with one huge line should not pin its memory between scrapes */
	if (d->scratch.cap > (1u << 20)) {
		buf_free(&d->scratch);
		buf_init(&d->scratch);
	}
	return rc;
}

/*
 * Concurrent scrapes of one format share one page (web_server_serve_page), so a client that never
 * reads holds a reference, not a copy. The page is always gzip: a client that does not take it
 * gets its text inflated on the way out, so the text of a big page is never held whole.
 */
static void serve_metrics(struct daemon *d, const struct web_request *req,
			  struct web_response *resp)
{
	struct metrics_render mr = { .d = d,
				     .fmt = req->want_openmetrics ? EXPO_OPENMETRICS : EXPO_TEXT };
	int rc = web_server_serve_page(d->http, resp, (unsigned)mr.fmt, render_metrics, &mr);

	if (rc == -EBUSY || rc == -ENOBUFS)
		return; /* refused: resp is the server's 503 */
	if (rc) {
		log_error("cannot render metrics", "reason", strerror(-rc));
		buf_reset(resp->body);
		buf_puts(resp->body, "cannot render metrics\n");
		resp->status = 500;
		resp->content_type = "text/plain; charset=utf-8";
		return;
	}
	resp->status = 200;
	resp->content_type =
		mr.fmt == EXPO_OPENMETRICS ? EXPO_OPENMETRICS_CONTENT_TYPE : EXPO_TEXT_CONTENT_TYPE;
	resp->content_encoding = req->want_gzip ? "gzip" : NULL;
	resp->decode = !req->want_gzip;
	resp->extra_headers = "Vary: Accept, Accept-Encoding\r\n";
}

static void serve_readyz(struct daemon *d, struct web_response *resp)
{
	bool ready = true;

	for (size_t i = 0; i < d->collectors.n; i++) {
		const struct collector *c = &d->collectors.items[i];
		char why[256];
		bool working = collector_working(c, why, sizeof(why));
		buf_printf(resp->body, "%s %s%s%s\n", c->ops->name, working ? "up" : "down",
			   working ? "" : ": ", working ? "" : why);
		ready = ready && working;
	}
	if (!ready) {
		char missing[256];
		host_status_explain(&d->host, missing, sizeof(missing));
		if (*missing)
			buf_printf(resp->body, "host: %s\n", missing);
	}
	buf_puts(resp->body, ready ? "ready\n" : "not ready\n");
	resp->status = ready ? 200 : 503;
	resp->content_type = "text/plain; charset=utf-8";
}

/*
 * The status page (/) and /status.json: one model filled by every source, each from a
 * consistent view of its own state (on this thread; the RabbitMQ poller's under its lock).
 */
static void serve_status(struct daemon *d, struct web_response *resp, bool json)
{
	struct status_model *m = status_model_new();
	int rc = m ? 0 : -ENOMEM;

	if (!rc) {
		self_status(m, &d->collectors);
		collector_set_status(&d->collectors, m);
		if (d->restart)
			restart_ctl_status(d->restart, m);
		rc = json ? status_to_json(m, resp->body) : web_status_render_html(m, resp->body);
	}
	status_model_free(m);
	if (rc) {
		log_error("cannot render the status", "reason", strerror(-rc));
		buf_reset(resp->body);
		buf_puts(resp->body, "cannot render the status\n");
		resp->status = 500;
		return;
	}
	resp->status = 200;
	resp->content_type = json ? "application/json" : "text/html; charset=utf-8";
	resp->extra_headers = "Cache-Control: no-store\r\n";
}

static void handle_request(void *arg, const struct web_request *req, struct web_response *resp)
{
	struct daemon *d = arg;
	static const char *const paths[] = { "/", "/metrics", "/healthz", "/readyz",
					     "/status.json" };
	bool known = false;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		known = known || path_is(req, paths[i]);
	resp->content_type = "text/plain; charset=utf-8";
	if (!known) {
		resp->status = 404;
		buf_puts(resp->body, "not found\n");
		return;
	}
	if (req->method == WEB_OTHER) {
		resp->status = 405;
		resp->extra_headers = "Allow: GET, HEAD\r\n";
		buf_puts(resp->body, "method not allowed\n");
		return;
	}
	if (path_is(req, "/metrics")) {
		serve_metrics(d, req, resp);
	} else if (path_is(req, "/healthz")) {
		resp->status = 200;
		buf_puts(resp->body, "ok\n");
	} else if (path_is(req, "/readyz")) {
		serve_readyz(d, resp);
	} else {
		serve_status(d, resp, path_is(req, "/status.json"));
	}
}

static void on_signal(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;
	(void)events;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
			char name[32];
			log_info("stopping", "signal",
				 restart_signal_name((int)si.ssi_signo, name, sizeof(name)));
			loop_stop(l);
		} else if (si.ssi_signo == SIGHUP) {
			if (d->restart)
				restart_ctl_reload(d->restart);
			else
				log_info("SIGHUP received; no restart rules to reload (they are "
					 "read at start when the config file has any)");
		}
	}
}

int daemon_run(const struct config *cfg, struct collector_set *collectors,
	       struct restart_rules *rules)
{
	struct daemon d = { .cfg = cfg, .collectors = *collectors, .exit_code = 1 };
	struct loop_watch *sig_watch = NULL;
	int sig_fd = -1, stats_fd = -1;
	char err[512] = "";
	sigset_t mask;

	/* Signals arrive through signalfd; block them before any thread could start. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);

	log_info("starting", "version", HOSTMON_VERSION);
	if (self_init())
		log_warn("cannot read /proc/self/stat; process start time will be 0");
	bpf_util_route_libbpf_log();

	d.loop = loop_new();
	sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (!d.loop || sig_fd < 0) {
		log_error("cannot create the event loop", "reason", strerror(errno));
		goto out;
	}
	sig_watch = loop_watch_add(d.loop, sig_fd, EPOLLIN, on_signal, &d);
	if (!sig_watch) {
		log_error("cannot watch signals", "reason", strerror(errno));
		goto out;
	}

	host_check(&d.host, collector_set_uses_bpf(&d.collectors));
	if (cfg->core.bpf_stats) {
		stats_fd = bpf_util_stats_enable();
		if (stats_fd < 0) {
			log_warn("cannot enable BPF run-time statistics", "reason",
				 strerror(-stats_fd));
			stats_fd = -1;
		} else {
			log_info("BPF run-time statistics enabled while hostmon runs");
		}
	}

	d.http = web_server_new(d.loop, &cfg->web, handle_request, &d, err, sizeof(err));
	if (!d.http) {
		log_error("cannot start the HTTP server", "reason", err);
		goto out;
	}

	size_t up = collector_set_start(&d.collectors, cfg, d.loop);
	struct log_num n_up = { { 0 } }, n_all = { { 0 } };
	if (up == 0 && d.collectors.n > 0) {
		/* nothing to serve: fail, so Restart=on-failure and crash-loop alerts see it */
		log_error("no collector could start; exiting", "collectors",
			  log_u64(&n_all, d.collectors.n), "hint",
			  "each failure is logged above; --collectors chooses which run");
		goto out;
	}
	if (rules->n) {
		size_t nrules = rules->n;
		d.restart =
			restart_ctl_new(d.loop, rules, cgroup_cpu_running(&d.collectors),
					cfg->core.config_file, !cfg->core.insecure_allow_writable);
		if (!d.restart) {
			log_error("cannot start the restart controller", "reason", strerror(errno));
			goto out;
		}
		struct log_num n_rules;
		log_info("restart controller running", "rules", log_u64(&n_rules, nrules));
	}

	/* everything that needs more than the kept capabilities has happened */
	if (privilege_reduce(cfg->core.seccomp, err, sizeof(err))) {
		log_error("cannot reduce privileges; exiting", "reason", err, "hint",
			  "--seccomp=false if the filter is the cause (docs/security.md)");
		goto out;
	}
	/* after the reduction: whoever waits for this line sees the reduced daemon */
	log_info("listening", "address", web_server_address(d.http), "collectors_up",
		 log_u64(&n_up, up), "collectors", log_u64(&n_all, d.collectors.n));
	self_log_bpf_map_memory(&d.collectors);
	int rc = loop_run(d.loop);
	if (rc) {
		log_error("event loop failed", "reason", strerror(-rc));
		goto out;
	}
	d.exit_code = 0;
out:
	restart_ctl_free(d.restart);
	collector_set_destroy(&d.collectors);
	*collectors = d.collectors;
	web_server_free(d.http);
	if (d.loop)
		loop_watch_del(d.loop, sig_watch);
	loop_free(d.loop);
	if (sig_fd >= 0)
		close(sig_fd);
	if (stats_fd >= 0)
		close(stats_fd);
	buf_free(&d.scratch);
	if (d.exit_code == 0)
		log_info("stopped");
	return d.exit_code;
}
