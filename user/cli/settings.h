/* cli/settings.h — the flags of the commands for people (hostmon top, latency, status). */
#ifndef HOSTMON_CLI_SETTINGS_H
#define HOSTMON_CLI_SETTINGS_H

#include <stdbool.h>
#include <stdint.h>

#include "config/options.h"

/*
 * API:
 *   Each command's flags load through the same option loader as the
 *   daemon's (flag > HOSTMON_<FLAG> environment > default). Both commands
 *   read a daemon (cli_source_group); top adds cli_top_group, latency
 *   cli_latency_group, status cli_status_group. Sort keys and their letters: cpu c, wait w,
 *   throttled t, requests r, p99 p, errors e.
 */
struct cli_source_settings {
	char *url;
	uint64_t timeout_ms;
};

struct cli_top_settings {
	uint64_t interval_ms;
	char *sort;
	char *filter; /* NULL: every cgroup */
	bool once, json;
};

struct cli_latency_settings {
	char *cgroup; /* NULL: every cgroup */
	uint64_t pid; /* 0: none; else the cgroup this process is in */
	uint64_t duration_ms;
	char *by;
	bool json;
};

struct cli_status_settings {
	bool json;
};

extern const struct option_group cli_source_group, cli_top_group, cli_latency_group,
	cli_status_group;

#endif
