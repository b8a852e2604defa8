/* test_collector.c — the collector set with fake collectors: selection, contained failures, logs.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/collector.h"
#include "core/self.h"
#include "exposition/expo.h"
#include "exposition/metrics.h"
#include "lib/buf.h"
#include "test.h"

static const char *const collector_label[] = { "collector" };
static const char *const x_label[] = { "x" };

/* Every fake adds its own series to this family; "good" runs first and creates it. */
static void add_shared(struct metric_snapshot *s, const char *name)
{
	metric_add(metric_family_get(s, "fake_shared", "Shared.", METRIC_GAUGE, 1, collector_label),
		   &name, 1);
}

/* Its own family with one series x="1", value v. */
static void add_own(struct metric_snapshot *s, const char *family, double v)
{
	static const char *const one[] = { "1" };

	metric_add(metric_family_get(s, family, "Own.", METRIC_COUNTER, 1, x_label), one, v);
}

static int fake_init(const struct config *cfg, struct loop *loop, void **state, char *err,
		     size_t errlen)
{
	(void)cfg;
	(void)loop;
	(void)err;
	(void)errlen;
	*state = NULL;
	return 0;
}

static int good_collect(void *state, struct metric_snapshot *s)
{
	(void)state;
	add_own(s, "fake_good_total", 1);
	add_shared(s, "good");
	return 0;
}

static int eio_collect(void *state, struct metric_snapshot *s)
{
	(void)state;
	add_own(s, "fake_eio_total", 2);
	add_shared(s, "eio");
	return -EIO;
}

static int badname_collect(void *state, struct metric_snapshot *s)
{
	(void)state;
	add_own(s, "fake_badname_total", 3);
	add_shared(s, "badname");
	metric_add(metric_family_get(s, "fake bad name", "", METRIC_GAUGE, 0, NULL), NULL, 1);
	return 0;
}

/* Declares "good"'s family again with other labels, and returns 0 as if nothing happened. */
static int redeclare_collect(void *state, struct metric_snapshot *s)
{
	(void)state;
	add_own(s, "fake_redeclare_total", 4);
	add_shared(s, "redeclare");
	metric_add(metric_family_get(s, "fake_good_total", "", METRIC_COUNTER, 1, collector_label),
		   collector_label, 1);
	return 0;
}

/* Fails on the first scrape only. */
static int flaky_scrapes;

static int flaky_collect(void *state, struct metric_snapshot *s)
{
	(void)state;
	add_own(s, "fake_flaky_total", 5);
	return flaky_scrapes++ == 0 ? -ETIMEDOUT : 0;
}

static int nostart_init(const struct config *cfg, struct loop *loop, void **state, char *err,
			size_t errlen)
{
	(void)cfg;
	(void)loop;
	(void)state;
	snprintf(err, errlen, "no such device");
	return -ENODEV;
}

#define FAKE(n, init_fn, collect_fn)                                                     \
	{                                                                                \
		.name = n, .description = "fake", .init = init_fn, .collect = collect_fn \
	}

static const struct collector_ops good_ops = FAKE("good", fake_init, good_collect);
static const struct collector_ops eio_ops = FAKE("eio", fake_init, eio_collect);
static const struct collector_ops badname_ops = FAKE("badname", fake_init, badname_collect);
static const struct collector_ops redeclare_ops = FAKE("redeclare", fake_init, redeclare_collect);
static const struct collector_ops flaky_ops = FAKE("flaky", fake_init, flaky_collect);
static const struct collector_ops nostart_ops = FAKE("nostart", nostart_init, good_collect);

static const struct collector_ops *const table[] = {
	&good_ops, &eio_ops, &badname_ops, &redeclare_ops, &flaky_ops, &nostart_ops,
};
#define TABLE_LEN (sizeof(table) / sizeof(table[0]))

/* stderr into a temporary file while a scrape runs, to count the log lines. */
static int saved_stderr = -1;
static FILE *captured;

static void capture_begin(void)
{
	fflush(stderr);
	captured = tmpfile();
	saved_stderr = dup(2);
	if (captured && saved_stderr >= 0)
		dup2(fileno(captured), 2);
}

static void capture_end(char *out, size_t len)
{
	size_t n = 0;

	out[0] = '\0';
	if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
	if (captured) {
		rewind(captured);
		n = fread(out, 1, len - 1, captured);
		out[n] = '\0';
		fclose(captured);
		captured = NULL;
	}
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

static const struct collector *find(const struct collector_set *set, const char *name)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->items[i].ops->name, name) == 0)
			return &set->items[i];
	return NULL;
}

static int last_error(const struct collector_set *set, const char *name)
{
	const struct collector *c = find(set, name);

	return c ? c->last_error : 1;
}

static void test_select(void)
{
	struct config cfg;
	struct collector_set set;
	char err[256] = "";

	memset(&cfg, 0, sizeof(cfg));
	CHECK(collector_set_select(&set, table, TABLE_LEN, &cfg, err, sizeof(err)) == 0, "%s", err);
	CHECK(set.n == TABLE_LEN, "every fake by default: %zu", set.n);
	collector_set_destroy(&set);

	cfg.core.collectors = " eio,good , eio";
	CHECK(collector_set_select(&set, table, TABLE_LEN, &cfg, err, sizeof(err)) == 0, "%s", err);
	CHECK(set.n == 2 && set.items[0].ops == &eio_ops && set.items[1].ops == &good_ops,
	      "listed order, once each: %zu", set.n);
	collector_set_destroy(&set);

	cfg.core.collectors = "good,nope";
	CHECK(collector_set_select(&set, table, TABLE_LEN, &cfg, err, sizeof(err)) == -EINVAL,
	      "unknown name");
	CHECK(strstr(err, "\"nope\"") && strstr(err, "known: good, eio, badname"), "err: %s", err);
	CHECK(set.n == 0 && set.items == NULL, "nothing left selected");
	collector_set_destroy(&set);
	collector_set_destroy(NULL);
}

/* What serve_metrics does: the collectors, then self metrics in their own section, rendered. */
static int scrape(struct collector_set *set, struct buf *page)
{
	static int self_error;
	struct metric_snapshot *s = metric_snapshot_new();
	struct metric_section sec;
	int rc;

	buf_reset(page);
	collector_set_collect(set, s);
	metric_snapshot_begin_section(s, &sec);
	self_collect(s, set, NULL);
	collector_section_end(s, &sec, 0, "source", "self", &self_error);
	rc = metric_snapshot_error(s);
	if (!rc)
		rc = expo_render(s, EXPO_TEXT, page);
	buf_putc(page, '\0');
	metric_snapshot_free(s);
	return rc;
}

static void test_contained(void)
{
	struct config cfg;
	struct collector_set set;
	struct buf page;
	char err[256] = "", logs[8192];
	int rc;

	memset(&cfg, 0, sizeof(cfg));
	buf_init(&page);
	self_init();
	CHECK(collector_set_select(&set, table, TABLE_LEN, &cfg, err, sizeof(err)) == 0, "%s", err);
	capture_begin();
	size_t up = collector_set_start(&set, &cfg, NULL);
	capture_end(logs, sizeof(logs));
	CHECK(up == TABLE_LEN - 1, "all but nostart started: %zu", up);
	CHECK(count(logs, "collector failed to start") == 1 && strstr(logs, "collector=nostart"),
	      "logs: %s", logs);

	capture_begin();
	rc = scrape(&set, &page);
	capture_end(logs, sizeof(logs));
	const char *p = page.data;
	CHECK(rc == 0, "the page renders: %d", rc);
	CHECK(strstr(p, "fake_good_total{x=\"1\"} 1\n") != NULL, "good's family");
	CHECK(strstr(p, "fake_shared{collector=\"good\"} 1\n") != NULL, "good's shared series");
	CHECK(count(p, "fake_shared{") == 1, "only good's shared series:\n%s", p);
	CHECK(!strstr(p, "fake_eio") && !strstr(p, "fake_badname") &&
		      !strstr(p, "fake_redeclare") && !strstr(p, "fake_flaky"),
	      "the failed collectors' families are left out:\n%s", p);
	CHECK(strstr(p, "hostmon_collector_up{collector=\"good\"} 1\n") &&
		      strstr(p, "hostmon_collector_up{collector=\"eio\"} 0\n") &&
		      strstr(p, "hostmon_collector_up{collector=\"badname\"} 0\n") &&
		      strstr(p, "hostmon_collector_up{collector=\"redeclare\"} 0\n") &&
		      strstr(p, "hostmon_collector_up{collector=\"flaky\"} 0\n") &&
		      strstr(p, "hostmon_collector_up{collector=\"nostart\"} 0\n"),
	      "up per collector:\n%s", p);
	CHECK(strstr(p, "process_open_fds ") != NULL, "self metrics served");
	CHECK(last_error(&set, "good") == 0, "good");
	CHECK(last_error(&set, "eio") == -EIO, "eio: %d", last_error(&set, "eio"));
	CHECK(last_error(&set, "badname") == -EINVAL, "badname");
	CHECK(last_error(&set, "redeclare") == -EINVAL, "redeclare");
	CHECK(last_error(&set, "flaky") == -ETIMEDOUT, "flaky");
	CHECK(find(&set, "eio") && find(&set, "eio")->up, "a failing collect does not stop it");
	CHECK(count(logs, "collect failed") == 4, "one line per failing collector: %s", logs);
	CHECK(strstr(logs, "collector=badname") &&
		      strstr(logs, "reason=\"it appended an invalid metric family or series\""),
	      "a malformed family is named as the reason: %s", logs);

	/* Still failing: no new failure line; flaky recovers with one line and its metrics. */
	capture_begin();
	rc = scrape(&set, &page);
	capture_end(logs, sizeof(logs));
	p = page.data;
	CHECK(rc == 0, "second page: %d", rc);
	CHECK(count(logs, "collect failed") == 0, "no repeated failure lines: %s", logs);
	CHECK(count(logs, "collect recovered") == 1 && strstr(logs, "collector=flaky"),
	      "one recovery line: %s", logs);
	CHECK(strstr(p, "fake_flaky_total{x=\"1\"} 5\n") &&
		      strstr(p, "hostmon_collector_up{collector=\"flaky\"} 1\n"),
	      "flaky back:\n%s", p);
	CHECK(last_error(&set, "flaky") == 0, "flaky recovered");

	capture_begin();
	rc = scrape(&set, &page);
	capture_end(logs, sizeof(logs));
	CHECK(rc == 0 && logs[0] == '\0', "steady state logs nothing: %s", logs);

	collector_set_destroy(&set);
	buf_free(&page);
}

int main(void)
{
	test_select();
	test_contained();
	return test_summary("core/test_collector");
}
