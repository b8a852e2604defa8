/* restart/restart.h — the restart controller: restart rules sampled on timers, acted on, verified,
 * reported. */
#ifndef HOSTMON_RESTART_RESTART_H
#define HOSTMON_RESTART_RESTART_H

#include "exposition/metrics.h"
#include "restart/rule.h"

/*
 * API:
 *   restart_ctl_new() takes over rules (emptied on success), and runs each
 *   on its own timer in loop, reading CPU through the running cgroup_cpu
 *   collector's typed handle (cpu may be NULL: then every rule reports its target
 *   as not found and never acts). config_path is re-read by
 *   restart_ctl_reload() (SIGHUP): rules with the same name keep their
 *   state and history except a suspension; invalid rules leave the running
 *   ones unchanged and are logged. restart_ctl_collect() appends the
 *   hostmon_restart_* families, restart_ctl_status() the rules' part of the
 *   status page. restart_ctl_free() stops everything,
 *   killing a running action command; accepts NULL.
 */

struct loop;
struct restart_ctl;
struct cgroup_cpu;

struct restart_ctl *restart_ctl_new(struct loop *loop, struct restart_rules *rules,
				    struct cgroup_cpu *cpu, const char *config_path,
				    bool check_files);
void restart_ctl_reload(struct restart_ctl *c);
void restart_ctl_collect(struct restart_ctl *c, struct metric_snapshot *s);
/* The rules for the status page: state, target, last action (status/status.h). */
struct status_model;
void restart_ctl_status(const struct restart_ctl *c, struct status_model *m);
void restart_ctl_free(struct restart_ctl *c);

#endif
