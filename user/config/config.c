/* config/config.c — the option table and its sources: flags, HOSTMON_* environment, JSON file,
 * defaults.
 */
#include "config/config.h"

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

#include "core/version.h"
#include "http_latency/settings.h"

#define CONFIG_FILE_MAX_BYTES (4u << 20)

enum opt_kind {
	OPT_STRING,
	OPT_BOOL,
	OPT_U64,
	OPT_DURATION,
	OPT_SIZE,
	OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_LISTEN,
	OPT_REGEX,
	OPT_SECRET, /* a string that argv may not carry: it would show in ps and shell history */
};

struct option_def {
	const char *name;
	enum opt_kind kind;
	size_t offset;
	const char *def; /* NULL: unset */
	uint64_t min, max;
	const char *metavar;
	const char *help;
};

#define OFF(field) offsetof(struct config, field)

static const struct option_def options[] = {
	{ "listen", OPT_LISTEN, OFF(listen), ":9567", 0, 0, "ADDR:PORT",
	  "address to serve /metrics on; port 0 picks a free port" },
	{ "config", OPT_STRING, OFF(config_file), NULL, 0, 0, "FILE",
	  "JSON file with settings (same names as the flags) and structured sections" },
	{ "collectors", OPT_STRING, OFF(collectors), NULL, 0, 0, "LIST",
	  "comma-separated collectors to run (default: every available and configured one)" },
	{ "log-level", OPT_LOG_LEVEL, OFF(log_level), "info", 0, 0, "LEVEL",
	  "debug, info, warn or error" },
	{ "log-format", OPT_LOG_FORMAT, OFF(log_format), "logfmt", 0, 0, "FORMAT",
	  "logfmt or json" },
	{ "bpf-stats", OPT_BOOL, OFF(bpf_stats), "false", 0, 0, NULL,
	  "turn on the kernel's BPF run-time statistics while hostmon runs (small cost per "
	  "event)" },
	{ "max-connections", OPT_U64, OFF(max_connections), "512", 1, 65536, "N",
	  "open HTTP connections; beyond it idle ones are closed, then new ones get 503" },
	{ "max-request-header-bytes", OPT_SIZE, OFF(max_request_header_bytes), "8KiB", 256,
	  1u << 20, "SIZE", "largest HTTP request head accepted (431 beyond it)" },
	{ "read-header-timeout", OPT_DURATION, OFF(read_header_timeout_ms), "10s", 1, 3600000,
	  "DURATION", "time a client has to send a complete request head" },
	{ "idle-timeout", OPT_DURATION, OFF(idle_timeout_ms), "120s", 1, 86400000, "DURATION",
	  "keep-alive connections idle this long are closed" },
	{ "write-timeout", OPT_DURATION, OFF(write_timeout_ms), "30s", 1, 3600000, "DURATION",
	  "a response that makes no progress this long is abandoned" },
	{ "cpu-max-cgroups", OPT_U64, OFF(cpu_max_cgroups), "16384", 64, 1u << 22, "N",
	  "cpu: cgroups the kernel map holds; charges beyond it are counted as dropped" },
	{ "cpu-max-series", OPT_U64, OFF(cpu_max_series), "10000", 1, 1u << 24, "N",
	  "cpu: cgroups exported per scrape, shallowest first; the rest are counted" },
	{ "cpu-max-depth", OPT_U64, OFF(cpu_max_depth), "0", 0, 64, "N",
	  "cpu: export cgroups at most this deep (/system.slice is 1); 0 means any depth" },
	{ "cpu-include", OPT_REGEX, OFF(cpu_include), NULL, 0, 0, "REGEX",
	  "cpu: export only cgroups whose path matches (POSIX extended regex)" },
	{ "cpu-exclude", OPT_REGEX, OFF(cpu_exclude), NULL, 0, 0, "REGEX",
	  "cpu: do not export cgroups whose path matches" },
	{ "cpu-hook", OPT_STRING, OFF(cpu_hook), "auto", 0, 0, "HOOK",
	  "cpu: sched_switch attachment: auto, tp_btf or raw_tp" },
	{ "cgroup-refresh-interval", OPT_DURATION, OFF(cgroup_refresh_interval_ms), "10s", 100,
	  3600000, "DURATION", "rescan of the cgroup hierarchy to forget removed cgroups" },
	{ "http-targets", OPT_STRING, OFF(http_targets), "node,nodejs,php-fpm*,php", 0, 0, "NAMES",
	  "http: executables whose processes are measured (comma list, * = prefix)" },
	{ "http-include-cgroup", OPT_REGEX, OFF(http_include_cgroup), NULL, 0, 0, "REGEX",
	  "http: measure only target processes whose cgroup path matches" },
	{ "http-exclude-cgroup", OPT_REGEX, OFF(http_exclude_cgroup), NULL, 0, 0, "REGEX",
	  "http: do not measure target processes whose cgroup path matches" },
	{ "http-buckets", OPT_STRING, OFF(http_buckets),
	  "0.005,0.01,0.025,0.05,0.075,0.1,0.25,0.5,0.75,1,2.5,5,7.5,10", 0, 0, "SECONDS",
	  "http: histogram bucket bounds in seconds (at most 32, increasing)" },
	{ "http-max-series", OPT_U64, OFF(http_max_series), "4096", 16, 1u << 20, "N",
	  "http: histograms (label sets) the kernel map holds; more are counted as dropped" },
	{ "http-max-inflight", OPT_U64, OFF(http_max_inflight), "16384", 64, 1u << 22, "N",
	  "http: requests in flight tracked at once (connections and PHP workers)" },
	{ "http-php-usdt", OPT_BOOL, OFF(http_php_usdt), "true", 0, 0, NULL,
	  "http: use PHP's USDT probes where the binary has them (else FastCGI on syscalls)" },
	{ "http-hook", OPT_STRING, OFF(http_hook), "auto", 0, 0, "HOOK",
	  "http: sys_enter/sys_exit attachment: auto, tp_btf or raw_tp" },
	{ "rabbitmq-url", OPT_STRING, OFF(rabbitmq_url), NULL, 0, 0, "URL",
	  "RabbitMQ management API, e.g. http://127.0.0.1:15672; enables the rabbitmq collector" },
	{ "rabbitmq-user", OPT_STRING, OFF(rabbitmq_user), "guest", 0, 0, "USER",
	  "RabbitMQ management user" },
	{ "rabbitmq-password", OPT_SECRET, OFF(rabbitmq_password), NULL, 0, 0, NULL,
	  "RabbitMQ password: environment or config file only, never a flag" },
	{ "rabbitmq-password-file", OPT_STRING, OFF(rabbitmq_password_file), NULL, 0, 0, "FILE",
	  "file holding the RabbitMQ password (first line)" },
	{ "rabbitmq-interval", OPT_DURATION, OFF(rabbitmq_interval_ms), "15s", 100, 86400000,
	  "DURATION", "how often queue counts are polled" },
	{ "rabbitmq-timeout", OPT_DURATION, OFF(rabbitmq_timeout_ms), "10s", 50, 3600000,
	  "DURATION", "limit for one poll; must be below --rabbitmq-interval" },
	{ "rabbitmq-detail-interval", OPT_DURATION, OFF(rabbitmq_detail_interval_ms), "60s", 100,
	  86400000, "DURATION",
	  "how often consumers and message bytes (statistics-database fields) are polled" },
	{ "rabbitmq-ca-file", OPT_STRING, OFF(rabbitmq_ca_file), NULL, 0, 0, "FILE",
	  "CA bundle to verify the RabbitMQ server's certificate" },
	{ "rabbitmq-cert-file", OPT_STRING, OFF(rabbitmq_cert_file), NULL, 0, 0, "FILE",
	  "client certificate for RabbitMQ (PEM)" },
	{ "rabbitmq-key-file", OPT_STRING, OFF(rabbitmq_key_file), NULL, 0, 0, "FILE",
	  "client key for RabbitMQ (PEM)" },
	{ "rabbitmq-insecure-skip-verify", OPT_BOOL, OFF(rabbitmq_insecure_skip_verify), "false", 0,
	  0, NULL, "do not verify the RabbitMQ server's certificate (insecure)" },
	{ "rabbitmq-include-vhost", OPT_REGEX, OFF(rabbitmq_include_vhost), NULL, 0, 0, "REGEX",
	  "export only queues of vhosts matching" },
	{ "rabbitmq-exclude-vhost", OPT_REGEX, OFF(rabbitmq_exclude_vhost), NULL, 0, 0, "REGEX",
	  "do not export queues of vhosts matching" },
	{ "rabbitmq-include-queue", OPT_REGEX, OFF(rabbitmq_include_queue), NULL, 0, 0, "REGEX",
	  "export only queues whose name matches" },
	{ "rabbitmq-exclude-queue", OPT_REGEX, OFF(rabbitmq_exclude_queue), NULL, 0, 0, "REGEX",
	  "do not export queues whose name matches" },
	{ "rabbitmq-max-queues", OPT_U64, OFF(rabbitmq_max_queues), "100000", 1, 10000000, "N",
	  "queues exported at most; the rest are counted in hostmon_rabbitmq_queues_dropped" },
	{ "rabbitmq-max-response-bytes", OPT_SIZE, OFF(rabbitmq_max_response_bytes), "64MiB", 4096,
	  1ull << 34, "SIZE", "largest RabbitMQ API response accepted (each one)" },
	{ "rabbitmq-max-parallel-requests", OPT_U64, OFF(rabbitmq_max_parallel_requests), "4", 1,
	  32, "N",
	  "RabbitMQ requests in flight at once (one per vhost), each on its own connection" },
};

#define NOPTIONS (sizeof(options) / sizeof(options[0]))

/*
 * Other programs' environment variables, read as a fallback just above the
 * defaults: users of the reference RabbitMQ exporter have these set. format
 * turns the variable's value into the option's.
 */
static const struct {
	const char *option, *env, *format;
} compat_envs[] = {
	{ "rabbitmq-url", "RABBITMQ_HOST", "http://%s:15672" },
	{ "rabbitmq-user", "RABBITMQ_USER", "%s" },
	{ "rabbitmq-password", "RABBITMQ_PASSWORD", "%s" },
};

static const char *compat_env_of(const char *option)
{
	for (size_t i = 0; i < sizeof(compat_envs) / sizeof(compat_envs[0]); i++)
		if (strcmp(compat_envs[i].option, option) == 0)
			return compat_envs[i].env;
	return NULL;
}

/* Top-level keys of the JSON file that are structured sections, read by their modules. */
static const char *const file_sections[] = { "restart" };

int config_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int config_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int config_parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 }
	};
	uint64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	while (*p) {
		char *end;
		uint64_t mult = 0;
		size_t ulen = 0;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		unsigned long long n = strtoull(p, &end, 10);
		if (errno)
			return -EINVAL;
		/* longest unit first so "ms" is not read as "m" */
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(end, units[i].unit, l) == 0 && l > ulen) {
				ulen = l;
				mult = units[i].ms;
			}
		}
		if (!mult)
			return -EINVAL;
		if (n > (UINT64_MAX - total) / mult)
			return -EINVAL;
		total += n * mult;
		p = end + ulen;
	}
	*out = total;
	return 0;
}

int config_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} suffixes[] = { { "", 1 },
			 { "B", 1 },
			 { "KiB", 1024 },
			 { "MiB", 1024 * 1024 },
			 { "GiB", 1024 * 1024 * 1024 } };
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(end, suffixes[i].suffix) == 0) {
			if (n > UINT64_MAX / suffixes[i].mult)
				return -EINVAL;
			*out = n * suffixes[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}

/* ADDR:PORT where ADDR may be empty, a name, an IPv4 address or [IPv6]. */
static int check_listen(const char *s)
{
	const char *colon = strrchr(s, ':');
	uint64_t port;

	if (!colon)
		return -EINVAL;
	if (s[0] == '[' && (colon == s || colon[-1] != ']'))
		return -EINVAL;
	return config_parse_u64(colon + 1, 0, 65535, &port);
}

static const char *kind_expectation(enum opt_kind kind)
{
	switch (kind) {
	case OPT_BOOL:
		return "expected true or false";
	case OPT_U64:
		return "expected a whole number in range";
	case OPT_DURATION:
		return "expected a duration such as 500ms, 10s, 5m, 1h";
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

static int apply(struct config *cfg, const struct option_def *o, const char *value)
{
	char *field = (char *)cfg + o->offset;
	uint64_t u;
	bool b;
	int err = 0;

	switch (o->kind) {
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
		err = config_parse_bool(value, &b);
		if (!err)
			*(bool *)field = b;
		break;
	case OPT_U64:
		err = config_parse_u64(value, o->min, o->max, &u);
		if (!err)
			*(uint64_t *)field = u;
		break;
	case OPT_DURATION:
		err = config_parse_duration_ms(value, &u);
		if (!err && (u < o->min || u > o->max))
			err = -EINVAL;
		if (!err)
			*(uint64_t *)field = u;
		break;
	case OPT_SIZE:
		err = config_parse_size(value, &u);
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

static const struct option_def *find_option(const char *name, size_t len)
{
	for (size_t i = 0; i < NOPTIONS; i++)
		if (strlen(options[i].name) == len && strncmp(options[i].name, name, len) == 0)
			return &options[i];
	return NULL;
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

static int apply_or_explain(struct config *cfg, const struct option_def *o, const char *value,
			    const char *source, char *err, size_t errlen)
{
	int rc = apply(cfg, o, value);
	if (rc == -EINVAL)
		snprintf(err, errlen, "invalid value \"%s\" for --%s%s: %s",
			 o->kind == OPT_SECRET ? "(hidden)" : value, o->name, source,
			 kind_expectation(o->kind));
	else if (rc)
		snprintf(err, errlen, "cannot set --%s: %s", o->name, strerror(-rc));
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

static int line_of(const char *text, const char *at)
{
	int line = 1;
	for (const char *p = text; p < at && *p; p++)
		line += *p == '\n';
	return line;
}

static int is_section(const char *key)
{
	for (size_t i = 0; i < sizeof(file_sections) / sizeof(file_sections[0]); i++)
		if (strcmp(key, file_sections[i]) == 0)
			return 1;
	return 0;
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
		const char *where = root ? text : cJSON_GetErrorPtr();
		snprintf(err, errlen, "config file %s: %s at line %d", path,
			 root ? "top level is not a JSON object" : "invalid JSON",
			 where ? line_of(text, where) : 0);
		cJSON_Delete(root);
		free(text);
		return -EINVAL;
	}
	free(text);
	*out = root;
	return 0;
}

static int load_file(struct config *cfg, const char *path, char *err, size_t errlen)
{
	char source[PATH_MAX + 32];
	cJSON *root = NULL;
	int rc = config_read_json_file(path, &root, err, errlen);

	if (rc)
		return rc;
	snprintf(source, sizeof(source), " (in %s)", path);

	const cJSON *item;
	cJSON_ArrayForEach (item, root) {
		const struct option_def *o = find_option(item->string, strlen(item->string));
		char number[32];
		const char *value;

		if (!o) {
			if (is_section(item->string))
				continue;
			snprintf(err, errlen, "config file %s: unknown key \"%s\"", path,
				 item->string);
			rc = -EINVAL;
			break;
		}
		if (strcmp(o->name, "config") == 0) {
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
		rc = apply_or_explain(cfg, o, value, source, err, errlen);
		if (rc)
			break;
	}
	if (rc) {
		cJSON_Delete(root);
		return rc;
	}
	cfg->file = root;
	return 0;
}

/*
 * Walks argv once, calling fn for every "--name[=value]" it finds (value NULL when
 * given separately and not yet consumed). Used twice: to find --config first, then
 * to apply every flag after the file and the environment.
 */
static int parse_args(struct config *cfg, int argc, char **argv, int apply_values, char *err,
		      size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];

		if (i == 1 && strcmp(arg, "run") == 0)
			continue;
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			cfg->action = CONFIG_HELP;
			return 1;
		}
		if (strcmp(arg, "--version") == 0) {
			cfg->action = CONFIG_VERSION;
			return 1;
		}
		if (strncmp(arg, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument \"%s\" (see --help)", arg);
			return -EINVAL;
		}
		const char *name = arg + 2;
		const char *eq = strchr(name, '=');
		size_t namelen = eq ? (size_t)(eq - name) : strlen(name);
		const struct option_def *o = find_option(name, namelen);
		const char *value;

		if (!o) {
			snprintf(err, errlen, "unknown flag --%.*s (see --help)", (int)namelen,
				 name);
			return -EINVAL;
		}
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
		int rc = apply_or_explain(cfg, o, value, "", err, errlen);
		if (rc)
			return rc;
	}
	return 0;
}

/* Rules that tie settings together. */
static int check_hook(const char *flag, const char *value, char *err, size_t errlen)
{
	if (strcmp(value, "auto") != 0 && strcmp(value, "tp_btf") != 0 &&
	    strcmp(value, "raw_tp") != 0) {
		snprintf(err, errlen,
			 "invalid value \"%s\" for --%s: expected auto, tp_btf or raw_tp", value,
			 flag);
		return -EINVAL;
	}
	return 0;
}

static int validate(const struct config *cfg, char *err, size_t errlen)
{
	struct latency_buckets buckets;
	struct latency_targets targets;

	if (check_hook("cpu-hook", cfg->cpu_hook, err, errlen) ||
	    check_hook("http-hook", cfg->http_hook, err, errlen) ||
	    latency_parse_buckets(cfg->http_buckets, &buckets, err, errlen) ||
	    latency_parse_targets(cfg->http_targets, &targets, err, errlen))
		return -EINVAL;
	if (cfg->rabbitmq_url && strncmp(cfg->rabbitmq_url, "http://", 7) != 0 &&
	    strncmp(cfg->rabbitmq_url, "https://", 8) != 0) {
		snprintf(err, errlen,
			 "invalid value \"%s\" for --rabbitmq-url: expected http:// or https://",
			 cfg->rabbitmq_url);
		return -EINVAL;
	}
	if (cfg->rabbitmq_timeout_ms >= cfg->rabbitmq_interval_ms) {
		snprintf(err, errlen, "--rabbitmq-timeout must be below --rabbitmq-interval");
		return -EINVAL;
	}
	if (cfg->rabbitmq_password && cfg->rabbitmq_password_file) {
		snprintf(err, errlen,
			 "both a RabbitMQ password and --rabbitmq-password-file are set; keep one");
		return -EINVAL;
	}
	return 0;
}

int config_load(struct config *cfg, int argc, char **argv, char **envp, char *err, size_t errlen)
{
	char name[96];
	int rc;

	memset(cfg, 0, sizeof(*cfg));
	cfg->action = CONFIG_RUN;
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].def) {
			rc = apply_or_explain(cfg, &options[i], options[i].def, " (default)", err,
					      errlen);
			if (rc)
				return rc;
		}
	}

	/* Other programs' variables (the reference RabbitMQ exporter's) rank just above defaults.
	 */
	for (size_t i = 0; i < sizeof(compat_envs) / sizeof(compat_envs[0]); i++) {
		char source[96], value[1024];
		const char *v = env_lookup(envp, compat_envs[i].env);
		const struct option_def *o =
			find_option(compat_envs[i].option, strlen(compat_envs[i].option));
		if (!v || !o)
			continue;
		snprintf(value, sizeof(value), compat_envs[i].format, v);
		snprintf(source, sizeof(source), " (from %s)", compat_envs[i].env);
		rc = apply_or_explain(cfg, o, value, source, err, errlen);
		if (rc)
			return rc;
	}

	/* Validate the command line and honour --help/--version before reading anything else. */
	rc = parse_args(cfg, argc, argv, 0, err, errlen);
	if (rc)
		return rc;

	/* The file's path can come from the flag or the environment, so find it first. */
	const struct option_def *config_opt = find_option("config", 6);
	env_name(config_opt, name, sizeof(name));
	const char *path = env_lookup(envp, name);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			path = argv[i + 1];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			path = argv[i] + 9;
	}
	if (path) {
		if (*path == '\0') {
			snprintf(err, errlen,
				 "invalid value \"\" for --config: expected a file path");
			return -EINVAL;
		}
		rc = load_file(cfg, path, err, errlen);
		if (rc)
			return rc;
	}

	for (size_t i = 0; i < NOPTIONS; i++) {
		char source[128];
		env_name(&options[i], name, sizeof(name));
		const char *value = env_lookup(envp, name);
		if (!value)
			continue;
		snprintf(source, sizeof(source), " (from %s)", name);
		rc = apply_or_explain(cfg, &options[i], value, source, err, errlen);
		if (rc)
			return rc;
	}
	rc = parse_args(cfg, argc, argv, 1, err, errlen);
	if (rc)
		return rc;
	return validate(cfg, err, errlen);
}

void config_free(struct config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < NOPTIONS; i++) {
		if (options[i].kind == OPT_STRING || options[i].kind == OPT_LISTEN ||
		    options[i].kind == OPT_REGEX || options[i].kind == OPT_SECRET) {
			char **field = (char **)((char *)cfg + options[i].offset);
			free(*field);
			*field = NULL;
		}
	}
	cJSON_Delete(cfg->file);
	cfg->file = NULL;
}

void config_print_help(const char *prog)
{
	char name[96];

	printf("Usage: %s [run] [FLAGS]\n"
	       "       %s --help | --version\n\n"
	       "hostmon %s: an eBPF host monitor exporting Prometheus metrics.\n\n"
	       "Flags (each also read from the environment variable shown, and from the\n"
	       "--config JSON file under the flag's name; flag > env > file > default):\n",
	       prog, prog, HOSTMON_VERSION);
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct option_def *o = &options[i];
		char flag[96];

		env_name(o, name, sizeof(name));
		if (o->kind == OPT_SECRET)
			snprintf(flag, sizeof(flag), "(no flag) %s", o->name);
		else
			snprintf(flag, sizeof(flag), "--%s%s%s", o->name, o->metavar ? " " : "",
				 o->metavar ? o->metavar : "");
		printf("  %-34s %s\n  %-34s env %s", flag, o->help, "", name);
		if (compat_env_of(o->name))
			printf(" or %s", compat_env_of(o->name));
		if (o->def)
			printf(", default %s", o->def);
		printf("\n");
	}
	printf("\nRestart rules (self-healing) live in the --config file under \"restart\";\n"
	       "SIGHUP reloads them (docs/restart.md).\n"
	       "\nEndpoints: /metrics, /healthz, /readyz, /.\n"
	       "Documentation: README.md and docs/ in the source tree.\n");
}
