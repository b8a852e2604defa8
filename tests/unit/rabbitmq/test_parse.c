/* test_parse.c — /api/queues responses to queue records, from real broker fixtures and
 * hostile bodies. */
#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "rabbitmq/parse.h"
#include "test.h"

static char *read_fixture(const char *name, size_t *len)
{
	char path[1024];
	const char *root = getenv("HOSTMON_ROOT");
	snprintf(path, sizeof(path), "%s/tests/fixtures/rabbitmq/%s", root ? root : ".", name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *data = malloc((size_t)n + 1);
	if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
		free(data);
		data = NULL;
	}
	fclose(f);
	if (data) {
		data[n] = '\0';
		*len = (size_t)n;
	}
	return data;
}

static const struct rmq_queue *find(const struct rmq_list *l, const char *vhost, const char *name)
{
	for (size_t i = 0; i < l->len; i++)
		if (strcmp(l->items[i].vhost, vhost) == 0 && strcmp(l->items[i].name, name) == 0)
			return &l->items[i];
	return NULL;
}

static int parse_string(const char *body, struct rmq_list *l, struct rmq_page_info *info)
{
	return rmq_parse_page(body, strlen(body), l, info);
}

static void test_real_paged_fast(void)
{
	size_t len = 0;
	char *body = read_fixture("queues_fast_paged.json", &len);
	struct rmq_list l = { 0 };
	struct rmq_page_info info;

	CHECK(body != NULL, "fixture queues_fast_paged.json");
	if (!body)
		return;
	CHECK(rmq_parse_page(body, len, &l, &info) == 0, "parses");
	CHECK(info.paged && info.page == 1 && info.page_count == 1, "page info %ld/%ld", info.page,
	      info.page_count);
	CHECK(l.len == 4 && l.skipped == 0, "4 queues, got %zu", l.len);
	const struct rmq_queue *orders = find(&l, "/", "orders");
	CHECK(orders && orders->v[RMQ_MESSAGES] == 7 && orders->v[RMQ_MESSAGES_READY] == 5 &&
		      orders->v[RMQ_MESSAGES_UNACKED] == 2,
	      "orders counts");
	CHECK(orders && (orders->present & (1u << RMQ_MESSAGES)) &&
		      !(orders->present & (1u << RMQ_CONSUMERS)),
	      "present bits follow the columns asked for");
	const struct rmq_queue *stream = find(&l, "/", "events.stream");
	CHECK(stream && stream->present == 0,
	      "a stream queue without totals loses only those fields");
	CHECK(find(&l, "a/b \xc3\xa9", "name with \"quotes\" \\ and spaces \xc3\xbc") != NULL,
	      "arbitrary UTF-8 names kept byte for byte");
	rmq_list_free(&l);
	free(body);
}

static void test_all_fixtures_parse(void)
{
	static const char *const listings[] = {
		"queues_full.json",
		"queues_columns.json",
		"queues_columns_paged.json",
		"queues_fast.json",
		"queues_rich_columns.json",
		"queues_rich_columns_paged.json",
		"queues_vhost_special_fast_paged.json",
		"queues_fast_paged_size3_page1.json",
		"queues_fast_paged_size3_page2.json",
	};
	for (size_t i = 0; i < sizeof(listings) / sizeof(listings[0]); i++) {
		size_t len = 0;
		char *body = read_fixture(listings[i], &len);
		struct rmq_list l = { 0 };
		struct rmq_page_info info;
		CHECK(body && rmq_parse_page(body, len, &l, &info) == 0 && l.len > 0, "%s parses",
		      listings[i]);
		rmq_list_free(&l);
		free(body);
	}
	/* two pages of three accumulate */
	struct rmq_list l = { 0 };
	struct rmq_page_info info;
	size_t len;
	char *p1 = read_fixture("queues_fast_paged_size3_page1.json", &len);
	CHECK(p1 && rmq_parse_page(p1, len, &l, &info) == 0 && info.page_count == 2, "page 1 of 2");
	char *p2 = read_fixture("queues_fast_paged_size3_page2.json", &len);
	CHECK(p2 && rmq_parse_page(p2, len, &l, &info) == 0 && info.page == 2, "page 2 of 2");
	CHECK(l.len == 4, "both pages: %zu queues", l.len);
	rmq_list_free(&l);
	free(p1);
	free(p2);
}

/* Light listings give quorum queues a "leader" and no "node": the leader is their node. */
static void test_quorum_leader_is_node(void)
{
	struct rmq_list l = { 0 };
	CHECK(parse_string(
		      "[{\"name\":\"q\",\"vhost\":\"/"
		      "\",\"leader\":\"rabbit@a\",\"type\":\"quorum\"},"
		      "{\"name\":\"c\",\"vhost\":\"/\",\"node\":\"rabbit@b\",\"leader\":\"x\"}]",
		      &l, NULL) == 0,
	      "parses");
	const struct rmq_queue *q = find(&l, "/", "q"), *c = find(&l, "/", "c");
	CHECK(q && strcmp(q->node, "rabbit@a") == 0, "leader stands in for node");
	CHECK(c && strcmp(c->node, "rabbit@b") == 0, "node wins when both are there");
	rmq_list_free(&l);
}

static void test_full_listing_fields(void)
{
	size_t len = 0;
	char *body = read_fixture("queues_full.json", &len);
	struct rmq_list l = { 0 };
	CHECK(body && rmq_parse_page(body, len, &l, NULL) == 0, "full listing parses");
	const struct rmq_queue *orders = find(&l, "/", "orders");
	CHECK(orders && orders->durable == 1 && strcmp(orders->type, "classic") == 0 &&
		      strcmp(orders->state, "running") == 0 && orders->node[0] != '\0',
	      "info fields of a classic queue");
	rmq_list_free(&l);
	free(body);
}

static void test_hostile(void)
{
	struct rmq_list l = { 0 };
	struct rmq_page_info info = { .page = 42 };

	CHECK(parse_string("[{\"name\":\"a\",\"vhost\":\"/\",\"messages\":1}]", &l, &info) == 0 &&
		      l.len == 1 && !info.paged,
	      "plain array");
	CHECK(parse_string("garbage", &l, &info) == -EBADMSG, "not JSON");
	CHECK(parse_string("{\"items\":[{\"name\":\"b\",\"vhost\":\"/\"", &l, &info) == -EBADMSG,
	      "truncated");
	CHECK(parse_string("{\"items\":{},\"page\":1,\"page_count\":1}", &l, &info) == -EPROTO,
	      "items not a list");
	CHECK(parse_string("{\"error\":\"page_out_of_range\",\"reason\":\"x\"}", &l, &info) ==
		      -EPROTO,
	      "an error object is not a listing");
	CHECK(parse_string("42", &l, &info) == -EPROTO, "a number");
	CHECK(l.len == 1, "failed pages add nothing: %zu", l.len);

	CHECK(parse_string(
		      "{\"items\":[{\"name\":\"c\",\"vhost\":\"/\",\"messages\":\"12\","
		      "\"messages_ready\":-1,\"messages_unacknowledged\":3,\"durable\":\"yes\"},"
		      "{\"vhost\":\"/\"},{\"name\":5,\"vhost\":\"/\"},7,"
		      "{\"name\":\"d\",\"vhost\":\"v\",\"messages\":1e300}],"
		      "\"page\":1,\"page_count\":1}",
		      &l, &info) == 0,
	      "wrong types inside items do not fail the page");
	const struct rmq_queue *c = find(&l, "/", "c");
	CHECK(c && !(c->present & (1u << RMQ_MESSAGES)) &&
		      !(c->present & (1u << RMQ_MESSAGES_READY)) &&
		      (c->present & (1u << RMQ_MESSAGES_UNACKED)) && c->durable == -1,
	      "a string count and a negative count are dropped, the rest kept");
	CHECK(l.skipped == 3, "items without name/vhost skipped and counted: %zu", l.skipped);
	CHECK(find(&l, "v", "d") != NULL, "big numbers are numbers");
	rmq_list_free(&l);
	CHECK(l.len == 0 && l.items == NULL, "freed list is empty");
}

/*
 * The cJSON DOM parser that rmq_parse_page() replaced, kept as an oracle:
 * on any body the stream accepts it must accept too, with the same records.
 * Strings point into its tree.
 */
struct ref {
	cJSON *root;
	struct rmq_queue *items;
	size_t len, skipped;
	struct rmq_page_info info;
};

static const char *ref_string(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsString(v) && v->valuestring ? v->valuestring : "";
}

static long ref_long(const cJSON *obj, const char *key, long fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < 1e9
		       ? (long)v->valuedouble
		       : fallback;
}

static int ref_parse(const char *body, size_t len, struct ref *r)
{
	const cJSON *items, *item;

	memset(r, 0, sizeof(*r));
	r->root = cJSON_ParseWithLength(body, len);
	if (!r->root)
		return -EBADMSG;
	if (cJSON_IsArray(r->root)) {
		items = r->root;
		r->info.page = r->info.page_count = 1;
	} else if (cJSON_IsObject(r->root)) {
		items = cJSON_GetObjectItemCaseSensitive(r->root, "items");
		r->info.paged = true;
		r->info.page = ref_long(r->root, "page", 0);
		r->info.page_count = ref_long(r->root, "page_count", -1);
		if (!cJSON_IsArray(items) || r->info.page_count < 0 || r->info.page < 1)
			return -EPROTO;
	} else {
		return -EPROTO;
	}
	r->items = calloc((size_t)cJSON_GetArraySize(items) + 1, sizeof(*r->items));
	cJSON_ArrayForEach (item, items) {
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(item, "name");
		const cJSON *vhost = cJSON_GetObjectItemCaseSensitive(item, "vhost");
		const cJSON *durable = cJSON_GetObjectItemCaseSensitive(item, "durable");
		struct rmq_queue *q = &r->items[r->len];

		if (!cJSON_IsObject(item) || !cJSON_IsString(name) || !cJSON_IsString(vhost)) {
			r->skipped++;
			continue;
		}
		q->name = name->valuestring;
		q->vhost = vhost->valuestring;
		q->node = ref_string(item, "node");
		if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(item, "node")))
			q->node = ref_string(item, "leader"); /* quorum queues in light listings */
		q->type = ref_string(item, "type");
		q->state = ref_string(item, "state");
		q->durable = cJSON_IsBool(durable) ? cJSON_IsTrue(durable) : -1;
		for (int i = 0; i < RMQ_NVALUES; i++) {
			const cJSON *v =
				cJSON_GetObjectItemCaseSensitive(item, rmq_value_fields[i]);
			if (cJSON_IsNumber(v) && isfinite(v->valuedouble) && v->valuedouble >= 0) {
				q->v[i] = v->valuedouble;
				q->present |= (uint16_t)(1u << i);
			}
		}
		r->len++;
	}
	return 0;
}

static void ref_free(struct ref *r)
{
	cJSON_Delete(r->root);
	free(r->items);
}

static bool same_queue(const struct rmq_queue *a, const struct rmq_queue *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->vhost, b->vhost) || strcmp(a->node, b->node) ||
	    strcmp(a->type, b->type) || strcmp(a->state, b->state) || a->durable != b->durable ||
	    a->present != b->present)
		return false;
	for (int i = 0; i < RMQ_NVALUES; i++)
		if ((a->present & (1u << i)) && a->v[i] != b->v[i])
			return false;
	return true;
}

static bool same_queues(const struct rmq_queue *a, size_t na, const struct rmq_queue *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!same_queue(&a[i], &b[i]))
			return false;
	return true;
}

static bool same_info(const struct rmq_page_info *a, const struct rmq_page_info *b)
{
	return a->paged == b->paged && a->page == b->page && a->page_count == b->page_count;
}

/* Every list starts with one record and one skip, so "unchanged" is visible. */
static void prefill(struct rmq_list *l)
{
	static const char seed[] =
		"[{\"name\":\"keep\",\"vhost\":\"/\",\"node\":\"n1\",\"messages\":5},7]";
	memset(l, 0, sizeof(*l));
	if (rmq_parse_page(seed, strlen(seed), l, NULL) != 0)
		printf("# prefill failed\n");
}

static bool prefill_intact(const struct rmq_list *l)
{
	return l->len >= 1 && l->skipped >= 1 && strcmp(l->items[0].name, "keep") == 0 &&
	       strcmp(l->items[0].vhost, "/") == 0 && strcmp(l->items[0].node, "n1") == 0 &&
	       l->items[0].v[RMQ_MESSAGES] == 5;
}

static bool unchanged(const struct rmq_list *l)
{
	return l->len == 1 && l->skipped == 1 && prefill_intact(l);
}

/* the shared fixed-seed generator */
#define rng test_rng

/*
 * Where cJSON 1.7.15 itself departs from JSON, it is no oracle: it reads at
 * most 63 bytes of a number, and a \u0000 ends its copy of a key.
 */
static bool cjson_comparable(const char *b, size_t len)
{
	size_t run = 0;

	for (size_t i = 0; i < len; i++) {
		run = b[i] && strchr("0123456789+-.eE", b[i]) ? run + 1 : 0;
		if (run >= 60 || (i + 6 <= len && memcmp(b + i, "\\u0000", 6) == 0))
			return false;
	}
	return true;
}

static bool documented(int rc)
{
	return rc == 0 || rc == -EBADMSG || rc == -EPROTO || rc == -ENOMEM;
}

/*
 * Streams body into l in pieces: cut > 0 splits once there, chunk > 0 uses
 * pieces of that size, chunk == 0 random sizes. Checks that an error sticks
 * (returned by later feeds and by finish); *sticky is cleared when not.
 */
static int stream_parse(struct rmq_list *l, const char *body, size_t len, size_t cut, size_t chunk,
			struct rmq_page_info *info, bool *sticky)
{
	struct rmq_stream *s = rmq_stream_new(l);
	size_t off = 0;
	int rc = 0;

	if (!s)
		return -ENOMEM;
	while (off < len && !rc) {
		size_t n = cut	   ? (off < cut ? cut : len - off)
			   : chunk ? chunk
				   : (rng() % 4 ? rng() % 16 : rng() % 2048) + 1;
		if (n > len - off)
			n = len - off;
		rc = rmq_stream_feed(s, body + off, n);
		off += n;
	}
	if (rc) {
		if (rmq_stream_feed(s, "[]", 2) != rc || rmq_stream_finish(s, info) != rc)
			*sticky = false;
	} else {
		rc = rmq_stream_finish(s, info);
		if (rc && rmq_stream_finish(s, info) != rc)
			*sticky = false;
	}
	rmq_stream_free(s);
	return rc;
}

static int stream_string(struct rmq_list *l, const char *body, size_t chunk)
{
	bool sticky = true;
	struct rmq_page_info info;
	return stream_parse(l, body, strlen(body), 0, chunk, &info, &sticky);
}

static size_t fixture_names(char names[][256], size_t max)
{
	char path[1024];
	const char *root = getenv("HOSTMON_ROOT");
	size_t n = 0;
	struct dirent *e;

	snprintf(path, sizeof(path), "%s/tests/fixtures/rabbitmq", root ? root : ".");
	DIR *d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d)) && n < max) {
		size_t len = strlen(e->d_name);
		if (len > 5 && len < 256 && strcmp(e->d_name + len - 5, ".json") == 0)
			snprintf(names[n++], 256, "%s", e->d_name);
	}
	closedir(d);
	return n;
}

/*
 * Every fixture: the stream, whole or fed one byte at a time or split at
 * every point (at a few hundred points for the larger ones), gives what the
 * old cJSON parser gave, and an error leaves the list as it was.
 */
static void test_fixtures_any_split(void)
{
	static char names[64][256];
	size_t nfix = fixture_names(names, 64), listings = 0;

	CHECK(nfix >= 30, "fixtures found: %zu (HOSTMON_ROOT?)", nfix);
	for (size_t f = 0; f < nfix; f++) {
		size_t len = 0, bad = 0, splits = 0;
		char *body = read_fixture(names[f], &len);
		struct rmq_list whole;
		struct rmq_page_info wi = { 0 };
		struct ref ref;
		bool sticky = true;

		CHECK(body != NULL, "read %s", names[f]);
		if (!body)
			continue;
		prefill(&whole);
		int rc = rmq_parse_page(body, len, &whole, &wi);
		int rrc = ref_parse(body, len, &ref);
		CHECK(rc == rrc, "%s: stream %d, cJSON %d", names[f], rc, rrc);
		if (rc == 0) {
			listings++;
			CHECK(same_queues(whole.items + 1, whole.len - 1, ref.items, ref.len) &&
				      whole.skipped - 1 == ref.skipped && same_info(&wi, &ref.info),
			      "%s: same records, skips and page info as cJSON", names[f]);
		} else {
			CHECK(unchanged(&whole), "%s: a failed parse adds nothing", names[f]);
		}
		ref_free(&ref);

		size_t step = len <= 2048 ? 1 : len / 300 + 1;
		for (size_t cut = 0; cut <= len + 1; cut += cut == 0 ? 1 : step) {
			struct rmq_list l;
			struct rmq_page_info si = { 0 };
			/* cut 0: one byte at a time; others: two pieces */
			prefill(&l);
			int src = stream_parse(&l, body, len, cut, 1, &si, &sticky);
			splits++;
			if (src != rc ||
			    (rc == 0 && (!same_queues(l.items, l.len, whole.items, whole.len) ||
					 l.skipped != whole.skipped || !same_info(&si, &wi))) ||
			    (rc != 0 && !unchanged(&l))) {
				if (!bad++)
					printf("# %s split at %zu: rc %d want %d\n", names[f], cut,
					       src, rc);
			}
			rmq_list_free(&l);
		}
		CHECK(bad == 0 && sticky, "%s: %zu splits give identical results (%zu differ)",
		      names[f], splits, bad);
		rmq_list_free(&whole);
		free(body);
	}
	CHECK(listings >= 20, "most fixtures are listings: %zu", listings);
}

/* Any fixture cut short anywhere is -EBADMSG at finish, and the list is as it was. */
static void test_truncated_everywhere(void)
{
	static char names[64][256];
	size_t nfix = fixture_names(names, 64);

	for (size_t f = 0; f < nfix; f++) {
		size_t len = 0, bad = 0;
		char *body = read_fixture(names[f], &len);
		bool sticky = true;

		CHECK(body != NULL, "read %s", names[f]);
		for (size_t k = 0; body && k < len; k++) {
			struct rmq_list l;
			struct rmq_page_info info;
			bool rest_blank = strspn(body + k, " \t\r\n") == len - k;
			prefill(&l);
			int rc = stream_parse(&l, body, k, 0, k % 7 + 1, &info, &sticky);
			if (rest_blank ? rc != 0 : rc != -EBADMSG || !unchanged(&l)) {
				if (!bad++)
					printf("# %s cut at %zu: rc %d\n", names[f], k, rc);
			}
			rmq_list_free(&l);
		}
		CHECK(bad == 0 && sticky, "%s: every prefix is -EBADMSG and adds nothing (%zu bad)",
		      names[f], bad);
		free(body);
	}
}

static void test_key_order_and_nesting(void)
{
	static const char *const bodies[] = {
		"{\"items\":[%s],\"page\":2,\"page_count\":3}",
		"{\"page_count\":3,\"page\":2,\"items\":[%s]}",
		"{\"page\":2,\"x\":{\"items\":[1]},\"items\":[%s],\"total\":[{\"page\":9}],"
		"\"page_count\":3}",
	};
	static const char *const queues[] = {
		"{\"name\":\"q\",\"vhost\":\"v\",\"durable\":false,\"messages\":3,\"type\":"
		"\"quorum\"}",
		"{\"type\":\"quorum\",\"messages\":3,\"durable\":false,\"vhost\":\"v\",\"name\":"
		"\"q\"}",
		"{\"arguments\":{\"name\":\"no\",\"vhost\":\"no\",\"x\":[{\"messages\":9}]},"
		"\"slave_nodes\":[\"a\",[\"b\",{}]],\"effective_policy_definition\":{},"
		"\"garbage_collection\":{\"fullsweep_after\":65535,\"min_heap_size\":233},"
		"\"messages\":3,\"type\":\"quorum\",\"durable\":false,\"vhost\":\"v\",\"name\":"
		"\"q\","
		"\"messages_details\":{\"rate\":0.0},\"node\":null}",
	};
	char body[2048];

	for (size_t b = 0; b < 3; b++) {
		for (size_t q = 0; q < 3; q++) {
			struct rmq_list l = { 0 };
			struct rmq_page_info info;
			snprintf(body, sizeof(body), bodies[b], queues[q]);
			int rc = rmq_parse_page(body, strlen(body), &l, &info);
			CHECK(rc == 0 && l.len == 1 && l.skipped == 0, "order %zu/%zu parses: %d",
			      b, q, rc);
			CHECK(rc == 0 && info.paged && info.page == 2 && info.page_count == 3,
			      "order %zu/%zu: page info from the wrapper only", b, q);
			const struct rmq_queue *x = rc == 0 && l.len ? &l.items[0] : NULL;
			CHECK(x && strcmp(x->name, "q") == 0 && strcmp(x->vhost, "v") == 0 &&
				      strcmp(x->type, "quorum") == 0 && strcmp(x->node, "") == 0 &&
				      x->durable == 0 && x->present == 1u << RMQ_MESSAGES &&
				      x->v[RMQ_MESSAGES] == 3,
			      "order %zu/%zu: nested values are skipped, top-level fields kept", b,
			      q);
			rmq_list_free(&l);
		}
	}

	struct rmq_list l = { 0 };
	CHECK(stream_string(
		      &l,
		      "[{\"arguments\":{\"name\":\"a\",\"vhost\":\"/\"}},"
		      "{\"x\":[{\"name\":\"a\",\"vhost\":\"/\"}],\"name\":\"b\"},[{\"name\":\"c\","
		      "\"vhost\":\"/\"}],{\"name\":\"d\",\"vhost\":\"/\"}]",
		      3) == 0 &&
		      l.len == 1 && l.skipped == 3 && strcmp(l.items[0].name, "d") == 0,
	      "names inside nested values do not make a queue: %zu kept, %zu skipped", l.len,
	      l.skipped);
	rmq_list_free(&l);
	CHECK(stream_string(
		      &l,
		      "[{\"name\":5,\"name\":\"a\",\"vhost\":\"/\"},"
		      "{\"name\":\"b\",\"name\":5,\"vhost\":\"/\",\"messages\":1,\"messages\":2,"
		      "\"durable\":true,\"durable\":false}]",
		      0) == 0 &&
		      l.len == 1 && l.skipped == 1 && strcmp(l.items[0].name, "b") == 0 &&
		      l.items[0].v[RMQ_MESSAGES] == 1 && l.items[0].durable == 1,
	      "a repeated key counts once, first occurrence, as cJSON's lookup did");
	rmq_list_free(&l);
	CHECK(stream_string(
		      &l,
		      "{\"items\":[{\"name\":\"a\",\"vhost\":\"/\"}],\"items\":[{\"name\":\"b\","
		      "\"vhost\":\"/\"}],\"page\":1,\"page\":\"x\",\"page_count\":1}",
		      0) == 0 &&
		      l.len == 1 && strcmp(l.items[0].name, "a") == 0,
	      "only the first items list is read");
	rmq_list_free(&l);
	CHECK(stream_string(&l, "{\"items\":[],\"page\":1,\"page_count\":0}", 0) == 0 && l.len == 0,
	      "an empty page");
	CHECK(stream_string(&l, "{\"items\":[],\"page\":1}", 0) == -EPROTO, "page_count missing");
	CHECK(stream_string(&l, "{\"items\":[],\"page\":0,\"page_count\":1}", 0) == -EPROTO,
	      "page 0");
	CHECK(stream_string(&l, "{\"items\":[],\"page\":\"1\",\"page_count\":1}", 0) == -EPROTO,
	      "page as a string");
	CHECK(stream_string(&l, "{\"items\":[],\"page\":1e9,\"page_count\":1}", 0) == -EPROTO,
	      "page out of range");
	CHECK(stream_string(&l, "{\"page\":1,\"page_count\":1}", 0) == -EPROTO, "no items");
	CHECK(stream_string(&l, "{\"items\":null,\"page\":1,\"page_count\":1}", 0) == -EPROTO,
	      "items null");
	struct rmq_page_info info;
	CHECK(parse_string("{\"items\":[],\"page\":1.9,\"page_count\":2.5}", &l, &info) == 0 &&
		      info.page == 1 && info.page_count == 2,
	      "fractional page numbers truncate, as before");
	CHECK(rmq_parse_page(" [ ] ", 5, &l, &info) == 0 && !info.paged && info.page == 1 &&
		      info.page_count == 1,
	      "a plain array is one page");
	rmq_list_free(&l);
}

static void test_strings(void)
{
	struct rmq_list l = { 0 };

	for (size_t chunk = 0; chunk <= 2; chunk++) {
		rmq_list_free(&l);
		CHECK(stream_string(
			      &l,
			      "[{\"n\\u0061me\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t|\\u00e9\\u20AC|"
			      "\\ud83d\\ude00|\\uD834\\uDD1E|\\u0041\",\"vhost\":\"\xc3\xbc\x7f\","
			      "\"state\":\"\"}]",
			      chunk) == 0 &&
			      l.len == 1,
		      "escapes parse (chunk %zu)", chunk);
		CHECK(l.len == 1 && strcmp(l.items[0].name,
					   "\"\\/\b\f\n\r\t|\xc3\xa9\xe2\x82\xac|\xf0\x9f\x98\x80|"
					   "\xf0\x9d\x84\x9e|A") == 0,
		      "escapes and surrogate pairs decode to UTF-8, keys too (chunk %zu)", chunk);
		CHECK(l.len == 1 && strcmp(l.items[0].vhost, "\xc3\xbc\x7f") == 0 &&
			      strcmp(l.items[0].state, "") == 0,
		      "raw UTF-8 and DEL are kept byte for byte");
	}
	rmq_list_free(&l);
	static const char *const bad[] = {
		"[\"\\ud83d\"]",
		"[\"\\ude00\"]",
		"[\"\\ud83dx\"]",
		"[\"\\ud83d\\n\"]",
		"[\"\\ud83d\\u0041\"]",
		"[\"\\ud83d\\ud83d\"]",
		"[\"\\x\"]",
		"[\"\\u12g4\"]",
		"[\"\\u12\"]",
		"[\"a\x01\"]",
		"[\"a\tb\"]",
		"[\"a\nb\"]",
		"[{\"name\x1f\":1}]",
		"[\"\\U0041\"]",
		"[\"\\'\"]",
		"[\"\\udfff\"]",
		"[\"\\ud83d\\ue000\"]",
		"[\"\\ud83d\\udbff\"]",
		"[\"\\ud83d\\\\\\ude00\"]",
		"[\"\\ud83d\\\"\"]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prefill(&l);
		int rc = stream_string(&l, bad[i], i % 3);
		CHECK(rc == -EBADMSG && unchanged(&l), "bad string %zu is -EBADMSG: %d", i, rc);
		rmq_list_free(&l);
	}
	CHECK(rmq_parse_page("[\"a\0b\"]", 7, &l, NULL) == -EBADMSG, "a raw NUL in a string");
	CHECK(stream_string(&l,
			    "[{\"name\":\"\\ud800\\udc00\\udbff\\udfff\\uffff\\u07ff\\u0800\","
			    "\"vhost\":\"/\"}]",
			    1) == 0 &&
		      l.len == 1 &&
		      strcmp(l.items[0].name, "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf\xef\xbf\xbf"
					      "\xdf\xbf\xe0\xa0\x80") == 0,
	      "UTF-8 at the edges: U+10000, U+10FFFF, U+FFFF, U+07FF, U+0800");
	rmq_list_free(&l);
	CHECK(stream_string(&l, "[{\"name\":\"a\\u0000b\",\"vhost\":\"/\"}]", 0) == 0 &&
		      l.len == 1 && strcmp(l.items[0].name, "a") == 0,
	      "\\u0000 ends the C string, as with cJSON");
	rmq_list_free(&l);
}

static void test_numbers_and_literals(void)
{
	static const char *const good[] = { "0",    "-0",     "1.5",
					    "10",   "1e3",    "1E+3",
					    "2e-3", "0.25e1", "123456789012345678901234567890" };
	static const char *const bad[] = { "01",  "1.",	      ".5",  "-",     "+1",  "1e",
					   "1e+", "--1",      "0x1", "1.e3",  "-a",  "1e+-3",
					   "00",  "1ee2",     "tru", "truex", "nul", "fals",
					   "nan", "Infinity", "True" };
	struct rmq_list l = { 0 };
	char body[256];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(body, sizeof(body), "[{\"name\":\"a\",\"vhost\":\"/\",\"messages\":%s}]",
			 good[i]);
		int rc = stream_string(&l, body, i % 3);
		CHECK(rc == 0 && l.len == 1 && l.items[0].present == 1u << RMQ_MESSAGES &&
			      l.items[0].v[RMQ_MESSAGES] == strtod(good[i], NULL),
		      "number %s: rc %d", good[i], rc);
		rmq_list_free(&l);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body), "[{\"name\":\"a\",\"vhost\":\"/\",\"messages\":%s}]",
			 bad[i]);
		prefill(&l);
		int rc = stream_string(&l, body, i % 3);
		CHECK(rc == -EBADMSG && unchanged(&l), "not JSON: %s: rc %d", bad[i], rc);
		rmq_list_free(&l);
	}
	CHECK(stream_string(&l,
			    "[{\"name\":\"a\",\"vhost\":\"/\",\"messages\":1e400,\"consumers\":-1,"
			    "\"message_bytes\":-0.0,\"messages_ready\":true,\"durable\":null}]",
			    1) == 0 &&
		      l.len == 1 && l.items[0].present == 1u << RMQ_MESSAGE_BYTES &&
		      l.items[0].durable == -1,
	      "non-finite, negative and non-number counts are absent; null durable is -1");
	rmq_list_free(&l);
	CHECK(stream_string(&l,
			    "[{\"vhost\":\"98765432109876543210\",\"name\":\"a\",\"messages\":1."
			    "500000000}]",
			    1) == 0 &&
		      l.len == 1 && l.items[0].v[RMQ_MESSAGES] == 1.5,
	      "a number split across feeds is read alone, not with what came before it");
	rmq_list_free(&l);
	CHECK(stream_string(&l, "[{\"name\":\"a\",\"vhost\":\"/\",\"durable\":false}]", 1) == 0 &&
		      l.items[0].durable == 0,
	      "durable false");
	rmq_list_free(&l);
	static const char *const scalars[] = { "42", "\"x\"", "null", "true", "-1", "nope" };
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++)
		CHECK(stream_string(&l, scalars[i], 0) == -EPROTO,
		      "a top-level %s is not a listing", scalars[i]);
	static const char *const empty[] = { "", " ", "\n\t\r ", "x", "[", "{", "]" };
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++)
		CHECK(stream_string(&l, empty[i], 0) == -EBADMSG, "no document: [%s]", empty[i]);
	rmq_list_free(&l);
}

static void test_after_document(void)
{
	static const char *const bad[] = { "[]x",
					   "[] x",
					   "[]]",
					   "[][]",
					   "[],",
					   "{\"items\":[],"
					   "\"page\":1,\"page_count\":1}{}",
					   "[]\"\"",
					   "[]0" };
	struct rmq_list l;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		prefill(&l);
		int rc = stream_string(&l, bad[i], i % 2 + 1);
		CHECK(rc == -EBADMSG && unchanged(&l), "garbage after the document: %s: %d", bad[i],
		      rc);
		rmq_list_free(&l);
	}
	CHECK(rmq_parse_page("[]\0", 3, &l, NULL) == -EBADMSG, "a NUL after the document");
	CHECK(rmq_parse_page("[] \n\t\r", 6, &l, NULL) == 0, "whitespace after the document");

	/* a successful finish commits; later bytes can fail the stream but not take records back */
	struct rmq_stream *s = rmq_stream_new(&l);
	const char *doc = "[{\"name\":\"a\",\"vhost\":\"/\"}]";
	CHECK(s && rmq_stream_feed(s, doc, strlen(doc)) == 0 && rmq_stream_finish(s, NULL) == 0 &&
		      l.len == 1,
	      "one queue");
	CHECK(s && rmq_stream_feed(s, " \n", 2) == 0 && rmq_stream_finish(s, NULL) == 0,
	      "whitespace after finish is fine");
	CHECK(s && rmq_stream_feed(s, "x", 1) == -EBADMSG &&
		      rmq_stream_finish(s, NULL) == -EBADMSG && l.len == 1 &&
		      strcmp(l.items[0].name, "a") == 0,
	      "bytes after a finished document fail, the committed queue stays");
	rmq_stream_free(s);
	rmq_list_free(&l);
}

static void test_depth(void)
{
	size_t cap = 3 * RMQ_MAX_TOKEN;
	char *body = malloc(cap);
	struct rmq_list l = { 0 };
	size_t n;

	if (!body)
		return;
	/* depth: a root array holding 63 more arrays is 64 levels */
	for (int depth = RMQ_MAX_DEPTH; depth <= RMQ_MAX_DEPTH + 1; depth++) {
		n = 0;
		for (int i = 0; i < depth; i++)
			body[n++] = '[';
		for (int i = 0; i < depth; i++)
			body[n++] = ']';
		prefill(&l);
		int rc = rmq_parse_page(body, n, &l, NULL);
		CHECK(depth == RMQ_MAX_DEPTH ? rc == 0 && l.skipped == 2
					     : rc == -EPROTO && unchanged(&l),
		      "nesting %d: %d", depth, rc);
		rmq_list_free(&l);
		/* the same inside a queue object of a paged listing: 3 levels, then the rest */
		n = (size_t)snprintf(body, cap,
				     "{\"items\":[{\"name\":\"a\",\"vhost\":\"/\",\"x\":");
		for (int i = 0; i < depth - 3; i++)
			n += (size_t)snprintf(body + n, cap - n, "%s", i % 2 ? "[" : "{\"k\":");
		body[n++] = '0';
		for (int i = depth - 4; i >= 0; i--)
			body[n++] = i % 2 ? ']' : '}';
		n += (size_t)snprintf(body + n, cap - n, "}],\"page\":1,\"page_count\":1}");
		int rc2 = stream_parse(&l, body, n, 0, 5, &(struct rmq_page_info){ 0 },
				       &(bool){ true });
		CHECK(depth == RMQ_MAX_DEPTH ? rc2 == 0 && l.len == 1 : rc2 == -EPROTO,
		      "nesting %d inside a queue: %d", depth, rc2);
		rmq_list_free(&l);
	}
	memset(body, '[', RMQ_MAX_DEPTH + 1);
	struct rmq_stream *s = rmq_stream_new(&l);
	CHECK(s && rmq_stream_feed(s, body, RMQ_MAX_DEPTH + 1) == -EPROTO,
	      "too deep is -EPROTO as soon as it is seen, before the document ends");
	rmq_stream_free(s);

	/* token lengths, the name limit and the queue cap: test_limits.c */
	free(body);
}

/* A skipped item gives its strings back, and so does a failed stream: the arena follows the records
 * kept. */
static void test_arena_follows_records(void)
{
	size_t cap = 2000 * 200, n = 0;
	char *body = malloc(cap);
	struct rmq_list l = { 0 };

	if (!body)
		return;
	body[n++] = '[';
	for (int i = 0; i < 2000; i++)
		n += (size_t)snprintf(
			body + n, cap - n,
			"%s{\"name\":\"%0100d\",\"node\":\"rabbit@a\",\"type\":\"classic\"}",
			i ? "," : "", i);
	body[n++] = ']';
	CHECK(rmq_parse_page(body, n, &l, NULL) == 0 && l.len == 0 && l.skipped == 2000 &&
		      l.chunks == NULL,
	      "2000 items without vhost leave no arena behind");
	rmq_list_free(&l);
	CHECK(rmq_parse_page(body, n - 1, &l, NULL) == -EBADMSG && l.chunks == NULL,
	      "nor does a failed parse");
	/* the first item gets a vhost, in place of the start of its name */
	memcpy(body + 2, "\"vhost\":\"/\",\"name\":\"", 20);
	CHECK(rmq_parse_page(body, n, &l, NULL) == 0 && l.len == 1 && l.skipped == 1999 &&
		      l.chunks != NULL,
	      "a kept queue has its strings");
	rmq_list_free(&l);
	CHECK(rmq_parse_page(body, n - 1, &l, NULL) == -EBADMSG && l.len == 0 && l.chunks == NULL,
	      "a failed parse takes them back");
	rmq_list_free(&l);
	free(body);
}

static void test_stream_lifecycle(void)
{
	struct rmq_list l;
	struct rmq_page_info info = { .page = 42 };

	errno = 0;
	CHECK(rmq_stream_new(NULL) == NULL && errno == EINVAL, "no list");
	rmq_stream_free(NULL);

	prefill(&l);
	struct rmq_stream *s = rmq_stream_new(&l);
	const char *a =
		"{\"page\":1,\"items\":[{\"name\":\"a\",\"vhost\":\"/\"},{\"vhost\":\"/\"},";
	CHECK(s && rmq_stream_feed(s, NULL, 0) == 0 && rmq_stream_feed(s, a, strlen(a)) == 0,
	      "feeds");
	CHECK(l.len == 2 && l.skipped == 2 && strcmp(l.items[1].name, "a") == 0,
	      "queues are appended as their objects close, before the document ends");
	const char *b = "{\"name\":\"b\",\"vhost\":\"/\"}]";
	CHECK(s && rmq_stream_feed(s, b, strlen(b)) == 0 && l.len == 3, "and the next");
	CHECK(s && rmq_stream_feed(s, "}", 1) == -EPROTO && unchanged(&l),
	      "page_count missing at the close: -EPROTO, and the stream's queues are gone");
	CHECK(s && rmq_stream_feed(s, "[]", 2) == -EPROTO &&
		      rmq_stream_finish(s, &info) == -EPROTO && info.page == 42,
	      "the error sticks, info untouched");
	rmq_stream_free(s);

	s = rmq_stream_new(&l);
	const char *c = "[{\"name\":\"c\",\"vhost\":\"/\"}";
	CHECK(s && rmq_stream_feed(s, c, strlen(c)) == 0 && l.len == 2, "a queue");
	CHECK(s && rmq_stream_finish(s, &info) == -EBADMSG && unchanged(&l) && info.page == 42,
	      "truncated at finish: -EBADMSG, the list as at rmq_stream_new");
	CHECK(s && rmq_stream_feed(s, "]", 1) == -EBADMSG, "and it sticks");
	rmq_stream_free(s);
	rmq_list_free(&l);
}

/* A bounded output buffer for the generator; full is set instead of overflowing. */
struct gen {
	char *buf;
	size_t len, cap;
	bool full;
};

static void emit(struct gen *g, const char *s, size_t n)
{
	if (g->len + n > g->cap) {
		g->full = true;
		return;
	}
	memcpy(g->buf + g->len, s, n);
	g->len += n;
}

static void emits(struct gen *g, const char *s)
{
	emit(g, s, strlen(s));
}

static const char *pick(const char *const *list, size_t n)
{
	return list[rng() % n];
}
#define PICK(list) pick(list, sizeof(list) / sizeof(list[0]))

static void gen_space(struct gen *g)
{
	static const char *const ws[] = { " ", "\n", "\r\n\t", "  " };
	if (rng() % 8 == 0)
		emits(g, PICK(ws));
}

static void gen_string(struct gen *g)
{
	static const char *const parts[] = {
		"orders",
		".",
		"a/b",
		"\\\"",
		"\\\\",
		"\\/",
		"\\b\\f\\n\\r\\t",
		"\\u00e9",
		"\\u20AC",
		"\\ud83d\\ude00",
		"\\uDBFF\\uDFFF",
		"\xc3\xbc",
		"\xe6\x97\xa5",
		"name",
		"vhost",
		" ",
		"\\u0041",
		"rabbit@mq-1",
		"running",
		"classic",
		"quorum",
		"7",
	};
	emits(g, "\"");
	for (int n = (int)(rng() % 5); n > 0; n--)
		emits(g, PICK(parts));
	emits(g, "\"");
}

static void gen_value(struct gen *g, int depth);

static void gen_member(struct gen *g, const char *key, int depth)
{
	static const char *const numbers[] = {
		"0",   "-0",	"12",		"3.5",	 "1e3",
		"-7",  "1e400", "123456789012", "0.001", "9007199254740993",
		"2E-2"
	};
	static const char *const literals[] = { "true", "false", "null" };
	emits(g, "\"");
	emits(g, key);
	emits(g, "\"");
	gen_space(g);
	emits(g, ":");
	gen_space(g);
	/* mostly the type the field wants, so most queues are kept */
	if (rng() % 4 == 0)
		gen_value(g, depth + 1);
	else if (strcmp(key, "durable") == 0)
		emits(g, PICK(literals));
	else if (strcmp(key, "name") == 0 || strcmp(key, "vhost") == 0 ||
		 strcmp(key, "node") == 0 || strcmp(key, "type") == 0 ||
		 strcmp(key, "state") == 0 || strcmp(key, "leader") == 0)
		gen_string(g);
	else if (strchr("mcp", key[0]))
		emits(g, PICK(numbers));
	else
		gen_value(g, depth + 1);
	gen_space(g);
}

static void gen_queue(struct gen *g, int depth)
{
	static const char *const keys[] = {
		"name",
		"vhost",
		"node",
		"leader",
		"type",
		"state",
		"durable",
		"messages",
		"messages_ready",
		"messages_unacknowledged",
		"consumers",
		"message_bytes",
		"message_bytes_ready",
		"message_bytes_unacknowledged",
		"arguments",
		"garbage_collection",
		"slave_nodes",
		"x",
	};
	emits(g, "{");
	for (int n = (int)(rng() % 10) + 1, i = 0; i < n; i++) {
		if (i)
			emits(g, ",");
		/* name and vhost come often, anywhere, sometimes twice */
		gen_member(g, rng() % 2 ? (rng() % 2 ? "name" : "vhost") : PICK(keys), depth);
	}
	emits(g, "}");
}

static void gen_value(struct gen *g, int depth)
{
	static const char *const scalars[] = { "0", "-1.5e-3", "true", "false", "null", "42" };
	switch (depth > 5 ? rng() % 2 : rng() % 5) {
	case 0:
		gen_string(g);
		break;
	case 1:
		emits(g, PICK(scalars));
		break;
	case 2:
		gen_queue(g, depth);
		break;
	default:
		emits(g, "[");
		for (int n = (int)(rng() % 4), i = 0; i < n; i++) {
			emits(g, i ? "," : "");
			gen_value(g, depth + 1);
		}
		emits(g, "]");
	}
}

/* A listing, plain or paged, in any key order, with nested values and odd items. */
static void gen_listing(struct gen *g)
{
	static const char *const page_keys[] = { "items", "page", "page_count", "total_count",
						 "filtered_count" };
	static const char *const counts[] = { "1", "2", "0", "1.5", "-1", "\"1\"", "7" };
	bool paged = rng() % 2;

	gen_space(g);
	emits(g, paged ? "{" : "");
	for (int n = paged ? (int)(rng() % 6) + 1 : 1, i = 0; i < n; i++) {
		const char *key =
			paged ? (i < 3 && rng() % 4 ? page_keys[rng() % 3] : PICK(page_keys))
			      : "items";
		if (paged) {
			emits(g, i ? ",\"" : "\"");
			emits(g, key);
			emits(g, "\":");
		}
		if (strcmp(key, "items") == 0) {
			emits(g, "[");
			for (int q = (int)(rng() % 12), j = 0; j < q; j++) {
				emits(g, j ? "," : "");
				gen_space(g);
				if (rng() % 8)
					gen_queue(g, 2);
				else
					gen_value(g, 2);
			}
			emits(g, "]");
		} else if (rng() % 5) {
			emits(g, PICK(counts));
		} else {
			gen_value(g, 1);
		}
	}
	emits(g, paged ? "}" : "");
	gen_space(g);
}

/* One random edit: a byte, a JSON-ish snippet in, a range out or copied, or a cut. */
static void mutate(struct gen *g)
{
	static const char *const snippets[] = {
		"{",	    "}",	 "[",	      "]",	  "\"",	     ":",
		",",	    "\\",	 "\\u",	      "\\ud83d",  "\\ude00", "\\u00e9",
		"\"name\"", "\"vhost\"", "\"items\"", "\"page\"", "true",    "null",
		"-0",	    "1e400",	 "0.5",	      "-",	  "1e",	     "{}",
		"[]",	    "\x1f",	 "\xff",      " ",	  "01",	     "\"\"",
	};
	size_t at = g->len ? rng() % (g->len + 1) : 0, n;
	char tmp[64];

	switch (rng() % 6) {
	case 0:
		if (at < g->len)
			g->buf[at] = (char)rng();
		break;
	case 1:
	case 2:
		n = at < g->len ? rng() % (g->len - at) % 16 + 1 : 0;
		memmove(g->buf + at, g->buf + at + n, g->len - at - n);
		g->len -= n;
		break;
	case 3:
		n = at < g->len ? rng() % (g->len - at) % 64 + 1 : 0;
		memcpy(tmp, g->buf + at, n);
		at = rng() % (g->len + 1);
		if (g->len + n <= g->cap) {
			memmove(g->buf + at + n, g->buf + at, g->len - at);
			memcpy(g->buf + at, tmp, n);
			g->len += n;
		}
		break;
	case 4: {
		const char *s = PICK(snippets);
		n = strlen(s);
		if (g->len + n <= g->cap) {
			memmove(g->buf + at + n, g->buf + at, g->len - at);
			memcpy(g->buf + at, s, n);
			g->len += n;
		}
		break;
	}
	default:
		g->len = at;
	}
}

/*
 * Random bodies in random pieces: generated listings (valid, or with one
 * edit), edited fixtures, and random bytes. Only documented results, the
 * same whole and in pieces, the list untouched on error, and on every body
 * the stream accepts the same records as the cJSON parser it replaced.
 */
static void test_fuzz(void)
{
	static char names[64][256];
	static char *corpus[64];
	static size_t corpus_len[64];
	size_t ncorpus = 0, nfix = fixture_names(names, 64), iters = 100000, bad = 0;
	size_t accepted = 0, compared = 0, queues = 0;
	const char *env = getenv("RMQ_FUZZ_ITERATIONS");
	struct gen g = { .buf = malloc(32768), .cap = 32768 };

	if (env)
		iters = strtoul(env, NULL, 10);
	for (size_t f = 0; f < nfix; f++) {
		size_t len;
		char *b = read_fixture(names[f], &len);
		if (b && len < 4096) {
			corpus[ncorpus] = b;
			corpus_len[ncorpus++] = len;
		} else {
			free(b);
		}
	}
	CHECK(ncorpus >= 20 && g.buf, "fuzz corpus: %zu fixtures", ncorpus);
	if (!g.buf || !ncorpus)
		return;
	for (size_t it = 0; it < iters; it++) {
		unsigned kind = (unsigned)(rng() % 10);
		g.len = 0;
		g.full = false;
		if (kind < 6) {
			gen_listing(&g);
			if (kind >= 4)
				mutate(&g);
		} else if (kind < 9) {
			size_t c = rng() % ncorpus;
			memcpy(g.buf, corpus[c], corpus_len[c]);
			g.len = corpus_len[c];
			for (int m = (int)(rng() % 3); m >= 0; m--)
				mutate(&g);
		} else {
			static const char alphabet[] = "{}[]\",:\\u0123456789abcdefeE+-.tfnrl \n";
			g.len = rng() % 200;
			for (size_t i = 0; i < g.len; i++)
				g.buf[i] = rng() % 2 ? alphabet[rng() % (sizeof(alphabet) - 1)]
						     : (char)rng();
		}
		if (g.full) {
			it--; /* too big for the buffer: draw again */
			continue;
		}

		struct rmq_list whole, pieces;
		struct rmq_page_info wi = { 0 }, pi = { 0 };
		bool sticky = true, ok;
		prefill(&whole);
		prefill(&pieces);
		int rc = rmq_parse_page(g.buf, g.len, &whole, &wi);
		int prc = stream_parse(&pieces, g.buf, g.len, 0, 0, &pi, &sticky);
		ok = documented(rc) && rc != -ENOMEM && prc == rc && sticky;
		if (rc == 0) {
			struct ref ref = { 0 };
			accepted++;
			queues += whole.len - 1;
			ok = ok && same_queues(whole.items, whole.len, pieces.items, pieces.len) &&
			     whole.skipped == pieces.skipped && same_info(&wi, &pi) &&
			     prefill_intact(&whole);
			if (cjson_comparable(g.buf, g.len)) {
				compared++;
				ok = ok && ref_parse(g.buf, g.len, &ref) == 0 &&
				     same_queues(whole.items + 1, whole.len - 1, ref.items,
						 ref.len) &&
				     whole.skipped - 1 == ref.skipped && same_info(&wi, &ref.info);
			}
			ref_free(&ref);
		} else {
			ok = ok && unchanged(&whole) && unchanged(&pieces);
		}
		if (!ok && !bad++) {
			printf("# fuzz %zu: rc %d, in pieces %d, body (%zu bytes): ", it, rc, prc,
			       g.len);
			fwrite(g.buf, 1, g.len > 400 ? 400 : g.len, stdout);
			printf("\n");
		}
		rmq_list_free(&whole);
		rmq_list_free(&pieces);
	}
	printf("# fuzz: %zu inputs, %zu accepted (%zu queues), %zu compared with cJSON\n", iters,
	       accepted, queues, compared);
	CHECK(bad == 0, "%zu fuzz inputs behave (%zu bad)", iters, bad);
	CHECK(iters < 1000 || (accepted > iters / 4 && compared > accepted / 2),
	      "the fuzz reaches valid listings: %zu accepted, %zu compared", accepted, compared);
	for (size_t i = 0; i < ncorpus; i++)
		free(corpus[i]);
	free(g.buf);
}

/* GET /api/vhosts?columns=name: an item needs only its name. */
static void test_vhost_listing(void)
{
	static const char body[] = "[{\"name\":\"/\",\"description\":\"d\",\"tags\":[]},"
				   "{\"name\":\"a/b \\u00e9\"},{\"description\":\"no name\"},"
				   "{\"name\":5},{\"name\":\"\"}]";
	struct rmq_list vh = { 0 }, q = { 0 };
	struct rmq_stream *s = rmq_stream_new_vhosts(&vh);

	CHECK(s && rmq_stream_feed(s, body, strlen(body)) == 0 && rmq_stream_finish(s, NULL) == 0,
	      "a vhost listing parses");
	rmq_stream_free(s);
	CHECK(vh.len == 3 && vh.skipped == 2,
	      "3 named vhosts, 2 items without a string name: %zu %zu", vh.len, vh.skipped);
	if (vh.len == 3) {
		CHECK_STR(vh.items[0].name, "/");
		CHECK_STR(vh.items[1].name, "a/b \xc3\xa9");
		CHECK_STR(vh.items[2].name, "");
		CHECK_STR(vh.items[0].vhost, "");
	}
	CHECK(parse_string(body, &q, NULL) == 0 && q.len == 0 && q.skipped == 5,
	      "a queue listing still needs name and vhost");
	s = rmq_stream_new_vhosts(&vh);
	CHECK(s && rmq_stream_feed(s, "{\"x\":1}", 7) == -EPROTO && vh.len == 3,
	      "not a listing: -EPROTO, the list as it was");
	rmq_stream_free(s);
	rmq_list_free(&vh);
	rmq_list_free(&q);
}

/* Per-vhost lists joined into one: records in order, their strings moved along. */
static void test_list_append(void)
{
	struct rmq_list all = { 0 }, one = { 0 };
	char body[256];
	int ok = 1;

	CHECK(rmq_list_append(&all, &one) == 0 && all.len == 0 && all.chunks == NULL,
	      "two empty lists");
	for (int i = 0; i < 1000; i++) {
		snprintf(body, sizeof(body),
			 "[{\"name\":\"q%d\",\"vhost\":\"v%d\",\"messages\":%d},"
			 "{\"name\":\"r%d\",\"vhost\":\"v%d\",\"node\":\"n\"},{\"x\":1}]",
			 i, i, i, i, i);
		/* every third vhost is empty, as a 404 (deleted) vhost leaves it */
		if (i % 3 && parse_string(body, &one, NULL))
			ok = 0;
		if (rmq_list_append(&all, &one) || one.len || one.items || one.chunks ||
		    one.skipped)
			ok = 0;
	}
	CHECK(ok, "1000 appends, the source left empty each time");
	size_t want = 0;
	for (int i = 0; i < 1000; i++) {
		if (!(i % 3))
			continue;
		char name[16], vhost[16];
		snprintf(name, sizeof(name), "q%d", i);
		snprintf(vhost, sizeof(vhost), "v%d", i);
		const struct rmq_queue *a = want < all.len ? &all.items[want] : NULL;
		const struct rmq_queue *b = want + 1 < all.len ? &all.items[want + 1] : NULL;
		if (!a || !b || strcmp(a->name, name) || strcmp(a->vhost, vhost) || a->v[0] != i ||
		    b->name[0] != 'r' || strcmp(b->vhost, vhost) || strcmp(b->node, "n"))
			ok = 0;
		want += 2;
	}
	CHECK(ok && all.len == want && all.skipped == want / 2,
	      "records in order with their strings: %zu of %zu, skipped %zu", all.len, want,
	      all.skipped);
	CHECK(rmq_list_append(&one, &all) == 0 && one.len == want && all.len == 0,
	      "into an empty list");
	rmq_list_free(&one);
	rmq_list_free(&all);
}

int main(void)
{
	test_real_paged_fast();
	test_all_fixtures_parse();
	test_full_listing_fields();
	test_quorum_leader_is_node();
	test_hostile();
	test_fixtures_any_split();
	test_truncated_everywhere();
	test_key_order_and_nesting();
	test_strings();
	test_numbers_and_literals();
	test_after_document();
	test_depth();
	test_arena_follows_records();
	test_stream_lifecycle();
	test_vhost_listing();
	test_list_append();
	test_fuzz();
	return test_summary("rabbitmq/test_parse");
}
