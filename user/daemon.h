/* daemon.h — runs hostmon: event loop, HTTP endpoints, collectors, signals. */
#ifndef HOSTMON_DAEMON_H
#define HOSTMON_DAEMON_H

#include "collector.h"
#include "config.h"
#include "restart_rule.h"

/*
 * Runs the selected collectors and the restart rules until SIGTERM/SIGINT;
 * takes over (and destroys) the collector set and the rules. SIGHUP reloads
 * the restart rules from the config file. Returns the process exit code (0
 * on a clean stop).
 */
int daemon_run(const struct config *cfg, struct collector_set *collectors,
	       struct restart_rules *rules);

#endif
