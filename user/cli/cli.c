/* cli/cli.c — hostmon top, latency and status: which command, its flags, its --help. */
#include "cli/cli.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/version.h"

extern char **environ;

struct cli_settings {
	struct cli_source_settings source;
	struct cli_top_settings top;
	struct cli_latency_settings latency;
	struct cli_status_settings status;
};

struct command {
	const char *name, *usage, *summary, *details;
	const struct option_group *group;
	size_t offset;	       /* of its own settings in struct cli_settings */
	bool loads_collectors; /* without a daemon it loads the collectors itself */
};

static const struct command commands[] = {
	{ "top",
	  "hostmon top [--url URL] [--interval 1s] [--sort KEY] [--filter REGEX] [--once] "
	  "[--json]",
	  "a live per-service view: CPU, throttling, run-queue wait, requests, p50/p99, 5xx",
	  "One row per cgroup (named by pod, container or unit, else path), rates and\n"
	  "percentiles over the last interval from the daemon's counters and histograms.\n"
	  "Keys: c w t r p e sort by CPU, wait, throttled, requests, p99, errors; / filters\n"
	  "by name (a regular expression; empty clears it); q quits. Rows marked ! are\n"
	  "unusual: T throttled > 10%, W run-queue wait > 50 ms/s, E 5xx > 1%,\n"
	  "P p99 above 3x its own median of the last 5 minutes.\n"
	  "Not on a terminal, or with --once: one plain table after one interval.\n",
	  &cli_top_group, offsetof(struct cli_settings, top), true },
	{ "latency",
	  "hostmon latency [--url URL] [--cgroup REGEX | --pid N] [--duration 10s] "
	  "[--by status|method|route|service] [--json]",
	  "the request-latency histogram of a window, split, with the CPU of the same cgroups",
	  "Reads the daemon before and after the window and prints the requests' latency\n"
	  "histogram (bars), count, p50/p90/p99 and the highest bucket reached, the split,\n"
	  "and for the same cgroups and window: CPU cores, throttled time, run-queue wait.\n",
	  &cli_latency_group, offsetof(struct cli_settings, latency), true },
	{ "status", "hostmon status [--url URL] [--json]",
	  "what the running daemon runs and why something is down, as text",
	  "Reads the daemon's /status.json (the status page at / as JSON) and prints it:\n"
	  "the collectors, up or down and why; the HTTP target processes (pid, executable,\n"
	  "runtime, mode: http, usdt or fastcgi, cgroup); the restart rules with their\n"
	  "state and last action; the RabbitMQ source with its last error and poll time;\n"
	  "hostmon's own CPU, resident memory and BPF map memory.\n",
	  &cli_status_group, offsetof(struct cli_settings, status), false },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

bool cli_command(const char *arg)
{
	for (size_t i = 0; arg && i < NCOMMANDS; i++)
		if (strcmp(arg, commands[i].name) == 0)
			return true;
	return false;
}

void cli_print_commands(FILE *out)
{
	fprintf(out, "\nCommands (each has its own --help):\n");
	fprintf(out, "  %-10s %s\n", "run", "the daemon (the default)");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int cli_run(int argc, char **argv)
{
	const struct command *cmd = NULL;
	struct cli_settings s;
	enum options_action action;
	struct cJSON *file = NULL;
	char err[512] = "";
	int rc;

	for (size_t i = 0; i < NCOMMANDS; i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd)
		return 2;
	const struct option_binding groups[] = {
		{ &cli_source_group, offsetof(struct cli_settings, source) },
		{ cmd->group, cmd->offset },
	};
	memset(&s, 0, sizeof(s));
	rc = options_load(groups, 2, &s, argc - 1, argv + 1, environ, &action, &file, err,
			  sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "hostmon %s: %s\n", cmd->name, err);
		options_free(groups, 2, &s);
		return 2;
	}
	rc = 0;
	if (action == OPTIONS_HELP) {
		printf("Usage: %s\n\nhostmon %s: %s.\n\n%s", cmd->usage, cmd->name, cmd->summary,
		       cmd->details);
		printf("\nFlags (each also read from the environment variable shown):\n");
		options_print_help(groups, 2);
		if (cmd->loads_collectors)
			printf("\nThe numbers come from the running hostmon daemon at --url; when "
			       "nothing\n"
			       "listens there, this command loads the same collectors itself "
			       "(root, "
			       "or\n"
			       "CAP_BPF and CAP_PERFMON) and unloads them when it ends. The header "
			       "says which.\n");
		else
			printf("\nIt needs the running hostmon daemon at --url: when none answers "
			       "there it says so\nand exits with 1.\n");
		printf("Walk-through: docs/incident.md.\n");
	} else if (action == OPTIONS_VERSION) {
		printf("hostmon %s\n", HOSTMON_VERSION);
	} else if (cmd->group == &cli_top_group) {
		rc = top_run(&s.source, &s.top);
	} else if (cmd->group == &cli_latency_group) {
		rc = latency_run(&s.source, &s.latency);
	} else {
		rc = status_run(&s.source, &s.status);
	}
	options_free(groups, 2, &s);
	return rc;
}
