/* status/status.h — the status model: what hostmon runs and why something is down, for the
 * status page (/), /status.json and hostmon status. */
#ifndef HOSTMON_STATUS_STATUS_H
#define HOSTMON_STATUS_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/*
 * API:
 *   A plain, bounded model: fixed-size strings, at most STATUS_TARGETS_MAX
 *   targets and STATUS_RULES_MAX rules (targets_total counts every target
 *   seen, shown or not). Each source fills its own part: the collector set
 *   the collectors (collector_set_status), a collector its own section
 *   through its ops->status, the restart controller the rules, self.c
 *   hostmon itself. A source that fails has what it added rolled back
 *   (status_mark/status_rollback), so the model never holds half of one.
 *
 *   status_copy() is the only way text enters the model: it keeps valid
 *   UTF-8 and turns invalid bytes and control characters into '?', cut at
 *   a character boundary, so every renderer gets clean text whatever a
 *   cgroup path, an executable name or an error contained; renderers still
 *   escape for their format.
 *
 *   status_model_new() returns a zeroed model or NULL (errno); free accepts
 *   NULL. status_target_add() / status_rule_add() return a zeroed slot, or
 *   NULL when the model is full (targets: counted in targets_total).
 *   status_to_json() appends the JSON document (/status.json) to out;
 *   status_from_json() reads one back (hostmon status), -EINVAL with err
 *   when it is not a status document. status_print_text() writes the plain
 *   text hostmon status prints. Times are Unix seconds, 0 for never.
 */

#define STATUS_TARGETS_MAX    256
#define STATUS_RULES_MAX      64
#define STATUS_COLLECTORS_MAX 16

enum { STATUS_NAME = 64, STATUS_TEXT = 512 };

struct status_collector {
	char name[STATUS_NAME];
	char description[160];
	bool up;
	char reason[STATUS_TEXT]; /* why it is down; empty when up */
};

struct status_target {
	uint32_t pid;
	char exe[STATUS_NAME];
	char runtime[16]; /* node, php, nginx, http */
	char mode[16];	  /* http (its sockets), usdt (PHP probes), fastcgi (PHP-FPM's sockets) */
	char pool[STATUS_NAME]; /* a PHP-FPM worker's pool; empty for others (and the master) */
	char cgroup[STATUS_TEXT];
};

struct status_rule {
	char name[STATUS_NAME];
	char target[STATUS_TEXT]; /* as configured: cgroup path, unit or pidfile */
	char cgroup[STATUS_TEXT]; /* where it was found; empty when not found */
	bool target_found;
	char why_missing[STATUS_TEXT];
	char state[16]; /* ok, pending, cooldown, suspended */
	bool have_ratio;
	double cpu_ratio;
	double threshold;
	char action[16]; /* signal, systemd, exec */
	bool dry_run;
	uint64_t actions; /* every result counted */
	bool have_last;
	char last_result[16]; /* ok, failed, timeout, dry_run */
	double last_at;
	char last_detail[STATUS_TEXT];
};

struct status_rabbitmq {
	char host[256];
	bool up;
	char last_error[STATUS_TEXT]; /* of the last failed poll; empty when none failed */
	double last_poll_at, last_success_at, poll_duration_seconds;
	uint64_t queues;
	char source[STATUS_NAME];     /* "management" or "prometheus"; empty until a poll chose */
	char source_why[STATUS_TEXT]; /* why that source */
};

struct status_self {
	char version[STATUS_NAME];
	char host[256];
	double generated_at, start_time;
	double cpu_seconds, resident_memory_bytes;
	double bpf_map_memory_bytes;
	uint64_t bpf_maps;
};

struct status_model {
	struct status_self self;
	struct status_collector collectors[STATUS_COLLECTORS_MAX];
	size_t ncollectors;
	bool have_http;	    /* the http_latency collector runs: the targets are known */
	char php_hooks[16]; /* the PHP-FPM hooks' tier: sock_iter, sock_length or syscalls; empty:
			       unknown */
	bool php_hooks_attached; /* while a PHP-FPM target exists */
	struct status_target targets[STATUS_TARGETS_MAX];
	size_t ntargets, targets_total;
	bool have_restart;
	struct status_rule rules[STATUS_RULES_MAX];
	size_t nrules;
	bool have_rabbitmq;
	struct status_rabbitmq rabbitmq;
};

/* What a source added can be taken back: the model's sizes before it ran. */
struct status_mark {
	bool have_http, have_restart, have_rabbitmq;
	size_t ntargets, targets_total, nrules;
};

struct status_model *status_model_new(void);
void status_model_free(struct status_model *m);
struct status_mark status_mark(const struct status_model *m);
void status_rollback(struct status_model *m, const struct status_mark *mark);

void status_copy(char *dst, size_t len, const char *src);
struct status_target *status_target_add(struct status_model *m);
struct status_rule *status_rule_add(struct status_model *m);

int status_to_json(const struct status_model *m, struct buf *out);
int status_from_json(const char *text, size_t len, struct status_model *m, char *err,
		     size_t errlen);
void status_print_text(const struct status_model *m, struct buf *out);

/* For the renderers: "2026-12-02 11:40:05 UTC" (UTC, no locale); "never" for 0. */
void status_format_time(double unix_seconds, char *out, size_t len);
/* "12.3 MiB", "512 B" */
void status_format_bytes(double bytes, char *out, size_t len);

#endif
