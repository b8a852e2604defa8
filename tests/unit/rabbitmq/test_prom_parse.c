/* test_prom_parse.c — the rabbitmq_prometheus plugin's /metrics/detailed page to queue records:
 * unescaped odd names, pieces of any size, all or nothing on bad pages. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rabbitmq/prom_parse.h"
#include "test.h"

/* As the 3.10.8 plugin writes it (label values unescaped), for vhost 'v "x" \ ü'. */
static const char odd_page[] =
	"# TYPE rabbitmq_detailed_queue_messages_ready gauge\n"
	"# HELP rabbitmq_detailed_queue_messages_ready Messages ready to be delivered to "
	"consumers\n"
	"rabbitmq_detailed_queue_messages_ready{vhost=\"v \"x\" \\ \xc3\xbc\",queue=\"plain\"} 3\n"
	"rabbitmq_detailed_queue_messages_ready{vhost=\"v \"x\" \\ "
	"\xc3\xbc\",queue=\"a,b}c=\"d\"\"} "
	"0\n"
	"rabbitmq_detailed_queue_messages_ready{vhost=\"v \"x\" \\ \xc3\xbc\",queue=\"q \"} 1\"} "
	"7\n"
	"# TYPE rabbitmq_detailed_queue_messages_unacked gauge\n"
	"rabbitmq_detailed_queue_messages_unacked{vhost=\"v \"x\" \\ \xc3\xbc\",queue=\"plain\"} "
	"2\n"
	"rabbitmq_detailed_queue_messages_unacked{vhost=\"v \"x\" \\ \xc3\xbc\",queue=\"plain\"} "
	"9\n"
	"# TYPE rabbitmq_detailed_queue_messages gauge\n"
	"rabbitmq_detailed_queue_messages{vhost=\"v \"x\" \\ \xc3\xbc\",queue=\"plain\"} 5\n"
	"rabbitmq_detailed_queue_messages{vhost=\"v \"x\" \\ \xc3\xbc\",queue=\"q \"} 1\"} -1\n"
	"# TYPE rabbitmq_detailed_queue_process_reductions_total counter\n"
	"rabbitmq_detailed_queue_process_reductions_total{vhost=\"v \"x\" \\ "
	"\xc3\xbc\",queue=\"plain\"} 9311\n"
	"# TYPE rabbitmq_detailed_queue_consumers gauge\n"
	"rabbitmq_detailed_queue_consumers{vhost=\"v \"x\" \\ \xc3\xbc\",queue=\"plain\"} 1\n"
	"# TYPE rabbitmq_identity_info untyped\n"
	"rabbitmq_identity_info{rabbitmq_node=\"rabbit@h1\",rabbitmq_cluster=\"c\","
	"rabbitmq_cluster_permanent_id=\"x\"} 1\n"
	"# TYPE telemetry_scrape_duration_seconds summary\n"
	"\n";

static const char odd_vhost[] = "v \"x\" \\ \xc3\xbc";

static const struct rmq_queue *find(const struct rmq_list *l, const char *name)
{
	for (size_t i = 0; i < l->len; i++)
		if (strcmp(l->items[i].name, name) == 0)
			return &l->items[i];
	return NULL;
}

/* Feeds body in pieces of step bytes; returns the first error, or finish's. */
static int parse_in_steps(const char *body, size_t len, size_t step, const char *vhost,
			  struct rmq_list *l, char *err, size_t errlen)
{
	struct rmq_prom_stream *s = rmq_prom_stream_new(l, vhost);
	int rc = s ? 0 : -ENOMEM;
	for (size_t i = 0; !rc && i < len; i += step)
		rc = rmq_prom_stream_feed(s, body + i, len - i < step ? len - i : step);
	if (!rc)
		rc = rmq_prom_stream_finish(s);
	if (s)
		snprintf(err, errlen, "%s", rmq_prom_stream_error(s));
	rmq_prom_stream_free(s);
	return rc;
}

static void test_odd_names(void)
{
	size_t steps[] = { 1, 2, 7, 64, sizeof(odd_page) };
	for (size_t k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
		struct rmq_list l = { 0 };
		char err[256];
		int rc = parse_in_steps(odd_page, sizeof(odd_page) - 1, steps[k], odd_vhost, &l,
					err, sizeof(err));
		CHECK(rc == 0, "step %zu: rc %d %s", steps[k], rc, err);
		CHECK(l.len == 3, "step %zu: %zu records", steps[k], l.len);
		const struct rmq_queue *p = find(&l, "plain");
		const struct rmq_queue *q = find(&l, "a,b}c=\"d\"");
		const struct rmq_queue *r = find(&l, "q \"} 1");
		CHECK(p && q && r, "step %zu: the three names", steps[k]);
		if (!p || !q || !r) {
			rmq_list_free(&l);
			continue;
		}
		CHECK_STR(p->vhost, odd_vhost);
		CHECK_STR(p->node, "rabbit@h1");
		CHECK_STR(r->node, "rabbit@h1");
		CHECK_STR(p->type, "");
		CHECK(p->durable == -1, "durable unknown");
		CHECK(p->v[RMQ_MESSAGES_READY] == 3 && p->v[RMQ_MESSAGES_UNACKED] == 2 &&
			      p->v[RMQ_MESSAGES] == 5 && p->v[RMQ_CONSUMERS] == 1,
		      "plain: %g %g %g %g (a repeated sample keeps the first)",
		      p->v[RMQ_MESSAGES_READY], p->v[RMQ_MESSAGES_UNACKED], p->v[RMQ_MESSAGES],
		      p->v[RMQ_CONSUMERS]);
		CHECK(p->present == ((1u << RMQ_MESSAGES) | (1u << RMQ_MESSAGES_READY) |
				     (1u << RMQ_MESSAGES_UNACKED) | (1u << RMQ_CONSUMERS)),
		      "plain present %x", p->present);
		CHECK(q->present == (1u << RMQ_MESSAGES_READY) && q->v[RMQ_MESSAGES_READY] == 0,
		      "a,b: present %x", q->present);
		CHECK(r->v[RMQ_MESSAGES_READY] == 7 && !(r->present & (1u << RMQ_MESSAGES)),
		      "q: ready 7, the negative count left out (%x)", r->present);
		rmq_list_free(&l);
	}
}

/* A bad page leaves the list as it was; err says which line and why. */
static void expect_refused(const char *what, const char *body, int want, const char *err_has)
{
	struct rmq_list l = { 0 };
	char err[256] = "";
	/* one record already there, from an earlier vhost: it must survive */
	int rc0 = parse_in_steps(odd_page, sizeof(odd_page) - 1, 4096, odd_vhost, &l, err,
				 sizeof(err));
	size_t before = l.len;
	int rc = parse_in_steps(body, strlen(body), 5, "/", &l, err, sizeof(err));
	CHECK(rc0 == 0 && rc == want, "%s: rc %d want %d (%s)", what, rc, want, err);
	CHECK(l.len == before, "%s: %zu records, want %zu", what, l.len, before);
	CHECK(strstr(err, err_has) != NULL, "%s: error [%s] lacks [%s]", what, err, err_has);
	CHECK(find(&l, "plain") && strcmp(find(&l, "plain")->node, "rabbit@h1") == 0,
	      "%s: the earlier records intact", what);
	rmq_list_free(&l);
}

static void test_refused(void)
{
	const char *id = "rabbitmq_identity_info{rabbitmq_node=\"n\"} 1\n";
	char buf[512];

	expect_refused("garbage", "\x01\x02 not a page\n", -EBADMSG, "line 1:");
	expect_refused("json", "{\"error\":\"x\"}\n", -EBADMSG, "neither a comment nor a sample");
	snprintf(buf, sizeof(buf),
		 "rabbitmq_detailed_queue_messages{vhost=\"/\",queue=\"a\"} 1\n%s", id);
	buf[strlen(buf) - 1] = '\0'; /* cut: no final newline */
	expect_refused("cut mid-line", buf, -EBADMSG, "cut short");
	expect_refused("no identity (cut at a line end)",
		       "rabbitmq_detailed_queue_messages{vhost=\"/\",queue=\"a\"} 1\n", -EPROTO,
		       "rabbitmq_identity_info");
	snprintf(buf, sizeof(buf),
		 "rabbitmq_detailed_queue_messages{vhost=\"other\",queue=\"a\"} 1\n%s", id);
	expect_refused("another vhost", buf, -EPROTO, "the vhost asked for");
	snprintf(buf, sizeof(buf), "rabbitmq_detailed_queue_messages{queue=\"a\"} 1\n%s", id);
	expect_refused("labels missing", buf, -EPROTO, "rabbitmq_detailed_queue_messages");
	snprintf(buf, sizeof(buf),
		 "rabbitmq_detailed_queue_messages{vhost=\"/\",queue=\"a\"} twelve\n%s", id);
	expect_refused("bad value", buf, -EBADMSG, "bad sample value");
	snprintf(buf, sizeof(buf), "rabbitmq_detailed_queue_messages{vhost=\"/\",queue=\"a} 1\n%s",
		 id);
	expect_refused("unterminated", buf, -EBADMSG, "unterminated");
	snprintf(buf, sizeof(buf),
		 "rabbitmq_detailed_queue_messages{vhost=\"/\",queue=\"a\"} 1\n"
		 "rabbitmq_identity_info{cluster=\"c\"} 1\n");
	expect_refused("identity without node", buf, -EPROTO, "rabbitmq_node");

	/* a line over the limit fails before it is buffered whole */
	size_t n = RMQ_PROM_MAX_LINE + 100;
	char *huge = malloc(n + 2);
	if (huge) {
		memset(huge, 'a', n);
		huge[n] = '\n';
		huge[n + 1] = '\0';
		expect_refused("huge line", huge, -EBADMSG, "longer than");
		free(huge);
	}
	struct rmq_list l = { 0 };
	char err[256];
	static const char nul[] = "rabbitmq_x 1\n\0\n";
	struct rmq_prom_stream *s = rmq_prom_stream_new(&l, "/");
	int rc = rmq_prom_stream_feed(s, nul, sizeof(nul) - 1);
	snprintf(err, sizeof(err), "%s", rmq_prom_stream_error(s));
	CHECK(rc == -EBADMSG && strstr(err, "NUL"), "NUL byte: rc %d [%s]", rc, err);
	CHECK(rmq_prom_stream_finish(s) == -EBADMSG, "a failed stream stays failed");
	rmq_prom_stream_free(s);
	rmq_list_free(&l);
}

static void test_empty_vhost_and_others(void)
{
	static const char page[] = "# TYPE rabbitmq_detailed_queue_messages_ready gauge\n"
				   "rabbitmq_build_info{rabbitmq_version=\"3.10.8\"} 1\n"
				   "rabbitmq_identity_info{rabbitmq_node=\"rabbit@a\"} 1\n"
				   "erlang_vm_x 5 1700000000000\n";
	struct rmq_list l = { 0 };
	char err[256];
	int rc = parse_in_steps(page, sizeof(page) - 1, 3, "/", &l, err, sizeof(err));
	CHECK(rc == 0 && l.len == 0, "empty vhost: rc %d, %zu records (%s)", rc, l.len, err);
	rmq_list_free(&l);
	CHECK(rmq_prom_vhost_readable("a b\"\\ \xc3\xbc"), "odd but readable");
	CHECK(!rmq_prom_vhost_readable("a\nb"), "a line break is not");
}

static void test_many_queues(void)
{
	struct rmq_list l = { 0 };
	char line[128];
	struct rmq_prom_stream *s = rmq_prom_stream_new(&l, "/");
	int rc = 0;
	for (int fam = 0; fam < 2 && !rc; fam++)
		for (int i = 0; i < 5000 && !rc; i++) {
			int n = snprintf(line, sizeof(line),
					 "rabbitmq_detailed_queue_messages%s{vhost=\"/"
					 "\",queue=\"q%d\"} %d\n",
					 fam ? "_ready" : "", i, i);
			rc = rmq_prom_stream_feed(s, line, (size_t)n);
		}
	static const char id[] = "rabbitmq_identity_info{rabbitmq_node=\"n\"} 1\n";
	if (!rc)
		rc = rmq_prom_stream_feed(s, id, sizeof(id) - 1);
	if (!rc)
		rc = rmq_prom_stream_finish(s);
	CHECK(rc == 0 && l.len == 5000, "5000 queues: rc %d len %zu", rc, l.len);
	const struct rmq_queue *q = find(&l, "q4321");
	CHECK(q && q->v[RMQ_MESSAGES] == 4321 && q->v[RMQ_MESSAGES_READY] == 4321,
	      "q4321 both families joined");
	rmq_prom_stream_free(s);
	rmq_list_free(&l);
}

int main(void)
{
	test_odd_names();
	test_refused();
	test_empty_vhost_and_others();
	test_many_queues();
	return test_summary("test_prom_parse");
}
