/* cli/cli.h — hostmon's commands for people (top, latency, status): dispatch, flags and help. */
#ifndef HOSTMON_CLI_CLI_H
#define HOSTMON_CLI_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "cli/settings.h"

/*
 * API:
 *   cli_command() says whether argv[1] names a command; cli_run() runs it
 *   with argv[1..] (its own --help included) and returns the exit code:
 *   0, 1 when the daemon cannot be read or the terminal fails, 2 for bad
 *   usage. cli_print_commands() lists the commands for hostmon --help.
 *   The commands themselves: top_run(), latency_run(), status_run().
 */
bool cli_command(const char *arg);
int cli_run(int argc, char **argv);
void cli_print_commands(FILE *out);

int top_run(const struct cli_source_settings *src, const struct cli_top_settings *top);
int latency_run(const struct cli_source_settings *src, const struct cli_latency_settings *lat);
int status_run(const struct cli_source_settings *src, const struct cli_status_settings *st);

#endif
