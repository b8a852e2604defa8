/* daemon.h — runs hostmon: event loop, HTTP endpoints, collectors, signals. */
#ifndef HOSTMON_DAEMON_H
#define HOSTMON_DAEMON_H

#include "collector.h"
#include "config.h"

/*
 * Runs the selected collectors until SIGTERM/SIGINT; takes over (and destroys)
 * the collector set. Returns the process exit code (0 on a clean stop).
 */
int daemon_run(const struct config *cfg, struct collector_set *collectors);

#endif
