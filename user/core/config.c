/* core/config.c — hostmon's own option rows and the list of every module's option group. */
#include "core/config.h"

#include <cJSON.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/version.h"
#include "restart/rule.h"

#define OFF(field) offsetof(struct core_settings, field)

static const char *const seccomp_modes[] = { "true", "kill", "log", "false", NULL };

static const struct option_def core_rows[] = {
	{ "config", OPT_STRING, OFF(config_file), NULL, 0, 0, "FILE",
	  "JSON file with settings (same names as the flags) and structured sections" },
	{ "collectors", OPT_STRING, OFF(collectors), NULL, 0, 0, "LIST",
	  "comma-separated collectors to run (default: every available and configured one)" },
	{ "log-level", OPT_LOG_LEVEL, OFF(log_level), "info", 0, 0, "LEVEL",
	  "debug, info, warn or error" },
	{ "log-format", OPT_LOG_FORMAT, OFF(log_format), "logfmt", 0, 0, "FORMAT",
	  "logfmt or json" },
	{ "bpf-stats", OPT_BOOL, OFF(bpf_stats), "false", 0, 0, NULL,
	  "turn on the kernel's BPF run-time statistics while hostmon runs (small cost per "
	  "event)" },
	{ "seccomp", OPT_CHOICE, OFF(seccomp), "true", 0, 0, "MODE",
	  "after start, allow only the system calls hostmon makes (docs/security.md): true (others "
	  "fail with EPERM), kill (others kill hostmon: what the tests run), log (others are "
	  "allowed and logged by the kernel), false (no filter; capabilities are dropped either "
	  "way)",
	  NULL, NULL, seccomp_modes },
	{ "insecure-allow-writable", OPT_BOOL, OFF(insecure_allow_writable), "false", 0, 0, NULL,
	  "for tests only: accept a --config file or action program that someone other than "
	  "root could rewrite" },
};

static const struct option_group core_option_group = {
	.title = "General",
	.options = core_rows,
	.noptions = sizeof(core_rows) / sizeof(core_rows[0]),
};

static const struct option_binding groups[] = {
	{ &core_option_group, offsetof(struct config, core) },
	{ &web_option_group, offsetof(struct config, web) },
	{ &cgroup_option_group, offsetof(struct config, cgroup) },
	{ &cgroup_cpu_option_group, offsetof(struct config, cgroup_cpu) },
	{ &http_latency_option_group, offsetof(struct config, http_latency) },
	{ &rabbitmq_option_group, offsetof(struct config, rabbitmq) },
	{ &restart_option_group, 0 },
};

#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

int config_load(struct config *cfg, int argc, char **argv, char **envp, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	return options_load(groups, NGROUPS, cfg, argc, argv, envp, &cfg->action, &cfg->file, err,
			    errlen);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	options_free(groups, NGROUPS, cfg);
	cJSON_Delete(cfg->file);
	cfg->file = NULL;
}

void config_print_help(const char *prog)
{
	printf("Usage: %s [run] [FLAGS]\n"
	       "       %s --help | --version\n\n"
	       "hostmon %s: an eBPF host monitor exporting Prometheus metrics.\n\n"
	       "Flags (each also read from the environment variable shown, and from the\n"
	       "--config JSON file under the flag's name; flag > env > file > default):\n",
	       prog, prog, HOSTMON_VERSION);
	options_print_help(groups, NGROUPS);
	printf("\nRestart rules (self-healing) live in the --config file under \"restart\"\n"
	       "(docs/restart.md). SIGHUP re-reads the restart rules from the --config file and\n"
	       "nothing else (other settings need a restart); an invalid file keeps the running\n"
	       "rules, and a daemon that started without rules only logs it.\n"
	       "\nEndpoints: /metrics, /healthz, /readyz, / (the status page), /status.json.\n"
	       "Flags may come before or after run. Documentation: man hostmon, README.md and\n"
	       "docs/ (installed in share/doc/hostmon).\n");
}
