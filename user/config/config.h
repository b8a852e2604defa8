/* config/config.h — daemon settings from flags, HOSTMON_* environment, a JSON file and defaults. */
#ifndef HOSTMON_CONFIG_CONFIG_H
#define HOSTMON_CONFIG_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/log.h"

/*
 * API:
 *   Every setting is one row of the option table in config.c: a flag
 *   (--name), its environment variable (HOSTMON_NAME, dashes become
 *   underscores) and the same name as a key of the JSON file. Precedence:
 *   flag > environment > file > default.
 *
 *   config_load() fills *cfg from argv/envp; on an invalid setting it
 *   writes one line to err (no trailing newline) and returns -EINVAL.
 *   It returns 1 (and sets cfg->action) for --help and --version.
 *   config_free() releases what config_load() allocated; accepts NULL.
 *
 *   The parsed JSON file stays available as cfg->file (a cJSON tree owned
 *   by cfg) for structured sections such as restart rules.
 */

struct cJSON;

enum config_action {
	CONFIG_RUN,
	CONFIG_HELP,
	CONFIG_VERSION,
};

struct config {
	enum config_action action;
	char *listen;	   /* ADDR:PORT; ":9567" means every address */
	char *config_file; /* NULL when none */
	char *collectors;  /* comma list; NULL means "every available and configured" */
	enum log_level log_level;
	enum log_format log_format;
	bool bpf_stats;
	uint64_t max_connections;
	uint64_t max_request_header_bytes;
	uint64_t read_header_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t write_timeout_ms;
	/* cpu collector */
	uint64_t cpu_max_cgroups; /* kernel map size */
	uint64_t cpu_max_series;  /* exported cgroups per scrape */
	uint64_t cpu_max_depth;	  /* 0: any depth */
	char *cpu_include;	  /* POSIX extended regex on the cgroup path, or NULL */
	char *cpu_exclude;
	uint64_t cgroup_refresh_interval_ms; /* rescan of the hierarchy for removed cgroups */
	char *cpu_hook;			     /* auto, tp_btf or raw_tp */
	/* http collector */
	char *http_targets; /* executable names, comma list */
	char *http_include_cgroup;
	char *http_exclude_cgroup;
	char *http_buckets; /* seconds, comma list */
	uint64_t http_max_series;
	uint64_t http_max_inflight;
	bool http_php_usdt;
	char *http_hook; /* auto, tp_btf or raw_tp */
	/* rabbitmq collector */
	char *rabbitmq_url; /* http(s)://host:port; NULL: collector off */
	char *rabbitmq_user;
	char *rabbitmq_password; /* from the environment or the file option only, never argv */
	char *rabbitmq_password_file;
	uint64_t rabbitmq_interval_ms;
	uint64_t rabbitmq_timeout_ms;
	uint64_t rabbitmq_detail_interval_ms;
	char *rabbitmq_ca_file;
	char *rabbitmq_cert_file;
	char *rabbitmq_key_file;
	bool rabbitmq_insecure_skip_verify;
	char *rabbitmq_include_vhost;
	char *rabbitmq_exclude_vhost;
	char *rabbitmq_include_queue;
	char *rabbitmq_exclude_queue;
	uint64_t rabbitmq_max_queues;
	uint64_t rabbitmq_max_response_bytes;
	uint64_t rabbitmq_max_parallel_requests; /* vhost listings in flight at once */
	struct cJSON *file;			 /* parsed --config file, or NULL */
};

int config_load(struct config *cfg, int argc, char **argv, char **envp, char *err, size_t errlen);
void config_free(struct config *cfg);
void config_print_help(const char *prog);

/* Parsers shared with other modules; 0 or -EINVAL, *out written only on success. */
int config_parse_duration_ms(const char *s, uint64_t *out); /* "1h2m3s", "500ms", "0" */
int config_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int config_parse_bool(const char *s, bool *out);
int config_parse_size(const char *s, uint64_t *out); /* "8192", "8KiB", "1MiB" */
/* Reads and parses a JSON config file whose top level is an object; *out is the caller's. */
int config_read_json_file(const char *path, struct cJSON **out, char *err, size_t errlen);

#endif
