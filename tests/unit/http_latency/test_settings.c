/* test_settings.c — http_latency collector settings: bucket bounds (exact ns), target names and the
 * targets map's room. */
#include <errno.h>

#include "http_latency/settings.h"
#include "http_latency/state.h"
#include "test.h"

static char err[512];

static void test_buckets(void)
{
	struct latency_buckets b;
	int rc = latency_parse_buckets(
		"0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10", &b, err,
		sizeof(err));
	CHECK(rc == 0 && b.n == 14, "default buckets: %d %s", rc, err);
	CHECK(b.ns[0] == 5000000 && b.ns[5] == 100000000 && b.ns[13] == 10000000000ull,
	      "exact nanoseconds: %llu %llu", (unsigned long long)b.ns[0],
	      (unsigned long long)b.ns[5]);
	CHECK(b.seconds[5] == 0.1, "seconds kept for the le label");
	/* values whose binary form is below the decimal one still give the exact bound */
	CHECK(latency_parse_buckets("0.3,0.7,2.675", &b, err, sizeof(err)) == 0 &&
		      b.ns[0] == 300000000 && b.ns[1] == 700000000 && b.ns[2] == 2675000000ull,
	      "rounded to the nearest ns");
	static const char *bad[] = { "",  "0.1,0.1", "0.2,0.1", "abc", "0.1,,0.2", "-1",
				     "0", "1e9",     "0.1,x",	"nan", "0.0000001" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(latency_parse_buckets(bad[i], &b, err, sizeof(err)) == -EINVAL &&
			      strstr(err, "--http-buckets"),
		      "refused [%s]: %s", bad[i], err);
	char many[1024] = "";
	for (int i = 1; i <= 33; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many), "%s%d", i > 1 ? "," : "",
			 i);
	CHECK(latency_parse_buckets(many, &b, err, sizeof(err)) == -EINVAL &&
		      strstr(err, "at most"),
	      "33 bounds refused: %s", err);
	many[strrchr(many, ',') - many] = '\0';
	CHECK(latency_parse_buckets(many, &b, err, sizeof(err)) == 0 && b.n == 32, "32 accepted");
}

static void test_targets(void)
{
	struct latency_targets t;
	int rc = latency_parse_targets("node,nodejs,php-fpm*,php", &t, err, sizeof(err));
	CHECK(rc == 0 && t.n == 4, "defaults: %s", err);
	CHECK(strcmp(t.items[0].name, "node") == 0 && !t.items[0].prefix &&
		      t.items[0].runtime == HTTP_RUNTIME_NODE && t.items[0].mode == HTTP_MODE_HTTP,
	      "node");
	CHECK(strcmp(t.items[2].name, "php-fpm") == 0 && t.items[2].prefix &&
		      t.items[2].runtime == HTTP_RUNTIME_PHP &&
		      t.items[2].mode == HTTP_MODE_PHP_FCGI,
	      "php-fpm* is a FastCGI PHP prefix");
	CHECK(t.items[3].runtime == HTTP_RUNTIME_PHP && t.items[3].mode == HTTP_MODE_HTTP,
	      "php is PHP's own HTTP server");
	CHECK(latency_parse_targets("myapi", &t, err, sizeof(err)) == 0 &&
		      t.items[0].runtime == HTTP_RUNTIME_HTTP && t.items[0].mode == HTTP_MODE_HTTP,
	      "another name is measured as an HTTP server (runtime \"http\")");
	CHECK(latency_parse_targets("nginx,nodejs", &t, err, sizeof(err)) == 0 &&
		      t.items[0].runtime == HTTP_RUNTIME_NGINX &&
		      t.items[0].mode == HTTP_MODE_HTTP && t.items[1].runtime == HTTP_RUNTIME_NODE,
	      "nginx and nodejs are HTTP servers with their own runtime labels");
	static const char *bad[] = { "",  ",node", "node,,php",		 "/usr/bin/node",
				     "*", "no*de", "a23456789012345678", "a,b,c,d,e,f,g,h,i" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(latency_parse_targets(bad[i], &t, err, sizeof(err)) == -EINVAL &&
			      strstr(err, "--http-targets"),
		      "refused [%s]: %s", bad[i], err);
}

/* The targets map grows with the host's CPUs, never below 4,096. */
static void test_targets_room(void)
{
	CHECK(latency_targets_room(0) == 4096, "no CPU count: %u", latency_targets_room(0));
	CHECK(latency_targets_room(2) == 4096, "2 CPUs: %u", latency_targets_room(2));
	CHECK(latency_targets_room(96) == 6144, "96 CPUs: %u", latency_targets_room(96));
	CHECK(latency_targets_room(256) == 16384, "256 CPUs: %u", latency_targets_room(256));
}

int main(void)
{
	test_buckets();
	test_targets();
	test_targets_room();
	return test_summary("http_latency/test_settings");
}
