/* restart/rule.h — restart rules: the "restart" section of the JSON config file, parsed and
 * checked. */
#ifndef HOSTMON_RESTART_RULE_H
#define HOSTMON_RESTART_RULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/options.h"

/*
 * API:
 *   restart_rules_parse() reads `{"restart": {"rules": [...]}}` from a
 *   parsed config file (root may be NULL or lack the section: zero rules)
 *   into a freshly allocated array. Every key is checked: an unknown key, a
 *   wrong type, a value out of range or a missing target is -EINVAL with
 *   err naming the rule and the reason ("restart rule \"laravel\": ...").
 *   restart_rules_free() accepts NULL.
 *
 *   restart_rules_load_file() does the same from a file path (SIGHUP reload);
 *   with check_files, the file and the rules' programs must be trusted.
 */

struct cJSON;

#define RESTART_NAME_MAX 64
#define RESTART_ARGV_MAX 32
#define RESTART_PATH_MAX 4096
#define RESTART_URL_MAX	 2048

enum restart_target_kind {
	RESTART_TARGET_CGROUP,	/* a cgroup path as in the CPU metric labels */
	RESTART_TARGET_UNIT,	/* a systemd unit: the cgroup whose directory carries its name */
	RESTART_TARGET_PROCESS, /* a process from a pidfile: the cgroup it runs in */
};

enum restart_action_kind {
	RESTART_ACTION_SIGNAL,
	RESTART_ACTION_SYSTEMD,
	RESTART_ACTION_EXEC,
};

struct restart_rule {
	char name[RESTART_NAME_MAX];
	enum restart_target_kind target_kind;
	char target[RESTART_PATH_MAX];	   /* cgroup path, unit name, or (process) the pidfile */
	char target_exe[RESTART_NAME_MAX]; /* process target: expected executable name */
	double threshold;		   /* utilisation ratio that starts a window */
	double clear;			   /* ratio below which a pending window clears */
	double cores;			   /* capacity; 0: the cgroup's limit, else online CPUs */
	uint64_t window_ms, interval_ms, cooldown_ms, per_ms, verify_ms;
	unsigned max_actions;
	bool dry_run;
	struct {
		enum restart_action_kind kind;
		int signal;			/* signal action */
		char pidfile[RESTART_PATH_MAX]; /* signal action: "" = main process of the cgroup */
		char exe[RESTART_NAME_MAX];	/* signal action: expected executable name, or "" */
		char unit[RESTART_PATH_MAX];	/* systemd action */
		char systemctl[RESTART_PATH_MAX];
		char *argv[RESTART_ARGV_MAX + 1]; /* exec action, NULL-terminated, owned */
		uint64_t timeout_ms;		  /* exec and systemd actions */
		char user[RESTART_NAME_MAX];	  /* exec and systemd: who runs the command */
	} action;
	char webhook[RESTART_URL_MAX]; /* "" when none */
};

struct restart_rules {
	struct restart_rule *items;
	size_t n;
};

/* Claims the config file's "restart" section, so the option loader accepts the key. */
extern const struct option_group restart_option_group;

int restart_rules_parse(const struct cJSON *root, struct restart_rules *out, char *err,
			size_t errlen);
int restart_rules_load_file(const char *path, bool check_files, struct restart_rules *out,
			    char *err, size_t errlen);
/* Every command a rule runs (exec argv[0], systemctl) must be trusted (lib/filetrust.h) and
 * every action's user must exist. 0 or -EPERM / -ENOENT with err naming the rule. */
int restart_rules_check_programs(const struct restart_rules *rules, char *err, size_t errlen);
void restart_rules_free(struct restart_rules *rules);
void restart_rule_release(struct restart_rule *r); /* frees what one rule owns (argv) */

const char *restart_action_kind_name(enum restart_action_kind k);
/* "SIGUSR2", "USR2", "12" -> signal number; -EINVAL otherwise. */
int restart_signal_parse(const char *s);
/* 12 -> "SIGUSR2" in buf (a signal without a name: "signal 40"); returns buf. */
const char *restart_signal_name(int sig, char *buf, size_t len);

#endif
