/* config/options.c — loads option groups from defaults, compatible variables, a JSON file, the
 * environment and flags, in that order of precedence; prints --help from the same rows. */
#include "config/options.h"

#include <cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/version.h"
#include "lib/parse.h"

#define CONFIG_FILE_MAX_BYTES (4u << 20)

/* One row with where its value lives. */
struct option_ref {
	const struct option_def *def;
	char *field; /* in the caller's aggregate */
};

struct loader {
	const struct option_binding *groups;
	size_t ngroups;
	char *base;
};

/* ADDR:PORT where ADDR may be empty, a name, an IPv4 address or [IPv6]. */
static int check_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (!colon)
		return -EINVAL;
	if (s[0] == '[' && (colon == s || colon[-1] != ']'))
		return -EINVAL;
	return parse_u64(colon + 1, 0, 65535, &port);
}

static const char *kind_expectation(enum opt_kind kind)
{
	switch (kind) {
	case OPT_BOOL:
		return "expected true or false";
	case OPT_U64:
		return "expected a whole number";
	case OPT_DURATION:
		return "expected a duration";
	case OPT_SIZE:
		return "expected a size such as 8192, 8KiB, 1MiB within range";
	case OPT_LOG_LEVEL:
		return "expected debug, info, warn or error";
	case OPT_LOG_FORMAT:
		return "expected logfmt or json";
	case OPT_LISTEN:
		return "expected ADDR:PORT, e.g. :9567 or 127.0.0.1:0";
	case OPT_REGEX:
		return "expected a POSIX extended regular expression";
	case OPT_CHOICE:
		break;
	case OPT_STRING:
	case OPT_SECRET:
		break;
	}
	return "expected a non-empty value";
}

/* Every string-valued kind: non-empty, and well-formed where the kind has a syntax. */
static int check_string(enum opt_kind kind, const char *value)
{
	regex_t re;

	if (*value == '\0')
		return -EINVAL;
	if (kind == OPT_LISTEN)
		return check_listen(value);
	if (kind == OPT_REGEX) {
		if (regcomp(&re, value, REG_EXTENDED | REG_NOSUB))
			return -EINVAL;
		regfree(&re);
	}
	return 0;
}

/* A bound of a number or duration option as a user would write it: 100, 500ms, 1.5s, 2m, 1h. */
static void format_bound(const struct option_def *o, uint64_t v, char *out, size_t len)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = { { "d", 86400000 }, { "h", 3600000 }, { "m", 60000 }, { "s", 1000 } };

	if (o->kind == OPT_U64 || v == 0) {
		snprintf(out, len, "%llu", (unsigned long long)v);
		return;
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (v % units[i].ms == 0) {
			snprintf(out, len, "%llu%s", (unsigned long long)(v / units[i].ms),
				 units[i].unit);
			return;
		}
	snprintf(out, len, "%llums", (unsigned long long)v);
}

/* "expected auto, tp_btf or raw_tp" for a choice; "... from 1 to 64" for a number; the kind's
 * expectation otherwise. */
static void expectation(const struct option_def *o, char *out, size_t outlen)
{
	size_t n = 0;

	if (o->kind == OPT_U64 || o->kind == OPT_DURATION) {
		char lo[32], hi[32];
		format_bound(o, o->min, lo, sizeof(lo));
		format_bound(o, o->max, hi, sizeof(hi));
		snprintf(out, outlen, "%s from %s to %s%s", kind_expectation(o->kind), lo, hi,
			 o->kind == OPT_DURATION
				 ? ": a number and a unit (ms, s, m, h, d), such as "
				   "500ms, 1.5s, 2m or 1h30m"
				 : "");
		return;
	}
	if (o->kind != OPT_CHOICE || !o->choices) {
		snprintf(out, outlen, "%s", kind_expectation(o->kind));
		return;
	}
	n = (size_t)snprintf(out, outlen, "expected");
	for (size_t i = 0; o->choices[i] && n < outlen; i++)
		n += (size_t)snprintf(out + n, outlen - n, "%s%s",
				      i == 0		  ? " "
				      : o->choices[i + 1] ? ", "
							  : " or ",
				      o->choices[i]);
}

static int apply(const struct option_ref *r, const char *value)
{
	const struct option_def *o = r->def;
	char *field = r->field;
	uint64_t u;
	bool b;
	int err = 0;

	switch (o->kind) {
	case OPT_CHOICE:
		err = -EINVAL;
		for (size_t i = 0; o->choices && o->choices[i]; i++)
			if (strcmp(value, o->choices[i]) == 0)
				err = 0;
		if (err)
			break;
		/* stored as a string */
		__attribute__((fallthrough));
	case OPT_REGEX:
	case OPT_LISTEN:
	case OPT_STRING:
	case OPT_SECRET:
		err = check_string(o->kind, value);
		if (!err) {
			char *copy = strdup(value);
			if (!copy)
				return -ENOMEM;
			free(*(char **)field);
			*(char **)field = copy;
		}
		break;
	case OPT_BOOL:
		err = parse_bool(value, &b);
		if (!err)
			*(bool *)field = b;
		break;
	case OPT_U64:
		err = parse_u64(value, o->min, o->max, &u);
		if (!err)
			*(uint64_t *)field = u;
		break;
	case OPT_DURATION:
		err = parse_duration_ms(value, &u);
		if (!err && (u < o->min || u > o->max))
			err = -EINVAL;
		if (!err)
			*(uint64_t *)field = u;
		break;
	case OPT_SIZE:
		err = parse_size(value, &u);
		if (!err && (u < o->min || u > o->max))
			err = -EINVAL;
		if (!err)
			*(uint64_t *)field = u;
		break;
	case OPT_LOG_LEVEL:
		err = log_level_parse(value, (enum log_level *)field);
		break;
	case OPT_LOG_FORMAT:
		err = log_format_parse(value, (enum log_format *)field);
		break;
	}
	return err;
}

static bool is_string_kind(enum opt_kind kind)
{
	return kind == OPT_STRING || kind == OPT_LISTEN || kind == OPT_REGEX ||
	       kind == OPT_SECRET || kind == OPT_CHOICE;
}

/* Calls fn for every row of every group, in table order; stops at the first non-zero result. */
static int for_each_option(const struct loader *l, int (*fn)(const struct option_ref *, void *),
			   void *arg)
{
	for (size_t g = 0; g < l->ngroups; g++) {
		const struct option_group *grp = l->groups[g].group;
		for (size_t i = 0; i < grp->noptions; i++) {
			struct option_ref r = { &grp->options[i], l->base + l->groups[g].offset +
									  grp->options[i].offset };
			int rc = fn(&r, arg);
			if (rc)
				return rc;
		}
	}
	return 0;
}

struct name_match {
	const char *name;
	size_t len;
	struct option_ref *out;
};

static int match_name(const struct option_ref *r, void *arg)
{
	struct name_match *m = arg;
	if (strlen(r->def->name) != m->len || strncmp(r->def->name, m->name, m->len) != 0)
		return 0;
	*m->out = *r;
	return 1;
}

static bool find_option(const struct loader *l, const char *name, size_t len,
			struct option_ref *out)
{
	struct name_match m = { name, len, out };
	return for_each_option(l, match_name, &m) == 1;
}

static void env_name(const struct option_def *o, char *out, size_t outlen)
{
	size_t n = (size_t)snprintf(out, outlen, "HOSTMON_");
	for (const char *p = o->name; *p && n + 1 < outlen; p++)
		out[n++] = *p == '-' ? '_' : (char)toupper((unsigned char)*p);
	out[n] = '\0';
}

static const char *env_lookup(char **envp, const char *name)
{
	size_t len = strlen(name);
	for (char **e = envp; e && *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return *e + len + 1;
	return NULL;
}

struct errbuf {
	char *err;
	size_t errlen;
};

static int apply_or_explain(const struct option_ref *r, const char *value, const char *source,
			    const struct errbuf *e)
{
	const struct option_def *o = r->def;
	int rc = apply(r, value);
	if (rc == -EINVAL) {
		char expected[160];
		expectation(o, expected, sizeof(expected));
		snprintf(e->err, e->errlen, "invalid value \"%s\" for --%s%s: %s",
			 o->kind == OPT_SECRET ? "(hidden)" : value, o->name, source, expected);
	} else if (rc) {
		snprintf(e->err, e->errlen, "cannot set --%s: %s", o->name, strerror(-rc));
	}
	return rc;
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *data = NULL;
	size_t len = 0;
	int rc;

	if (fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > CONFIG_FILE_MAX_BYTES) {
		rc = -EINVAL;
		snprintf(err, errlen, "config file %s: not a regular file of at most %u bytes",
			 path, CONFIG_FILE_MAX_BYTES);
		goto out;
	}
	data = malloc((size_t)st.st_size + 1);
	if (!data) {
		rc = -ENOMEM;
		snprintf(err, errlen, "config file %s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			snprintf(err, errlen, "cannot read config file %s: %s", path,
				 strerror(-rc));
			goto out;
		}
		len += (size_t)n;
	}
	data[len] = '\0';
	*out = data;
	data = NULL;
	rc = 0;
out:
	free(data);
	close(fd);
	return rc;
}

/* Line and column (both from 1; the column counts bytes) of at in text, as editors show them. */
static void position_of(const char *text, const char *at, int *line, int *column)
{
	*line = 1;
	*column = 1;
	for (const char *p = text; p < at && *p; p++) {
		if (*p == '\n') {
			++*line;
			*column = 1;
		} else {
			++*column;
		}
	}
}

static bool is_section(const struct loader *l, const char *key)
{
	for (size_t g = 0; g < l->ngroups; g++) {
		const char *const *sec = l->groups[g].group->sections;
		for (size_t i = 0; sec && sec[i]; i++)
			if (strcmp(key, sec[i]) == 0)
				return true;
	}
	return false;
}

int config_read_json_file(const char *path, struct cJSON **out, char *err, size_t errlen)
{
	char *text = NULL;
	int rc = read_file(path, &text, err, errlen);

	if (rc)
		return rc;
	const char *parse_end = NULL;
	cJSON *root = cJSON_ParseWithOpts(text, &parse_end, 1);
	if (!root || !cJSON_IsObject(root)) {
		/* cJSON leaves parse_end where parsing stopped: the first byte it could not take */
		const char *where = root ? text : parse_end ? parse_end : text;
		int line, column;
		position_of(text, where, &line, &column);
		snprintf(err, errlen, "config file %s: %s at line %d, column %d%s", path,
			 root ? "top level is not a JSON object" : "invalid JSON", line, column,
			 root || *where ? "" : " (the file ends early)");
		cJSON_Delete(root);
		free(text);
		return -EINVAL;
	}
	free(text);
	*out = root;
	return 0;
}

static int load_file(const struct loader *l, const char *path, struct cJSON **file,
		     const struct errbuf *e)
{
	char source[PATH_MAX + 32];
	char *err = e->err;
	size_t errlen = e->errlen;
	cJSON *root = NULL;
	int rc = config_read_json_file(path, &root, err, errlen);

	if (rc)
		return rc;
	snprintf(source, sizeof(source), " (in %s)", path);

	const cJSON *item;
	cJSON_ArrayForEach (item, root) {
		struct option_ref r = { 0 };
		char number[32];
		const char *value;

		if (!find_option(l, item->string, strlen(item->string), &r)) {
			if (is_section(l, item->string))
				continue;
			snprintf(err, errlen, "config file %s: unknown key \"%s\"", path,
				 item->string);
			rc = -EINVAL;
			break;
		}
		if (strcmp(r.def->name, "config") == 0) {
			snprintf(err, errlen, "config file %s: \"config\" cannot be set in a file",
				 path);
			rc = -EINVAL;
			break;
		}
		if (cJSON_IsString(item)) {
			value = item->valuestring;
		} else if (cJSON_IsBool(item)) {
			value = cJSON_IsTrue(item) ? "true" : "false";
		} else if (cJSON_IsNumber(item) && item->valuedouble >= 0 &&
			   item->valuedouble < 1e18 &&
			   item->valuedouble == (double)(uint64_t)item->valuedouble) {
			snprintf(number, sizeof(number), "%llu",
				 (unsigned long long)item->valuedouble);
			value = number;
		} else {
			snprintf(err, errlen,
				 "config file %s: key \"%s\" must be a string, a whole number or a "
				 "boolean",
				 path, item->string);
			rc = -EINVAL;
			break;
		}
		rc = apply_or_explain(&r, value, source, e);
		if (rc)
			break;
	}
	if (rc) {
		cJSON_Delete(root);
		return rc;
	}
	*file = root;
	return 0;
}

/*
 * Walks argv once. With apply_values 0 it only checks the command line and finds --help and
 * --version (returning 1 with *action set); with 1 it applies every flag.
 */
static int parse_args(const struct loader *l, int argc, char **argv, int apply_values,
		      enum options_action *action, const struct errbuf *e)
{
	char *err = e->err;
	size_t errlen = e->errlen;

	bool seen_run = false;

	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		struct option_ref r = { 0 };

		/* "run" is the one word the command line takes, before or between the flags */
		if (!seen_run && strcmp(arg, "run") == 0) {
			seen_run = true;
			continue;
		}
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			*action = OPTIONS_HELP;
			return 1;
		}
		if (strcmp(arg, "--version") == 0) {
			*action = OPTIONS_VERSION;
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", arg);
			return -EINVAL;
		}
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
		const char *value;

		if (!find_option(l, name, namelen, &r)) {
			snprintf(err, errlen, "unknown flag --%.*s (see --help)", (int)namelen,
				 name);
			return -EINVAL;
		}
		const struct option_def *o = r.def;
		if (o->kind == OPT_SECRET) {
			snprintf(err, errlen,
				 "--%s is not accepted on the command line (it would show in ps); "
				 "use the environment or a file",
				 o->name);
			return -EINVAL;
		}
		if (eq) {
			value = eq + 1;
		} else if (o->kind == OPT_BOOL) {
			value = "true";
		} else if (i + 1 < argc) {
			value = argv[++i];
		} else {
			snprintf(err, errlen, "flag --%s needs a value (%s)", o->name,
				 o->metavar ? o->metavar : "VALUE");
			return -EINVAL;
		}
		if (!apply_values)
			continue;
		int rc = apply_or_explain(&r, value, "", e);
		if (rc)
			return rc;
	}
	return 0;
}

static int apply_default(const struct option_ref *r, void *arg)
{
	return r->def->def ? apply_or_explain(r, r->def->def, " (default)", arg) : 0;
}

struct env_pass {
	char **envp;
	const struct errbuf *e;
};

/* Another program's variable (the reference RabbitMQ exporter's), ranked just above defaults. */
static int apply_compat_env(const struct option_ref *r, void *arg)
{
	const struct env_pass *p = arg;
	const char *v = r->def->compat_env ? env_lookup(p->envp, r->def->compat_env) : NULL;
	char source[96], value[1024];

	if (!v)
		return 0;
	snprintf(value, sizeof(value), r->def->compat_format ? r->def->compat_format : "%s", v);
	snprintf(source, sizeof(source), " (from %s)", r->def->compat_env);
	return apply_or_explain(r, value, source, p->e);
}

static int apply_env(const struct option_ref *r, void *arg)
{
	const struct env_pass *p = arg;
	char name[96], source[128];

	env_name(r->def, name, sizeof(name));
	const char *value = env_lookup(p->envp, name);
	if (!value)
		return 0;
	snprintf(source, sizeof(source), " (from %s)", name);
	return apply_or_explain(r, value, source, p->e);
}

int options_load(const struct option_binding *groups, size_t ngroups, void *base, int argc,
		 char **argv, char **envp, enum options_action *action, struct cJSON **file,
		 char *err, size_t errlen)
{
	const struct loader l = { groups, ngroups, base };
	const struct errbuf e = { err, errlen };
	struct env_pass env = { envp, &e };
	struct option_ref config_opt = { 0 };
	char name[96];
	int rc;

	*action = OPTIONS_RUN;
	*file = NULL;
	rc = for_each_option(&l, apply_default, (void *)&e);
	if (!rc)
		rc = for_each_option(&l, apply_compat_env, &env);
	/* Validate the command line and honour --help/--version before reading anything else. */
	if (!rc)
		rc = parse_args(&l, argc, argv, 0, action, &e);
	if (rc)
		return rc;

	/* The file's path can come from the flag or the environment, so find it first. */
	if (find_option(&l, "config", 6, &config_opt)) {
		env_name(config_opt.def, name, sizeof(name));
		const char *path = env_lookup(envp, name);
		for (int i = 1; i < argc; i++) {
			if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
				path = argv[i + 1];
			else if (strncmp(argv[i], "--config=", 9) == 0)
				path = argv[i] + 9;
		}
		if (path && *path == '\0') {
			snprintf(err, errlen,
				 "invalid value \"\" for --config: expected a file path");
			return -EINVAL;
		}
		if (path) {
			rc = load_file(&l, path, file, &e);
			if (rc)
				return rc;
		}
	}

	rc = for_each_option(&l, apply_env, &env);
	if (!rc)
		rc = parse_args(&l, argc, argv, 1, action, &e);
	for (size_t g = 0; !rc && g < ngroups; g++)
		if (groups[g].group->check)
			rc = groups[g].group->check((char *)base + groups[g].offset, err, errlen);
	return rc;
}

static int free_string(const struct option_ref *r, void *arg)
{
	(void)arg;
	if (is_string_kind(r->def->kind)) {
		free(*(char **)r->field);
		*(char **)r->field = NULL;
	}
	return 0;
}

void options_free(const struct option_binding *groups, size_t ngroups, void *base)
{
	const struct loader l = { groups, ngroups, base };
	for_each_option(&l, free_string, NULL);
}

void options_print_help(const struct option_binding *groups, size_t ngroups)
{
	char name[96];

	for (size_t g = 0; g < ngroups; g++) {
		const struct option_group *grp = groups[g].group;
		if (!grp->noptions)
			continue;
		printf("\n%s:\n", grp->title);
		for (size_t i = 0; i < grp->noptions; i++) {
			const struct option_def *o = &grp->options[i];
			char flag[96];

			env_name(o, name, sizeof(name));
			if (o->kind == OPT_SECRET)
				snprintf(flag, sizeof(flag), "(no flag) %s", o->name);
			else
				snprintf(flag, sizeof(flag), "--%s%s%s", o->name,
					 o->metavar ? " " : "", o->metavar ? o->metavar : "");
			printf("  %-34s %s\n  %-34s env %s", flag, o->help, "", name);
			if (o->compat_env)
				printf(" or %s", o->compat_env);
			if (o->def)
				printf(", default %s", o->def);
			printf("\n");
		}
	}
}
