/* http_latency/phpfpm_conf.c — pm.max_children of a PHP-FPM pool from its master's configuration
 * files, read inside the master's root. */
#include "http_latency/phpfpm_conf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/parse.h"

#define CONF_FILE_MAX	 (1u << 20)
#define CONF_INCLUDE_MAX 64

static const char *const status_names[PHPFPM_CONF_N] = {
	[PHPFPM_CONF_OK] = "ok",	   [PHPFPM_CONF_UNREADABLE] = "unreadable",
	[PHPFPM_CONF_NO_POOL] = "no_pool", [PHPFPM_CONF_NO_MAX_CHILDREN] = "no_max_children",
	[PHPFPM_CONF_INVALID] = "invalid",
};

const char *phpfpm_conf_status_name(enum phpfpm_conf_status s)
{
	return s < PHPFPM_CONF_N ? status_names[s] : "invalid";
}

static int copy(char *out, size_t outlen, const char *s, size_t n)
{
	if (n == 0 || n >= outlen)
		return 0;
	memcpy(out, s, n);
	out[n] = '\0';
	return 1;
}

int phpfpm_conf_named(const char *cmdline, size_t len, char *out, size_t outlen)
{
	static const char title[] = "php-fpm: master process (";
	const char *end = cmdline + len;

	for (const char *a = cmdline; a < end; a += strnlen(a, (size_t)(end - a)) + 1) {
		size_t n = strnlen(a, (size_t)(end - a));
		const char *next = a + n + 1;
		size_t next_n = next < end ? strnlen(next, (size_t)(end - next)) : 0;
		if (strcmp(a, "-y") == 0 || strcmp(a, "--fpm-config") == 0)
			return copy(out, outlen, next, next_n);
		if (strncmp(a, "--fpm-config=", 13) == 0)
			return copy(out, outlen, a + 13, n - 13);
		if (strncmp(a, "-y", 2) == 0 && n > 2)
			return copy(out, outlen, a + 2, n - 2);
		/* the title php-fpm writes over its arguments: the file it actually read; cut short
		 * (no closing parenthesis) when the arguments' space was too small */
		if (strncmp(a, title, sizeof(title) - 1) == 0) {
			const char *close = memchr(a, ')', n);
			const char *p = a + sizeof(title) - 1;
			return close && close + 1 == a + n
				       ? copy(out, outlen, p, (size_t)(close - p))
				       : 0;
		}
	}
	return 0;
}

int phpfpm_conf_default(const char *exe, int i, char *out, size_t outlen)
{
	static const char *const common[] = { "/usr/local/etc/php-fpm.conf", "/etc/php-fpm.conf",
					      "/etc/php/php-fpm.conf" };
	char version[16];

	/* Debian and Ubuntu name the binary php-fpmX.Y and keep its files in /etc/php/X.Y/fpm */
	if (sscanf(exe, "php-fpm%15[0-9.]", version) == 1 && strchr(version, '.')) {
		if (i == 0) {
			snprintf(out, outlen, "/etc/php/%s/fpm/php-fpm.conf", version);
			return 0;
		}
		i--;
	}
	if (i < 0 || (size_t)i >= sizeof(common) / sizeof(common[0]))
		return -1;
	snprintf(out, outlen, "%s", common[i]);
	return 0;
}

/* path opened inside root_fd as if root_fd were /, symbolic links included (openat2). */
static int open_in_root(int root_fd, const char *path, int flags)
{
	struct open_how how = { .flags = (uint64_t)(flags | O_CLOEXEC),
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
	return (int)syscall(SYS_openat2, root_fd, path, &how, sizeof(how));
}

/* The whole file, NUL-terminated, in a malloc'ed buffer the caller frees; NULL when unreadable
 * or larger than CONF_FILE_MAX. */
static char *read_in_root(int root_fd, const char *path)
{
	int fd = open_in_root(root_fd, path, O_RDONLY);
	if (fd < 0)
		return NULL;
	char *buf = malloc(CONF_FILE_MAX + 1);
	size_t n = 0;
	while (buf && n < CONF_FILE_MAX) {
		ssize_t r = read(fd, buf + n, CONF_FILE_MAX - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			buf = NULL;
		}
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	char extra;
	if (buf && n == CONF_FILE_MAX && read(fd, &extra, 1) > 0) {
		free(buf);
		buf = NULL;
	}
	close(fd);
	if (buf)
		buf[n] = '\0';
	return buf;
}

struct parse {
	int root_fd;
	const char *pool;
	const char *prefix_of; /* the main file: relative includes start at its parent's parent */
	unsigned files;	       /* included files read */
	bool pool_seen;
	char value[64]; /* pm.max_children as last set for the pool ("" if never) */
	char value_file[PHPFPM_CONF_PATH_MAX];
};

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
		s[--n] = '\0';
	return s;
}

/* An ini value: inside its quotes, or cut at a ';' comment. */
static char *ini_value(char *v)
{
	v = trim(v);
	if (v[0] == '"' || v[0] == '\'') {
		char *close = strchr(v + 1, v[0]);
		if (close) {
			*close = '\0';
			return v + 1;
		}
	}
	char *c = strchr(v, ';');
	if (c)
		*c = '\0';
	return trim(v);
}

static int parse_file(struct parse *p, const char *path, int depth);

/* include=PATTERN: a glob in its last component, files in name order (as glob(3) gives them). */
static void include(struct parse *p, const char *pattern, int depth)
{
	char full[PHPFPM_CONF_PATH_MAX], dir[PHPFPM_CONF_PATH_MAX];

	if (pattern[0] == '/') {
		if (snprintf(full, sizeof(full), "%s", pattern) >= (int)sizeof(full))
			return;
	} else {
		/* php-fpm resolves a relative include from its install prefix: the main file's
		 * directory's parent (/usr/local for /usr/local/etc/php-fpm.conf) */
		snprintf(dir, sizeof(dir), "%s", p->prefix_of);
		for (int up = 0; up < 2; up++) {
			char *slash = strrchr(dir, '/');
			if (slash)
				*slash = '\0';
		}
		if (snprintf(full, sizeof(full), "%s/%s", dir, pattern) >= (int)sizeof(full))
			return;
	}
	char *slash = strrchr(full, '/');
	const char *base = slash + 1;
	snprintf(dir, sizeof(dir), "%.*s", (int)(slash - full), full);
	if (!strpbrk(base, "*?[")) {
		if (p->files++ < CONF_INCLUDE_MAX)
			(void)parse_file(p, full, depth + 1);
		return;
	}
	int fd = open_in_root(p->root_fd, dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	char *names[CONF_INCLUDE_MAX];
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) && n < CONF_INCLUDE_MAX)
		if (fnmatch(base, e->d_name, FNM_PERIOD) == 0 && (names[n] = strdup(e->d_name)))
			n++;
	closedir(d);
	for (size_t i = 1; i < n; i++) /* few names: insertion sort */
		for (size_t j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			char *t = names[j];
			names[j] = names[j - 1];
			names[j - 1] = t;
		}
	for (size_t i = 0; i < n; i++) {
		char file[PHPFPM_CONF_PATH_MAX];
		if (snprintf(file, sizeof(file), "%s/%s", dir, names[i]) < (int)sizeof(file) &&
		    p->files++ < CONF_INCLUDE_MAX)
			(void)parse_file(p, file, depth + 1);
		free(names[i]);
	}
}

static void parse_line(struct parse *p, char *line, const char *path, bool *in_global,
		       bool *in_pool, int depth)
{
	line = trim(line);
	if (!*line || *line == ';' || *line == '#')
		return;
	if (*line == '[') {
		char *close = strchr(line, ']');
		if (!close)
			return;
		*close = '\0';
		*in_global = strcmp(line + 1, "global") == 0;
		*in_pool = strcmp(line + 1, p->pool) == 0;
		p->pool_seen |= *in_pool;
		return;
	}
	char *eq = strchr(line, '=');
	if (!eq)
		return;
	*eq = '\0';
	char *key = trim(line), *value = ini_value(eq + 1);
	if (*in_global && strcmp(key, "include") == 0 && depth < 2)
		include(p, value, depth);
	else if (*in_pool && strcmp(key, "pm.max_children") == 0) {
		snprintf(p->value, sizeof(p->value), "%s", value);
		snprintf(p->value_file, sizeof(p->value_file), "%s", path);
	}
}

/* 0, or -1 when the file cannot be read */
static int parse_file(struct parse *p, const char *path, int depth)
{
	char *text = read_in_root(p->root_fd, path);
	if (!text)
		return -1;
	/* lines before any section are global, as php-fpm reads them */
	bool in_global = true, in_pool = false;
	for (char *line = text, *next; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		parse_line(p, line, path, &in_global, &in_pool, depth);
	}
	free(text);
	return 0;
}

enum phpfpm_conf_status phpfpm_conf_max_children(int root_fd, const char *conf, const char *pool,
						 struct phpfpm_conf *c)
{
	struct parse p = { .root_fd = root_fd, .pool = pool, .prefix_of = conf };
	uint64_t v;

	snprintf(c->file, sizeof(c->file), "%s", conf);
	if (parse_file(&p, conf, 0))
		return PHPFPM_CONF_UNREADABLE;
	if (!p.pool_seen)
		return PHPFPM_CONF_NO_POOL;
	if (!p.value[0])
		return PHPFPM_CONF_NO_MAX_CHILDREN;
	snprintf(c->file, sizeof(c->file), "%s", p.value_file);
	if (parse_u64(p.value, 1, UINT32_MAX, &v))
		return PHPFPM_CONF_INVALID;
	c->max_children = v;
	return PHPFPM_CONF_OK;
}
