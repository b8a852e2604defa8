/* core/daemon.h — runs hostmon: event loop, HTTP endpoints, collectors, signals. */
#ifndef HOSTMON_CORE_DAEMON_H
#define HOSTMON_CORE_DAEMON_H

#include "core/collector.h"
#include "core/config.h"
#include "restart/rule.h"

/*
 * Runs the selected collectors and the restart rules until SIGTERM/SIGINT;
 * takes over (and destroys) the collector set and the rules. SIGHUP reloads
 * the restart rules from the config file. Returns the process exit code (0
 * on a clean stop).
 */
int daemon_run(const struct config *cfg, struct collector_set *collectors,
	       struct restart_rules *rules);

#endif
