/* cli/settings.c — the option rows of hostmon top, hostmon latency and hostmon status. */
#include "cli/settings.h"

#include <stddef.h>

static const struct option_def source_rows[] = {
	{ "url", OPT_STRING, offsetof(struct cli_source_settings, url), "http://127.0.0.1:9567", 0,
	  0, "URL", "the running hostmon daemon to read (its /metrics, or /status.json)" },
	{ "timeout", OPT_DURATION, offsetof(struct cli_source_settings, timeout_ms), "5s", 100,
	  600000, "DURATION", "how long one read of the daemon may take" },
};

const struct option_group cli_source_group = {
	.title = "Source",
	.options = source_rows,
	.noptions = sizeof(source_rows) / sizeof(source_rows[0]),
};

static const char *const sort_keys[] = { "cpu", "wait",	  "throttled", "requests",
					 "p99", "errors", NULL };

#define TOP(field) offsetof(struct cli_top_settings, field)

static const struct option_def top_rows[] = {
	{ "interval", OPT_DURATION, TOP(interval_ms), "1s", 100, 3600000, "DURATION",
	  "time between two reads; rates and percentiles are over it" },
	{ "sort", OPT_CHOICE, TOP(sort), "cpu", 0, 0, "KEY",
	  "cpu, wait, throttled, requests, p99 or errors (keys c w t r p e)", NULL, NULL,
	  sort_keys },
	{ "filter", OPT_REGEX, TOP(filter), NULL, 0, 0, "REGEX",
	  "only cgroups whose name or path match (key /)" },
	{ "once", OPT_BOOL, TOP(once), "false", 0, 0, NULL,
	  "print one plain table after one interval and exit (also when not on a terminal)" },
	{ "json", OPT_BOOL, TOP(json), "false", 0, 0, NULL,
	  "one JSON document instead of the table (implies --once)" },
};

const struct option_group cli_top_group = {
	.title = "hostmon top",
	.options = top_rows,
	.noptions = sizeof(top_rows) / sizeof(top_rows[0]),
};

static const char *const split_keys[] = { "status", "method", "route", "service", NULL };

#define LAT(field) offsetof(struct cli_latency_settings, field)

static const struct option_def latency_rows[] = {
	{ "cgroup", OPT_REGEX, LAT(cgroup), NULL, 0, 0, "REGEX",
	  "only cgroups whose name or path match" },
	{ "pid", OPT_U64, LAT(pid), NULL, 1, 4194304, "N",
	  "only the cgroup process N is in (instead of --cgroup)" },
	{ "duration", OPT_DURATION, LAT(duration_ms), "10s", 100, 86400000, "DURATION",
	  "the window to collect over" },
	{ "by", OPT_CHOICE, LAT(by), "status", 0, 0, "LABEL",
	  "split the requests by status, method, route or service (cgroup)", NULL, NULL,
	  split_keys },
	{ "json", OPT_BOOL, LAT(json), "false", 0, 0, NULL, "one JSON document instead of text" },
};

const struct option_group cli_latency_group = {
	.title = "hostmon latency",
	.options = latency_rows,
	.noptions = sizeof(latency_rows) / sizeof(latency_rows[0]),
};

static const struct option_def status_rows[] = {
	{ "json", OPT_BOOL, offsetof(struct cli_status_settings, json), "false", 0, 0, NULL,
	  "print the daemon's /status.json as it is instead of text" },
};

const struct option_group cli_status_group = {
	.title = "hostmon status",
	.options = status_rows,
	.noptions = sizeof(status_rows) / sizeof(status_rows[0]),
};
