/* rabbitmq/settings.h — the rabbitmq collector's settings: broker, credentials, TLS, cadence,
 * filters and bounds. */
#ifndef HOSTMON_RABBITMQ_SETTINGS_H
#define HOSTMON_RABBITMQ_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "config/options.h"

struct rabbitmq_settings {
	char *url; /* http(s)://host:port; NULL: collector off */
	char *user;
	char *password; /* from the environment or the file option only, never argv */
	char *password_file;
	uint64_t interval_ms;
	uint64_t timeout_ms; /* 0: not set, see rabbitmq_settings_timeout_ms() */
	uint64_t detail_interval_ms;
	char *ca_file;
	char *cert_file;
	char *key_file;
	bool insecure_skip_verify;
	char *include_vhost;
	char *exclude_vhost;
	char *include_queue;
	char *exclude_queue;
	uint64_t max_queues;
	uint64_t max_response_bytes;
	uint64_t max_parallel_requests; /* vhost listings in flight at once */
	char *source;			/* auto, management, prometheus */
	char *plugin_consumers; /* count, detail: the poll that reads the plugin's consumers */
	char *prometheus_url;	/* the rabbitmq_prometheus listener; NULL: the URL's host, :15692 */
};

#define RABBITMQ_DEFAULT_TIMEOUT_MS 10000

extern const struct option_group rabbitmq_option_group;

/* The poll's time limit: --rabbitmq-timeout, or 10 s, or 3/4 of the interval when that is less. */
uint64_t rabbitmq_settings_timeout_ms(const struct rabbitmq_settings *s);

#endif
