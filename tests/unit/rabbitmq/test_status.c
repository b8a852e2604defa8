/* test_status.c — what a non-200 answer of the management API tells the operator. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rabbitmq/fetch.h"
#include "test.h"

static void test_unauthorized(void)
{
	char d[256];
	enum rmq_reason r = rmq_status_reason(401, "http://127.0.0.1:15672/api/vhosts?columns=name",
					      "guest", true, d, sizeof(d));
	CHECK(r == RMQ_REASON_AUTH, "401 with a password: reason auth (%d)", r);
	CHECK(strstr(d, "unauthorized: user guest, password given") != NULL, "detail: %s", d);

	r = rmq_status_reason(401, "http://127.0.0.1:15672/api/vhosts?columns=name", "monitor",
			      false, d, sizeof(d));
	CHECK(r == RMQ_REASON_AUTH_NO_PASSWORD, "401 without a password: auth_no_password (%d)", r);
	CHECK(strstr(d, "user monitor, no password configured") != NULL &&
		      strstr(d, "--rabbitmq-password-file") &&
		      strstr(d, "HOSTMON_RABBITMQ_PASSWORD"),
	      "detail names the user and where a password is set: %s", d);
	CHECK_STR(rmq_reason_names[RMQ_REASON_AUTH_NO_PASSWORD], "auth_no_password");

	r = rmq_status_reason(403, "http://h/api/queues/%2F", "guest", true, d, sizeof(d));
	CHECK(r == RMQ_REASON_AUTH && strstr(d, "403") && strstr(d, "guest"), "403: %d %s", r, d);
}

static void test_not_found(void)
{
	char d[256];
	enum rmq_reason r =
		rmq_status_reason(404, "http://127.0.0.1:15672/prefix/api/vhosts?columns=name",
				  "guest", true, d, sizeof(d));
	CHECK(r == RMQ_REASON_NOT_FOUND, "404: reason not_found (%d)", r);
	CHECK(strcmp(d,
		     "HTTP status 404 for http://127.0.0.1:15672/prefix/api/vhosts?columns=name") ==
		      0,
	      "404 detail: %s", d);
	CHECK_STR(rmq_reason_names[RMQ_REASON_NOT_FOUND], "not_found");

	/* a URL with userinfo: neither the user nor the secret reaches the detail */
	r = rmq_status_reason(404, "https://admin:s3cret@mq.example:15671/api/vhosts", "guest",
			      true, d, sizeof(d));
	CHECK(r == RMQ_REASON_NOT_FOUND && strstr(d, "s3cret") == NULL &&
		      strstr(d, "admin") == NULL &&
		      strstr(d, "https://mq.example:15671/api/vhosts") != NULL,
	      "userinfo left out: %s", d);

	/* a very long URL is cut, never overflows */
	char url[600];
	memset(url, 'a', sizeof(url));
	memcpy(url, "http://h/", 9);
	url[sizeof(url) - 1] = '\0';
	r = rmq_status_reason(404, url, "guest", true, d, 40);
	CHECK(r == RMQ_REASON_NOT_FOUND && strlen(d) == 39, "long URL cut to the buffer: %zu",
	      strlen(d));
}

static void test_other_status(void)
{
	char d[256];
	enum rmq_reason r =
		rmq_status_reason(500, "http://h/api/vhosts", "guest", true, d, sizeof(d));
	CHECK(r == RMQ_REASON_HTTP_STATUS, "500: http_status (%d)", r);
	CHECK(strcmp(d, "HTTP status 500") == 0, "500 detail: %s", d);
	for (int i = 0; i < RMQ_REASON_MAX; i++)
		CHECK(rmq_reason_names[i] && *rmq_reason_names[i], "reason %d has a name", i);
}

int main(void)
{
	test_unauthorized();
	test_not_found();
	test_other_status();
	return test_summary("rabbitmq/test_status");
}
