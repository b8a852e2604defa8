/* restart/ctl.h — the restart controller's runtime state, shared by its timers and actions
 * (restart.c) and its exports (export.c); nothing outside the folder includes it. */
#ifndef HOSTMON_RESTART_CTL_H
#define HOSTMON_RESTART_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup/cgroup.h"
#include "restart/fsm.h"
#include "restart/rule.h"

#define PIDS_MAX 4096 /* processes remembered per target for the verification */

enum result { RESULT_OK, RESULT_FAILED, RESULT_TIMEOUT, RESULT_DRY_RUN, RESULT_N };
extern const char *const restart_result_names[RESULT_N];

enum phase { PHASE_IDLE, PHASE_RUNNING, PHASE_VERIFYING };

struct loop;
struct loop_timer;
struct restart_child;
struct notifier;
struct cgroup_cpu;

/* The last action a rule took (or, in a dry run, described), for the status page. */
struct last_action {
	bool taken;
	enum result result;
	double at_wall; /* Unix time it finished */
	char detail[512];
};

struct rule_rt {
	struct restart_ctl *ctl;
	struct restart_rule rule;
	struct restart_fsm fsm;
	struct loop_timer *timer;
	bool target_found, target_reported;
	char cgroup[CGROUP_PATH_MAX]; /* the target's cgroup path, when found */
	char why_missing[256];
	uint64_t results[RESULT_N];
	struct last_action last;
	/* the action in flight */
	enum phase phase;
	struct restart_child *child;
	uint64_t acted_ms, verify_deadline_ms;
	pid_t before[PIDS_MAX];
	size_t nbefore;
	pid_t kept; /* the signalled master, expected to stay */
	bool replaced, cpu_fell;
};

struct restart_ctl {
	struct loop *loop;
	struct cgroup_cpu *cpu; /* NULL without a running cgroup_cpu collector */
	char *config_path;
	bool check_files; /* on reload, as at start: refuse files others could rewrite */
	struct rule_rt **rules;
	size_t n;
	struct notifier *notifier;
	char host[256];
	long online_cpus;
};

#endif
