/* http_latency/phpfpm_conf.h — a PHP-FPM pool's pm.max_children, read from its master's
 * configuration files inside the master's root (a container's files through /proc/PID/root). */
#ifndef HOSTMON_HTTP_LATENCY_PHPFPM_CONF_H
#define HOSTMON_HTTP_LATENCY_PHPFPM_CONF_H

#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   phpfpm_conf_named(cmdline, len, out, outlen): the configuration file a
 *     master's /proc/PID/cmdline names (NUL-separated, len bytes): `-y F`,
 *     `-yF`, `--fpm-config F`, `--fpm-config=F`, else its process title
 *     "php-fpm: master process (F)". 1 with out set, 0 when it names none.
 *   phpfpm_conf_default(exe, i, out, outlen): the i-th default location
 *     php-fpm builds use when none is named (exe: the master's executable
 *     name; php-fpmX.Y is Debian's /etc/php/X.Y/fpm/php-fpm.conf); 0, or -1
 *     past the last.
 *   phpfpm_conf_max_children(root_fd, conf, pool, &c): reads conf and the
 *     files its [global] include= lines name (a glob in the last path
 *     component; relative paths from the install prefix, conf's directory's
 *     parent) and takes pm.max_children of section [pool]. Every path is
 *     resolved inside root_fd (a directory: / of the master's mount
 *     namespace), symbolic links included. Bounded: files of at most 1 MiB,
 *     64 included files. Returns the status; c.max_children is set when OK,
 *     c.file names the file it came from (or the one that failed).
 *   phpfpm_conf_status_name(): "ok", "unreadable", "no_pool",
 *     "no_max_children", "invalid" (the label values).
 */
enum phpfpm_conf_status {
	PHPFPM_CONF_OK = 0,
	PHPFPM_CONF_UNREADABLE,	     /* the main configuration file cannot be opened or read */
	PHPFPM_CONF_NO_POOL,	     /* no file read has a section for the pool */
	PHPFPM_CONF_NO_MAX_CHILDREN, /* the pool's section sets no pm.max_children */
	PHPFPM_CONF_INVALID, /* its value is no positive integer (e.g. an ${ENV} reference) */
	PHPFPM_CONF_N,
};

#define PHPFPM_CONF_PATH_MAX 256

struct phpfpm_conf {
	uint64_t max_children;
	char file[PHPFPM_CONF_PATH_MAX];
};

int phpfpm_conf_named(const char *cmdline, size_t len, char *out, size_t outlen);
int phpfpm_conf_default(const char *exe, int i, char *out, size_t outlen);
enum phpfpm_conf_status phpfpm_conf_max_children(int root_fd, const char *conf, const char *pool,
						 struct phpfpm_conf *c);
const char *phpfpm_conf_status_name(enum phpfpm_conf_status s);

#endif
