/* test_window.c — two pages of the daemon joined by cgroup: deltas, resets, names, filter, split,
 * repeated label sets; and how the rows are marked and sorted. */
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report.h"
#include "cli/window.h"
#include "exposition/expo_parse.h"
#include "test.h"

#define NEAR(got, want) \
	CHECK(fabs((got) - (want)) < 1e-9, "got %.12g want %.12g", (double)(got), (double)(want))

#define CG(path, id) "{cgroup=\"" path "\",container_id=\"" id "\",pod_uid=\"\"}"
#define H(path, status, le)                                                                       \
	"{cgroup=\"" path "\",container_id=\"\",pod_uid=\"\",status_code=\"" status "\",le=\"" le \
	"\"}"
#define HS(path, status) \
	"{cgroup=\"" path "\",container_id=\"\",pod_uid=\"\",status_code=\"" status "\"}"

#define CTR "0123456789abcdef0123"

/* One sample a line: the formatter would break the macros apart. */
/* clang-format off */
static const char before_page[] =
	"# TYPE hostmon_cgroup_cpu_seconds_total counter\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/", "") " 100\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/system.slice/php.service", "") " 10\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/docker/" CTR, CTR) " 50\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/app", "") " 7\n"
	"# TYPE hostmon_cgroup_cpu_runqueue_wait_seconds_total counter\n"
	"hostmon_cgroup_cpu_runqueue_wait_seconds_total" CG("/app", "") " 1\n"
	"# TYPE hostmon_cgroup_cpu_throttled_seconds_total counter\n"
	"hostmon_cgroup_cpu_throttled_seconds_total" CG("/app", "") " 2\n"
	"# TYPE hostmon_cgroup_cpu_limit_cores gauge\n"
	"hostmon_cgroup_cpu_limit_cores" CG("/app", "") " 0.5\n"
	"# TYPE hostmon_http_server_request_duration_seconds histogram\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "200", "0.1") " 10\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "200", "1") " 10\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "200", "+Inf") " 10\n"
	"hostmon_http_server_request_duration_seconds_sum" HS("/app", "200") " 0.5\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "503", "0.1") " 5\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "503", "1") " 5\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "503", "+Inf") " 5\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "0.1") " 1\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "1") " 1\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "+Inf") " 1\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "0.1") " 1\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "1") " 1\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "+Inf") " 1\n"
	"# TYPE hostmon_http_latency_target_processes gauge\n"
	"hostmon_http_latency_target_processes 3\n";

/* 2 s later: /app used 1 s of CPU, waited 0.25 s, was throttled 0.5 s; 20 more 200s (10 in
 * (0.1, 1], 10 above 1), the 503 series restarted at 1; php's counter went down (a restarted
 * daemon); the unnamed series repeated twice, each with one more request; a new cgroup, and one
 * whose path holds an escape byte. */
static const char after_page[] =
	"# TYPE hostmon_cgroup_cpu_seconds_total counter\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/", "") " 103\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/system.slice/php.service", "") " 0.4\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/docker/" CTR, CTR) " 50.5\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/app", "") " 8\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/new", "") " 0.2\n"
	"hostmon_cgroup_cpu_seconds_total" CG("/evil\x1b[2J", "") " 1\n"
	"# TYPE hostmon_cgroup_cpu_runqueue_wait_seconds_total counter\n"
	"hostmon_cgroup_cpu_runqueue_wait_seconds_total" CG("/app", "") " 1.25\n"
	"# TYPE hostmon_cgroup_cpu_throttled_seconds_total counter\n"
	"hostmon_cgroup_cpu_throttled_seconds_total" CG("/app", "") " 2.5\n"
	"# TYPE hostmon_cgroup_cpu_limit_cores gauge\n"
	"hostmon_cgroup_cpu_limit_cores" CG("/app", "") " 0.5\n"
	"# TYPE hostmon_http_server_request_duration_seconds histogram\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "200", "0.1") " 10\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "200", "1") " 20\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "200", "+Inf") " 30\n"
	"hostmon_http_server_request_duration_seconds_sum" HS("/app", "200") " 30.5\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "503", "0.1") " 1\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "503", "1") " 1\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("/app", "503", "+Inf") " 1\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "0.1") " 2\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "1") " 2\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "+Inf") " 2\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "0.1") " 2\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "1") " 2\n"
	"hostmon_http_server_request_duration_seconds_bucket" H("", "200", "+Inf") " 2\n"
	"# TYPE hostmon_http_latency_target_processes gauge\n"
	"hostmon_http_latency_target_processes 3\n";
/* clang-format on */

/* A function, so a char array is compared through a pointer (CHECK_STR tests it for NULL). */
static void same_text(const char *got, const char *want)
{
	CHECK_STR(got, want);
}

static struct metric_snapshot *page(const char *text)
{
	struct metric_snapshot *s = metric_snapshot_new();
	char err[256] = "";

	CHECK(expo_parse_text(text, strlen(text), s, err, sizeof(err)) == 0, "page: %s", err);
	return s;
}

static const struct cgroup_row *row(const struct window *w, const char *path)
{
	for (size_t i = 0; i < w->nrows; i++)
		if (strcmp(w->rows[i].path, path) == 0)
			return &w->rows[i];
	return NULL;
}

static void test_window(void)
{
	struct metric_snapshot *a = page(before_page), *b = page(after_page);
	struct window w;
	char err[256] = "";

	CHECK(window_compute(&w, a, b, 2, NULL, NULL, err, sizeof(err)) == 0, "window: %s", err);
	CHECK(w.has_host, "the root is the host");
	NEAR(w.host_cores, 1.5);
	NEAR(w.http_targets, 3);
	CHECK(row(&w, "/") == NULL, "the root is not a row");
	CHECK(w.nrows == 6, "rows: %zu", w.nrows);
	const struct cgroup_row *evil = row(&w, "/evil\x1b[2J");
	CHECK(evil && strcmp(evil->name, "/evil?[2J") == 0,
	      "an escape byte in a path is not sent to the terminal: %s", evil ? evil->name : "");

	const struct cgroup_row *app = row(&w, "/app");
	if (app) {
		NEAR(app->cores, 0.5);
		NEAR(app->wait_ms_per_s, 125);
		/* runnable for 1.25 s (1 s on a CPU, 0.25 s queued): 200 ms queued per task-second
		 */
		NEAR(app->wait_ms_per_task_s, 200);
		NEAR(app->throttled_ratio, 0.25);
		NEAR(app->limit_ratio, 1);
		/* 20 new 200s and a 503 series that restarted at 1: 21 requests, 1 error */
		CHECK(app->http.count == 21 && app->http.errors_5xx == 1,
		      "requests %llu errors %llu", (unsigned long long)app->http.count,
		      (unsigned long long)app->http.errors_5xx);
		NEAR(app->req_per_s, 10.5);
		NEAR(app->error_ratio, 1.0 / 21);
		/* buckets: 1 in (0, 0.1], 10 in (0.1, 1], 10 above 1; rank 10.5 -> 0.1 + 0.9
		 * * 9.5/10 */
		NEAR(app->q.p50, 0.1 + 0.9 * 0.95);
		CHECK(!app->q.beyond50 && app->q.beyond99, "p99 past the last bound");
		NEAR(app->q.p99, 1);
		NEAR(app->http.sum, 30);
		CHECK(strcmp(app->name, "/app") == 0, "a plain path is its own name: %s",
		      app->name);
	} else {
		CHECK(0, "no /app row");
	}
	const struct cgroup_row *php = row(&w, "/system.slice/php.service");
	if (php) {
		NEAR(php->cpu_seconds, 0.4); /* went down: counted from zero */
		CHECK(strcmp(php->name, "php.service") == 0, "a unit by its name: %s", php->name);
		CHECK(isnan(php->limit_ratio) && isnan(php->throttled_ratio) && isnan(php->q.p50),
		      "no limit, no throttling counter, no requests: NaN");
	} else {
		CHECK(0, "no php row");
	}
	const struct cgroup_row *ctr = row(&w, "/docker/" CTR);
	CHECK(ctr && strcmp(ctr->name, "ctr:0123456789ab") == 0, "a container by its short id: %s",
	      ctr ? ctr->name : "");
	const struct cgroup_row *fresh = row(&w, "/new");
	if (fresh)
		NEAR(fresh->cpu_seconds, 0.2); /* new in the window: from zero */
	const struct cgroup_row *unnamed = row(&w, "");
	CHECK(unnamed && unnamed->http.count == 2 && strcmp(unnamed->name, "(unnamed cgroup)") == 0,
	      "a repeated label set is added up before the delta: %llu",
	      unnamed ? (unsigned long long)unnamed->http.count : 0ull);

	/* marks: /app throttled 25% > 10%, waited 125 ms/s > 50, 5xx 4.8% > 1% */
	report_mark_unusual(&w, NULL);
	CHECK(app && app->unusual ==
			      (UNUSUAL_THROTTLED_BIT | UNUSUAL_WAIT_BIT | UNUSUAL_ERRORS_BIT),
	      "marks %u", app ? app->unusual : 0);
	CHECK(php && php->unusual == 0, "php unmarked");
	window_free(&w);

	/* no earlier page: everything counts from zero */
	CHECK(window_compute(&w, NULL, a, 1, NULL, NULL, err, sizeof(err)) == 0, "first page");
	app = row(&w, "/app");
	CHECK(app && app->http.count == 15 && app->cpu_seconds == 7, "from zero");
	window_free(&w);

	/* filter and split: only /app's series, by status */
	struct window_filter f = { .active = true };
	CHECK(regcomp(&f.re, "^/app$", REG_EXTENDED | REG_NOSUB) == 0, "regex");
	CHECK(window_compute(&w, a, b, 2, &f, "status_code", err, sizeof(err)) == 0, "filtered");
	CHECK(w.nrows == 1 && strcmp(w.rows[0].path, "/app") == 0, "filter keeps /app only");
	CHECK(w.nsplit == 2, "two statuses: %zu", w.nsplit);
	for (size_t i = 0; i < w.nsplit; i++) {
		if (strcmp(w.split[i].value, "200") == 0)
			CHECK(w.split[i].http.count == 20, "200s: %llu",
			      (unsigned long long)w.split[i].http.count);
		else
			CHECK(strcmp(w.split[i].value, "503") == 0 && w.split[i].http.count == 1,
			      "503s");
	}
	window_free(&w);
	regfree(&f.re);
	window_free(&w); /* twice is harmless */
	metric_snapshot_free(a);
	metric_snapshot_free(b);
}

static void test_p99_history(void)
{
	struct p99_history h;
	struct window w = { .seconds = 1, .nbounds = 0 };
	struct cgroup_row r = { .path = "/svc", .name = "/svc" };

	CHECK(p99_history_init(&h, 1) == 0 && h.cap == 300, "5 minutes at 1 s: %zu", h.cap);
	w.rows = &r;
	w.nrows = 1;
	r.throttled_ratio = r.wait_ms_per_s = r.error_ratio = NAN;
	/* 10 windows at 100 ms build the median; not marked while it builds */
	for (int i = 0; i < UNUSUAL_P99_MIN_SAMPLES; i++) {
		r.q.p99 = 0.1;
		report_mark_unusual(&w, &h);
		CHECK(r.unusual == 0, "window %d unmarked", i);
	}
	r.q.p99 = 0.29; /* below 3 x 0.1 */
	report_mark_unusual(&w, &h);
	CHECK(r.unusual == 0, "2.9x the median is not unusual");
	r.q.p99 = 0.31;
	report_mark_unusual(&w, &h);
	CHECK(r.unusual == UNUSUAL_P99_BIT, "3.1x the median is: %u", r.unusual);
	r.q.p99 = NAN; /* a window without requests neither marks nor counts */
	report_mark_unusual(&w, &h);
	CHECK(r.unusual == 0, "no requests: unmarked");
	p99_history_free(&h);
}

static void test_sort_keys(void)
{
	enum sort_key k;
	char buf[32];

	CHECK(sort_key_from_letter('p', &k) == 0 && k == SORT_P99, "p");
	CHECK(sort_key_from_letter('x', &k) != 0, "x is no key");
	CHECK(sort_key_from_name("errors", &k) == 0 && k == SORT_ERRORS, "errors");
	CHECK(sort_key_from_name("bogus", &k) != 0, "bogus");
	CHECK_STR(sort_key_name(SORT_THROTTLED), "throttled");
	format_seconds(buf, sizeof(buf), 0.4975, false);
	same_text(buf, "498ms");
	format_seconds(buf, sizeof(buf), 0.0042, false);
	same_text(buf, "4.2ms");
	format_seconds(buf, sizeof(buf), 1.5, false);
	same_text(buf, "1.50s");
	format_seconds(buf, sizeof(buf), 10, true);
	same_text(buf, ">10s");
	format_seconds(buf, sizeof(buf), NAN, false);
	same_text(buf, "-");
}

static void test_best_names(void)
{
	char name[128];

	cgroup_best_name("/kubepods/burstable/podX/abc", "abc", "web-1", "nginx", "shop", name,
			 sizeof(name));
	same_text(name, "shop/web-1/nginx");
	cgroup_best_name("/x", "", "", "worker", "", name, sizeof(name));
	same_text(name, "worker");
	cgroup_best_name("/docker/" CTR "/sub", CTR, "", "", "", name, sizeof(name));
	same_text(name, "/docker/" CTR "/sub");
	cgroup_best_name("/system.slice/docker-" CTR ".scope", CTR, "", "", "", name, sizeof(name));
	same_text(name, "ctr:0123456789ab");
	cgroup_best_name("/user.slice", "", "", "", "", name, sizeof(name));
	same_text(name, "user.slice");
	cgroup_best_name("/a/b", "", "", "", "", name, sizeof(name));
	same_text(name, "/a/b");
}

int main(void)
{
	test_window();
	test_p99_history();
	test_sort_keys();
	test_best_names();
	return test_summary("test_window");
}
