/* scrape_bench.c — the real HTTP server and writer serving a 10k-series page to wrk; CPU per
 * scrape. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/loop.h"
#include "exposition/expo.h"
#include "exposition/metrics.h"
#include "web/server.h"

struct bench {
	size_t nseries;
	struct buf scratch;
	unsigned long scrapes;
};

/* The same per-scrape work as the daemon: build a snapshot, render, maybe gzip, free. */
static void handle(void *arg, const struct web_request *req, struct web_response *resp)
{
	struct bench *b = arg;
	static const char *const labels[] = { "cgroup", "container_id", "pod_uid" };
	struct metric_snapshot *s = metric_snapshot_new();
	char path[96];

	struct metric_family *cpu =
		metric_family_get(s, "hostmon_cgroup_cpu_seconds_total", "CPU time of the cgroup.",
				  METRIC_COUNTER, 3, labels);
	struct metric_family *wait =
		metric_family_get(s, "hostmon_cgroup_cpu_runqueue_wait_seconds_total",
				  "Run-queue wait of the cgroup.", METRIC_COUNTER, 3, labels);
	for (size_t i = 0; i < b->nseries / 2; i++) {
		snprintf(path, sizeof(path), "/system.slice/app-%zu.service/worker-%zu", i / 10, i);
		const char *v[] = { path, "", "" };
		metric_add(cpu, v, (double)(i * 7919 % 100000) / 1000.0 + 0.123456);
		metric_add(wait, v, (double)(i * 104729 % 100000) / 1e6);
	}
	buf_reset(&b->scratch);
	struct buf *page = req->want_gzip ? &b->scratch : resp->body;
	int rc = expo_render(s, req->want_openmetrics ? EXPO_OPENMETRICS : EXPO_TEXT, page);
	if (!rc && req->want_gzip)
		rc = expo_gzip(page->data, page->len, resp->body);
	metric_snapshot_free(s);
	resp->status = rc ? 500 : 200;
	resp->content_type = EXPO_TEXT_CONTENT_TYPE;
	resp->content_encoding = req->want_gzip ? "gzip" : NULL;
	b->scrapes++;
}

static void on_wrk_exit(struct loop *l, int fd, uint32_t events, void *arg)
{
	(void)fd;
	(void)events;
	(void)arg;
	loop_stop(l);
}

static double cpu_seconds(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static double wall_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct bench b = { .nseries = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000 };
	const char *duration = argc > 2 ? argv[2] : "10s";
	int gzip = argc > 3 && strcmp(argv[3], "gzip") == 0;
	char err[256], url[128];
	struct web_settings opts = { .listen = (char *)"127.0.0.1:0",
				     .max_connections = 64,
				     .max_request_header_bytes = 8192,
				     .read_header_timeout_ms = 10000,
				     .idle_timeout_ms = 60000,
				     .write_timeout_ms = 30000,
				     .max_scrapes = 16,
				     .max_queued_bytes = 1ull << 30 };
	struct loop *l = loop_new();
	struct web_server *srv = web_server_new(l, &opts, handle, &b, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "scrape_bench: %s\n", err);
		return 1;
	}
	snprintf(url, sizeof(url), "http://%s/metrics", web_server_address(srv));

	int out[2];
	if (pipe(out))
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		/* one wrk thread: the other vCPU stays with the server being measured */
		execlp("wrk", "wrk", "-t1", "-c4", "-d", duration, "-H",
		       gzip ? "Accept-Encoding: gzip" : "Accept-Encoding: identity", url,
		       (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	struct loop_watch *w = loop_watch_add(l, pidfd, EPOLLIN, on_wrk_exit, NULL);
	if (pidfd < 0 || !w)
		return 1;

	double cpu0 = cpu_seconds(), wall0 = wall_seconds();
	loop_run(l);
	double cpu = cpu_seconds() - cpu0, wall = wall_seconds() - wall0;
	waitpid(pid, NULL, 0);

	char wrk_out[4096] = "";
	ssize_t n = read(out[0], wrk_out, sizeof(wrk_out) - 1);
	wrk_out[n > 0 ? n : 0] = '\0';
	char *errors = strstr(wrk_out, "Non-2xx");
	printf("scrape hostmon series=%zu encoding=%s scrapes=%lu scrapes_per_s=%.1f "
	       "server_cpu_ms_per_scrape=%.3f server_cores_at_200_per_s=%.3f%s\n",
	       b.nseries, gzip ? "gzip" : "identity", b.scrapes, b.scrapes / wall,
	       b.scrapes ? cpu * 1000 / b.scrapes : 0, b.scrapes ? cpu / b.scrapes * 200 : 0,
	       errors ? " (wrk saw non-2xx responses)" : "");
	loop_watch_del(l, w);
	close(pidfd);
	web_server_free(srv);
	loop_free(l);
	buf_free(&b.scratch);
	return errors ? 1 : 0;
}
