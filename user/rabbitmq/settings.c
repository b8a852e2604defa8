/* rabbitmq/settings.c — the option rows of the rabbitmq collector and the rules between them. */
#include "rabbitmq/settings.h"

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define OFF(field) offsetof(struct rabbitmq_settings, field)

static const char *const sources[] = { "auto", "management", "prometheus", NULL };
static const char *const consumer_polls[] = { "count", "detail", NULL };

static const struct option_def rows[] = {
	{ "rabbitmq-url", OPT_STRING, OFF(url), NULL, 0, 0, "URL",
	  "RabbitMQ management API, e.g. http://127.0.0.1:15672; enables the rabbitmq collector",
	  .compat_env = "RABBITMQ_HOST", .compat_format = "http://%s:15672" },
	{ "rabbitmq-user", OPT_STRING, OFF(user), "guest", 0, 0, "USER", "RabbitMQ management user",
	  .compat_env = "RABBITMQ_USER" },
	{ "rabbitmq-password", OPT_SECRET, OFF(password), NULL, 0, 0, NULL,
	  "RabbitMQ password: environment or config file only, never a flag",
	  .compat_env = "RABBITMQ_PASSWORD" },
	{ "rabbitmq-password-file", OPT_STRING, OFF(password_file), NULL, 0, 0, "FILE",
	  "file holding the RabbitMQ password (first line)" },
	{ "rabbitmq-interval", OPT_DURATION, OFF(interval_ms), "15s", 100, 86400000, "DURATION",
	  "how often queue counts are polled" },
	{ "rabbitmq-timeout", OPT_DURATION, OFF(timeout_ms), NULL, 50, 3600000, "DURATION",
	  "limit for one poll; default 10s or 3/4 of --rabbitmq-interval when that is shorter; "
	  "when set, must be below --rabbitmq-interval" },
	{ "rabbitmq-detail-interval", OPT_DURATION, OFF(detail_interval_ms), "60s", 100, 86400000,
	  "DURATION",
	  "how often consumers and message bytes (statistics-database fields) are polled" },
	{ "rabbitmq-ca-file", OPT_STRING, OFF(ca_file), NULL, 0, 0, "FILE",
	  "CA bundle to verify the RabbitMQ server's certificate" },
	{ "rabbitmq-cert-file", OPT_STRING, OFF(cert_file), NULL, 0, 0, "FILE",
	  "client certificate for RabbitMQ (PEM)" },
	{ "rabbitmq-key-file", OPT_STRING, OFF(key_file), NULL, 0, 0, "FILE",
	  "client key for RabbitMQ (PEM)" },
	{ "rabbitmq-insecure-skip-verify", OPT_BOOL, OFF(insecure_skip_verify), "false", 0, 0, NULL,
	  "do not verify the RabbitMQ server's certificate (insecure)" },
	{ "rabbitmq-include-vhost", OPT_REGEX, OFF(include_vhost), NULL, 0, 0, "REGEX",
	  "export only queues of vhosts matching" },
	{ "rabbitmq-exclude-vhost", OPT_REGEX, OFF(exclude_vhost), NULL, 0, 0, "REGEX",
	  "do not export queues of vhosts matching" },
	{ "rabbitmq-include-queue", OPT_REGEX, OFF(include_queue), NULL, 0, 0, "REGEX",
	  "export only queues whose name matches" },
	{ "rabbitmq-exclude-queue", OPT_REGEX, OFF(exclude_queue), NULL, 0, 0, "REGEX",
	  "do not export queues whose name matches" },
	{ "rabbitmq-max-queues", OPT_U64, OFF(max_queues), "100000", 1, 10000000, "N",
	  "queues exported at most; the rest are counted in hostmon_rabbitmq_queues_dropped" },
	{ "rabbitmq-max-response-bytes", OPT_SIZE, OFF(max_response_bytes), "64MiB", 4096,
	  1ull << 34, "SIZE", "largest RabbitMQ API response accepted (each one)" },
	{ "rabbitmq-max-parallel-requests", OPT_U64, OFF(max_parallel_requests), "4", 1, 32, "N",
	  "RabbitMQ requests in flight at once (one per vhost), each on its own connection" },
	{ "rabbitmq-source", OPT_CHOICE, OFF(source), "auto", 0, 0, "SOURCE",
	  "where queue numbers come from: prometheus (the rabbitmq_prometheus plugin's "
	  "/metrics/detailed, per vhost), management (the management API), or auto (the plugin "
	  "where it answers)",
	  .choices = sources },
	{ "rabbitmq-plugin-consumers", OPT_CHOICE, OFF(plugin_consumers), "count", 0, 0, "POLL",
	  "with the rabbitmq_prometheus plugin, which poll reads queue consumers: count (every "
	  "--rabbitmq-interval) or detail (every --rabbitmq-detail-interval, for a count poll "
	  "about "
	  "a third as costly to the broker at many queues)",
	  .choices = consumer_polls },
	{ "rabbitmq-prometheus-url", OPT_STRING, OFF(prometheus_url), NULL, 0, 0, "URL[,URL...]",
	  "the rabbitmq_prometheus plugin's listener on every cluster node; default: the "
	  "http/prometheus listeners that /api/overview names" },
};

/* user:password@ in the authority: shown by ps and logs, and libcurl would use it over the
 * configured credentials. Refused rather than stripped, so nobody believes it was used. */
static bool url_has_userinfo(const char *url)
{
	const char *auth = strstr(url, "://");
	if (!auth)
		return false;
	auth += 3;
	size_t n = strcspn(auth, "/?#");
	return memchr(auth, '@', n) != NULL;
}

static int check(const void *settings, char *err, size_t errlen)
{
	const struct rabbitmq_settings *s = settings;

	/* first, so no message below echoes a password */
	if (s->url && url_has_userinfo(s->url)) {
		snprintf(err, errlen,
			 "--rabbitmq-url must not carry credentials (user:password@host): give the "
			 "user in --rabbitmq-user and the password in HOSTMON_RABBITMQ_PASSWORD, "
			 "--rabbitmq-password-file or the config file's \"rabbitmq-password\"");
		return -EINVAL;
	}
	if (s->url && strncmp(s->url, "http://", 7) != 0 && strncmp(s->url, "https://", 8) != 0) {
		snprintf(err, errlen,
			 "invalid value \"%s\" for --rabbitmq-url: expected http:// or https://",
			 s->url);
		return -EINVAL;
	}
	for (const char *u = s->prometheus_url ? s->prometheus_url : ""; *u;) {
		size_t n = strcspn(u, ",");
		char one[512];
		snprintf(one, sizeof(one), "%.*s", (int)n, u);
		u += n + (u[n] == ',');
		while (*u == ' ')
			u++;
		if (url_has_userinfo(one)) {
			snprintf(err, errlen,
				 "--rabbitmq-prometheus-url must not carry credentials "
				 "(user:password@host)");
			return -EINVAL;
		}
		if (strncmp(one, "http://", 7) != 0 && strncmp(one, "https://", 8) != 0) {
			snprintf(err, errlen,
				 "invalid value \"%s\" in --rabbitmq-prometheus-url: expected "
				 "http:// or https://",
				 one);
			return -EINVAL;
		}
	}
	/* only a timeout the user chose can be wrong: the default follows the interval */
	if (s->timeout_ms && s->timeout_ms >= s->interval_ms) {
		snprintf(err, errlen, "--rabbitmq-timeout must be below --rabbitmq-interval");
		return -EINVAL;
	}
	if (s->password && s->password_file) {
		snprintf(err, errlen,
			 "both a RabbitMQ password and --rabbitmq-password-file are set; keep one");
		return -EINVAL;
	}
	return 0;
}

uint64_t rabbitmq_settings_timeout_ms(const struct rabbitmq_settings *s)
{
	uint64_t follow = s->interval_ms / 4 * 3;
	if (s->timeout_ms)
		return s->timeout_ms;
	return follow < RABBITMQ_DEFAULT_TIMEOUT_MS ? follow : RABBITMQ_DEFAULT_TIMEOUT_MS;
}

const struct option_group rabbitmq_option_group = {
	.title = "rabbitmq collector (every queue in every vhost)",
	.options = rows,
	.noptions = sizeof(rows) / sizeof(rows[0]),
	.check = check,
};
