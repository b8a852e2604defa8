/* config/options.h — settings from flags, HOSTMON_* environment, a JSON file and defaults, for
 * option tables that the modules owning the settings declare. */
#ifndef HOSTMON_CONFIG_OPTIONS_H
#define HOSTMON_CONFIG_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   A module that has settings declares a typed settings struct and one
 *   struct option_group: rows of struct option_def, each a flag (--name), its
 *   environment variable (HOSTMON_NAME, dashes become underscores) and the
 *   same name as a key of the JSON file, stored at an offset in the module's
 *   settings struct. The program lists the groups with where each group's
 *   struct lives in its own aggregate (struct option_binding); this module
 *   knows no setting by name except "config", the file's path.
 *
 *   options_load() fills base from defaults < another program's variable
 *   (compat_env, e.g. RABBITMQ_HOST) < file < environment < flags, then runs
 *   each group's check(). On an invalid setting it writes one line to err (no
 *   trailing newline) and returns -EINVAL; it returns 1 for --help and
 *   --version (*action says which). The parsed JSON file stays available as
 *   *file (the caller frees it with cJSON_Delete) for structured sections,
 *   which a group names in sections so the loader accepts those keys.
 *   options_free() releases the strings options_load() stored; accepts a
 *   zeroed base.
 *   config_read_json_file() reads a JSON file whose top level is an object.
 */

struct cJSON;

enum opt_kind {
	OPT_STRING,
	OPT_BOOL,
	OPT_U64,
	OPT_DURATION, /* stored as milliseconds (uint64_t) */
	OPT_SIZE,     /* stored as bytes (uint64_t) */
	OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_LISTEN,
	OPT_REGEX,
	OPT_SECRET, /* a string that argv may not carry: it would show in ps and shell history */
	OPT_CHOICE, /* a string, one of choices */
};

struct option_def {
	const char *name;
	enum opt_kind kind;
	size_t offset;	 /* in the group's settings struct */
	const char *def; /* NULL: unset */
	uint64_t min, max;
	const char *metavar;
	const char *help;
	/* another program's environment variable, read just above the default; format turns its
	 * value into this option's (users of the reference RabbitMQ exporter have these set) */
	const char *compat_env, *compat_format;
	const char *const *choices; /* OPT_CHOICE: the accepted values, NULL-terminated */
};

struct option_group {
	const char *title; /* the --help heading */
	const struct option_def *options;
	size_t noptions;
	const char *const
		*sections; /* NULL-terminated top-level file keys the module reads itself */
	/* rules that tie the group's settings together; 0 or -EINVAL with err set */
	int (*check)(const void *settings, char *err, size_t errlen);
};

struct option_binding {
	const struct option_group *group;
	size_t offset; /* of the group's settings struct in the program's aggregate */
};

enum options_action {
	OPTIONS_RUN,
	OPTIONS_HELP,
	OPTIONS_VERSION,
};

int options_load(const struct option_binding *groups, size_t ngroups, void *base, int argc,
		 char **argv, char **envp, enum options_action *action, struct cJSON **file,
		 char *err, size_t errlen);
void options_free(const struct option_binding *groups, size_t ngroups, void *base);
void options_print_help(const struct option_binding *groups, size_t ngroups);

int config_read_json_file(const char *path, struct cJSON **out, char *err, size_t errlen);

#endif
