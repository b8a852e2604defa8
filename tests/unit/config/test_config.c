/* test_config.c — settings: precedence flag > env > file > default, validation, parsers. */
#include <cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "lib/parse.h"
#include "test.h"

static char tmpfile_path[64];

static const char *write_config(const char *text)
{
	strcpy(tmpfile_path, "/tmp/hostmon-test-config-XXXXXX");
	int fd = mkstemp(tmpfile_path);
	if (fd < 0)
		return NULL;
	ssize_t n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? tmpfile_path : NULL;
}

static int load(struct config *cfg, char **argv, char **envp, char *err)
{
	int argc = 0;
	while (argv[argc])
		argc++;
	return config_load(cfg, argc, argv, envp, err, 512);
}

static void test_defaults(void)
{
	struct config cfg;
	char err[512] = "";
	char *argv[] = { "hostmon", NULL };
	char *envp[] = { NULL };

	CHECK(load(&cfg, argv, envp, err) == 0, "%s", err);
	CHECK_STR(cfg.web.listen, ":9567");
	CHECK(cfg.core.collectors == NULL, "collectors default unset");
	CHECK(cfg.core.log_level == LOG_INFO, "level");
	CHECK(cfg.core.log_format == LOG_LOGFMT, "format");
	CHECK(!cfg.core.bpf_stats, "bpf_stats default off");
	CHECK(cfg.web.max_connections == 512, "%llu", (unsigned long long)cfg.web.max_connections);
	CHECK(cfg.web.max_request_header_bytes == 8192, "%llu",
	      (unsigned long long)cfg.web.max_request_header_bytes);
	CHECK(cfg.web.read_header_timeout_ms == 10000, "rht");
	CHECK(cfg.action == OPTIONS_RUN, "action");
	config_free(&cfg);
}

static void test_precedence(void)
{
	struct config cfg;
	char err[512] = "";
	const char *path = write_config("{\"listen\": \"127.0.0.1:1111\", \"log-level\": \"warn\","
					" \"log-format\": \"json\", \"max-connections\": 7,"
					" \"bpf-stats\": true, \"restart\": {\"rules\": []}}");
	char config_arg[80];
	snprintf(config_arg, sizeof(config_arg), "--config=%s", path);

	/* file only */
	{
		char *argv[] = { "hostmon", config_arg, NULL };
		char *envp[] = { NULL };
		CHECK(load(&cfg, argv, envp, err) == 0, "%s", err);
		CHECK_STR(cfg.web.listen, "127.0.0.1:1111");
		CHECK(cfg.core.log_level == LOG_WARN, "file level");
		CHECK(cfg.core.log_format == LOG_JSON, "file format");
		CHECK(cfg.web.max_connections == 7, "file number");
		CHECK(cfg.core.bpf_stats, "file bool");
		CHECK(cfg.file && cJSON_GetObjectItem(cfg.file, "restart"), "sections kept");
		config_free(&cfg);
	}
	/* env beats file */
	{
		char *argv[] = { "hostmon", config_arg, NULL };
		char *envp[] = { "HOSTMON_LISTEN=127.0.0.1:2222", "HOSTMON_MAX_CONNECTIONS=9",
				 "OTHER=x", NULL };
		CHECK(load(&cfg, argv, envp, err) == 0, "%s", err);
		CHECK_STR(cfg.web.listen, "127.0.0.1:2222");
		CHECK(cfg.web.max_connections == 9, "env number");
		CHECK(cfg.core.log_level == LOG_WARN, "file still applies to the rest");
		config_free(&cfg);
	}
	/* flag beats env, both spellings */
	{
		char *argv[] = { "hostmon",
				 "run",
				 config_arg,
				 "--listen",
				 "127.0.0.1:3333",
				 "--max-connections=11",
				 NULL };
		char *envp[] = { "HOSTMON_LISTEN=127.0.0.1:2222", "HOSTMON_MAX_CONNECTIONS=9",
				 NULL };
		CHECK(load(&cfg, argv, envp, err) == 0, "%s", err);
		CHECK_STR(cfg.web.listen, "127.0.0.1:3333");
		CHECK(cfg.web.max_connections == 11, "flag number");
		config_free(&cfg);
	}
	/* flags before and after "run" */
	{
		char *argv[] = {
			"hostmon", "--listen", "127.0.0.1:4444", "run", "--max-connections=12", NULL
		};
		char *envp[] = { NULL };
		CHECK(load(&cfg, argv, envp, err) == 0, "flags around run: %s", err);
		CHECK_STR(cfg.web.listen, "127.0.0.1:4444");
		CHECK(cfg.web.max_connections == 12, "flag after run");
		config_free(&cfg);
	}
	/* the config path itself from the environment */
	{
		char env[96];
		snprintf(env, sizeof(env), "HOSTMON_CONFIG=%s", path);
		char *argv[] = { "hostmon", NULL };
		char *envp[] = { env, NULL };
		CHECK(load(&cfg, argv, envp, err) == 0, "%s", err);
		CHECK_STR(cfg.web.listen, "127.0.0.1:1111");
		config_free(&cfg);
	}
	unlink(path);
}

static void expect_invalid(char **argv, char **envp, const char *fragment)
{
	struct config cfg;
	char err[512] = "";
	int rc = load(&cfg, argv, envp, err);
	CHECK(rc == -EINVAL, "rc %d for %s", rc, fragment);
	CHECK(strstr(err, fragment) != NULL, "error [%s] lacks [%s]", err, fragment);
	CHECK(strchr(err, '\n') == NULL, "one line: [%s]", err);
	config_free(&cfg);
}

static void test_invalid(void)
{
	char *none[] = { NULL };
	{
		char *argv[] = { "hostmon", "--nope", NULL };
		expect_invalid(argv, none, "unknown flag --nope");
	}
	{
		char *argv[] = { "hostmon", "--listen", "nonsense", NULL };
		expect_invalid(argv, none, "--listen");
	}
	{
		char *argv[] = { "hostmon", "--listen=:70000", NULL };
		expect_invalid(argv, none, "ADDR:PORT");
	}
	{
		char *argv[] = { "hostmon", "--log-level=loud", NULL };
		expect_invalid(argv, none, "debug, info, warn or error");
	}
	{
		char *argv[] = { "hostmon", "--max-connections=0", NULL };
		expect_invalid(argv, none, "--max-connections");
	}
	{
		char *argv[] = { "hostmon", "--idle-timeout=10 s", NULL };
		expect_invalid(argv, none, "duration");
		/* refusals say the accepted forms and the range */
		char *argv2[] = { "hostmon", "--idle-timeout=5", NULL };
		expect_invalid(argv2, none,
			       "a number and a unit (ms, s, m, h, d), such as 500ms, 1.5s");
		char *argv3[] = { "hostmon", "--max-connections=0", NULL };
		expect_invalid(argv3, none, "expected a whole number from ");
	}
	{
		char *argv[] = { "hostmon", "--listen", NULL };
		expect_invalid(argv, none, "needs a value");
	}
	{
		char *argv[] = { "hostmon", "stray", NULL };
		expect_invalid(argv, none, "unexpected argument");
	}
	{
		char *argv[] = { "hostmon", "--rabbitmq-password=hunter2", NULL };
		struct config cfg;
		char err[512] = "";
		CHECK(load(&cfg, argv, none, err) == -EINVAL, "secret on argv refused");
		CHECK(strstr(err, "not accepted on the command line") && !strstr(err, "hunter2"),
		      "refused without echoing it: %s", err);
		config_free(&cfg);
	}
	{
		char *argv[] = { "hostmon", "--rabbitmq-interval=5s", "--rabbitmq-timeout=5s",
				 NULL };
		expect_invalid(argv, none, "--rabbitmq-timeout must be below --rabbitmq-interval");
	}
	{
		/* a short interval alone starts: the default timeout follows it */
		char *argv[] = { "hostmon", "--rabbitmq-interval=1s", NULL };
		struct config cfg;
		char err[512] = "";
		CHECK(load(&cfg, argv, none, err) == 0, "--rabbitmq-interval 1s alone loads: %s",
		      err);
		CHECK(rabbitmq_settings_timeout_ms(&cfg.rabbitmq) == 750,
		      "default timeout 3/4 of a 1 s interval: %llu",
		      (unsigned long long)rabbitmq_settings_timeout_ms(&cfg.rabbitmq));
		config_free(&cfg);
		char *argv2[] = { "hostmon", NULL };
		CHECK(load(&cfg, argv2, none, err) == 0, "defaults load: %s", err);
		CHECK(rabbitmq_settings_timeout_ms(&cfg.rabbitmq) == 10000,
		      "default timeout 10 s at the default 15 s interval");
		config_free(&cfg);
		char *argv3[] = { "hostmon", "--rabbitmq-interval=1s", "--rabbitmq-timeout=900ms",
				  NULL };
		CHECK(load(&cfg, argv3, none, err) == 0,
		      "an explicit timeout below the interval: %s", err);
		CHECK(rabbitmq_settings_timeout_ms(&cfg.rabbitmq) == 900, "explicit timeout kept");
		config_free(&cfg);
		char *argv4[] = { "hostmon", "--rabbitmq-interval=1s", "--rabbitmq-timeout=1s",
				  NULL };
		expect_invalid(argv4, none, "--rabbitmq-timeout must be below --rabbitmq-interval");
	}
	{
		/* each collector's own rows and checks run: http_latency's ranges, buckets, targets
		 */
		char *argv[] = { "hostmon", "--http-max-routes=0", NULL };
		expect_invalid(argv, none, "--http-max-routes");
		char *argv2[] = { "hostmon", "--http-buckets=0.1,0.05", NULL };
		expect_invalid(argv2, none, "bounds must increase");
		char *argv4[] = { "hostmon", "--http-routes=/a/*/b", NULL };
		expect_invalid(argv4, none, "--http-routes");
		char *argv3[] = { "hostmon", NULL };
		char *envp[] = { "HOSTMON_HTTP_TARGETS=", NULL };
		expect_invalid(argv3, envp, "HOSTMON_HTTP_TARGETS");
	}
	{
		char *argv[] = { "hostmon", "--rabbitmq-max-parallel-requests=33", NULL };
		expect_invalid(argv, none, "--rabbitmq-max-parallel-requests");
	}
	{
		char *argv[] = { "hostmon", NULL };
		char *envp[] = { "HOSTMON_RABBITMQ_MAX_PARALLEL_REQUESTS=0", NULL };
		expect_invalid(argv, envp, "HOSTMON_RABBITMQ_MAX_PARALLEL_REQUESTS");
	}
	{
		char *argv[] = { "hostmon", "--rabbitmq-url=ftp://x", NULL };
		expect_invalid(argv, none, "http:// or https://");
	}
	{
		/* credentials in the URL: refused, the message says where they go, never echoes
		 * them */
		char *argv[] = { "hostmon", "--rabbitmq-url=http://admin:hunter2@mq:15672/", NULL };
		expect_invalid(argv, none, "--rabbitmq-password-file");
		char *ftp[] = { "hostmon", "--rabbitmq-url=ftp://admin:hunter2@mq", NULL };
		expect_invalid(ftp, none, "must not carry credentials");
		char *plain[] = { "hostmon", NULL };
		char *envp[] = { "RABBITMQ_HOST=admin:hunter2@mq", NULL };
		expect_invalid(plain, envp, "HOSTMON_RABBITMQ_PASSWORD");
		struct config cfg;
		char err[512] = "";
		CHECK(load(&cfg, argv, none, err) == -EINVAL && !strstr(err, "hunter2"),
		      "the password is not echoed: %s", err);
		config_free(&cfg);
		char *at_in_path[] = { "hostmon", "--rabbitmq-url=http://mq:15672/a@b", NULL };
		CHECK(load(&cfg, at_in_path, none, err) == 0,
		      "an @ after the host is no userinfo: %s", err);
		config_free(&cfg);
	}
	{
		char *argv[] = { "hostmon", NULL };
		char *envp[] = { "HOSTMON_BPF_STATS=maybe", NULL };
		expect_invalid(argv, envp, "HOSTMON_BPF_STATS");
	}
	{
		const char *path = write_config("{\"listen\": ");
		char arg[80];
		snprintf(arg, sizeof(arg), "--config=%s", path);
		char *argv[] = { "hostmon", arg, NULL };
		expect_invalid(argv, none, "invalid JSON");
		unlink(path);
	}
	{
		/* line and column where the parser stopped: the bracket that is no value */
		const char *path = write_config("{\n  \"listen\": \":1\",\n  \"log-level\": ]\n}");
		char arg[80];
		snprintf(arg, sizeof(arg), "--config=%s", path);
		char *argv[] = { "hostmon", arg, NULL };
		expect_invalid(argv, none, "invalid JSON at line 3, column 16");
		unlink(path);
	}
	{
		const char *path = write_config("[1]");
		char arg[80];
		snprintf(arg, sizeof(arg), "--config=%s", path);
		char *argv[] = { "hostmon", arg, NULL };
		expect_invalid(argv, none, "top level is not a JSON object at line 1, column 1");
		unlink(path);
	}
	{
		const char *path = write_config("{\"lisen\": \":1\"}");
		char arg[80];
		snprintf(arg, sizeof(arg), "--config=%s", path);
		char *argv[] = { "hostmon", arg, NULL };
		expect_invalid(argv, none, "unknown key \"lisen\"");
		unlink(path);
	}
	{
		const char *path = write_config("{\"max-connections\": 1.5}");
		char arg[80];
		snprintf(arg, sizeof(arg), "--config=%s", path);
		char *argv[] = { "hostmon", arg, NULL };
		expect_invalid(argv, none, "must be a string");
		unlink(path);
	}
	{
		/* "run" once; a second is an unexpected argument */
		char *argv[] = { "hostmon", "run", "--listen=:1", "run", NULL };
		expect_invalid(argv, none, "unexpected argument \"run\"");
	}
	{
		char *argv[] = { "hostmon", "--config=/nonexistent/hostmon.json", NULL };
		struct config cfg;
		char err[512] = "";
		CHECK(load(&cfg, argv, none, err) == -ENOENT, "missing file: %s", err);
		CHECK(strstr(err, "/nonexistent/hostmon.json") != NULL, "%s", err);
		config_free(&cfg);
	}
}

/* The reference RabbitMQ exporter's variables: below HOSTMON_* and the file, above defaults. */
static void test_compat_env(void)
{
	struct config cfg;
	char err[512] = "";
	char *argv[] = { "hostmon", NULL };
	{
		char *envp[] = { "RABBITMQ_HOST=mq.internal", "RABBITMQ_USER=mon",
				 "RABBITMQ_PASSWORD=s3cret", NULL };
		CHECK(load(&cfg, argv, envp, err) == 0, "%s", err);
		CHECK_STR(cfg.rabbitmq.url, "http://mq.internal:15672");
		CHECK_STR(cfg.rabbitmq.user, "mon");
		CHECK_STR(cfg.rabbitmq.password, "s3cret");
		config_free(&cfg);
	}
	{
		char *envp[] = { "RABBITMQ_HOST=mq.internal", "HOSTMON_RABBITMQ_URL=https://a:1",
				 "HOSTMON_RABBITMQ_PASSWORD=p2", "RABBITMQ_PASSWORD=p1", NULL };
		CHECK(load(&cfg, argv, envp, err) == 0, "%s", err);
		CHECK_STR(cfg.rabbitmq.url, "https://a:1");
		CHECK_STR(cfg.rabbitmq.password, "p2");
		config_free(&cfg);
	}
	{
		char *envp[] = { NULL };
		CHECK(load(&cfg, argv, envp, err) == 0, "%s", err);
		CHECK(cfg.rabbitmq.url == NULL, "rabbitmq off by default");
		CHECK_STR(cfg.rabbitmq.user, "guest");
		CHECK(cfg.rabbitmq.max_parallel_requests == 4, "4 requests in flight by default");
		config_free(&cfg);
	}
}

static void test_actions(void)
{
	struct config cfg;
	char err[512] = "";
	char *none[] = { NULL };
	char *help[] = { "hostmon", "--help", NULL };
	char *version[] = { "hostmon", "--version", NULL };
	/* --help wins even after an invalid value, so a user can always read it */
	char *bad_then_help[] = { "hostmon", "--help", "--listen=bad", NULL };

	CHECK(load(&cfg, help, none, err) == 1 && cfg.action == OPTIONS_HELP, "help");
	config_free(&cfg);
	CHECK(load(&cfg, version, none, err) == 1 && cfg.action == OPTIONS_VERSION, "version");
	config_free(&cfg);
	CHECK(load(&cfg, bad_then_help, none, err) == 1 && cfg.action == OPTIONS_HELP,
	      "help first");
	config_free(&cfg);
}

static void test_parsers(void)
{
	uint64_t v = 0;
	bool b = false;

	CHECK(parse_duration_ms("15s", &v) == 0 && v == 15000, "15s");
	CHECK(parse_duration_ms("500ms", &v) == 0 && v == 500, "500ms");
	CHECK(parse_duration_ms("1h2m3s", &v) == 0 && v == 3723000, "1h2m3s");
	CHECK(parse_duration_ms("2m", &v) == 0 && v == 120000, "2m");
	CHECK(parse_duration_ms("1d", &v) == 0 && v == 86400000, "1d");
	CHECK(parse_duration_ms("0", &v) == 0 && v == 0, "0");
	CHECK(parse_duration_ms("10", &v) == -EINVAL, "unitless");
	CHECK(parse_duration_ms("", &v) == -EINVAL, "empty");
	CHECK(parse_duration_ms("-1s", &v) == -EINVAL, "negative");
	CHECK(parse_duration_ms("1.5s", &v) == 0 && v == 1500, "1.5s");
	CHECK(parse_duration_ms("0.25s", &v) == 0 && v == 250, "0.25s");
	CHECK(parse_duration_ms("1.5m", &v) == 0 && v == 90000, "1.5m");
	CHECK(parse_duration_ms("1h30m", &v) == 0 && v == 5400000, "1h30m");
	CHECK(parse_duration_ms("1.5ms", &v) == -EINVAL, "finer than a millisecond");
	CHECK(parse_duration_ms("1.0001s", &v) == -EINVAL, "more than 3 fraction digits");
	CHECK(parse_duration_ms("1.s", &v) == -EINVAL, "no fraction digits");
	CHECK(parse_duration_ms(".5s", &v) == -EINVAL, "no whole part");
	CHECK(parse_duration_ms("5sec", &v) == -EINVAL, "5sec");
	CHECK(parse_duration_ms("5x", &v) == -EINVAL, "unit");
	CHECK(parse_duration_ms("99999999999999999999s", &v) == -EINVAL, "overflow");
	CHECK(parse_duration_ms("9999999999999999h", &v) == -EINVAL, "mult overflow");
	v = 42;
	CHECK(parse_duration_ms("bad", &v) == -EINVAL && v == 42, "output untouched on error");

	CHECK(parse_size("8KiB", &v) == 0 && v == 8192, "KiB");
	CHECK(parse_size("1MiB", &v) == 0 && v == 1048576, "MiB");
	CHECK(parse_size("123", &v) == 0 && v == 123, "plain");
	CHECK(parse_size("1kb", &v) == -EINVAL, "bad suffix");

	CHECK(parse_u64("10", 1, 10, &v) == 0 && v == 10, "in range");
	CHECK(parse_u64("11", 1, 10, &v) == -EINVAL, "above");
	CHECK(parse_u64(" 5", 1, 10, &v) == -EINVAL, "space");
	CHECK(parse_u64("5x", 1, 10, &v) == -EINVAL, "suffix");

	CHECK(parse_bool("TRUE", &b) == 0 && b, "TRUE");
	CHECK(parse_bool("off", &b) == 0 && !b, "off");
	CHECK(parse_bool("2", &b) == -EINVAL, "2");
}

int main(void)
{
	test_defaults();
	test_precedence();
	test_invalid();
	test_actions();
	test_compat_env();
	test_parsers();
	return test_summary("config/test_config");
}
