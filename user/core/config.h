/* core/config.h — all of hostmon's settings: each module's typed settings, loaded together. */
#ifndef HOSTMON_CORE_CONFIG_H
#define HOSTMON_CORE_CONFIG_H

#include <stdbool.h>

#include "cgroup/settings.h"
#include "cgroup_cpu/settings.h"
#include "config/options.h"
#include "core/log.h"
#include "http_latency/settings.h"
#include "rabbitmq/settings.h"
#include "web/settings.h"

/*
 * API:
 *   Each module owns its settings struct and its option rows
 *   (<module>/settings.c); struct config only puts them side by side, and a
 *   module reads its own member. config_load() loads every group
 *   (flag > env > file > default, see config/options.h): 0, 1 for --help or
 *   --version (cfg->action says which), or -EINVAL with one line in err.
 *   config_free() accepts a config that failed to load.
 */
struct core_settings {
	char *config_file; /* NULL when none */
	char *collectors;  /* comma list; NULL means "every available and configured" */
	enum log_level log_level;
	enum log_format log_format;
	bool bpf_stats;
	char *seccomp;		      /* true, kill, log or false (core/seccomp.c) */
	bool insecure_allow_writable; /* tests only: accept files others could rewrite */
};

struct config {
	enum options_action action;
	struct core_settings core;
	struct web_settings web;
	struct cgroup_settings cgroup;
	struct cgroup_cpu_settings cgroup_cpu;
	struct http_latency_settings http_latency;
	struct rabbitmq_settings rabbitmq;
	struct cJSON *file; /* the parsed --config file, or NULL; for structured sections */
};

int config_load(struct config *cfg, int argc, char **argv, char **envp, char *err, size_t errlen);
void config_free(struct config *cfg);
void config_print_help(const char *prog);

#endif
