/* test_phpfpm_conf.c — a PHP-FPM pool's pm.max_children from its master's configuration: the file
 * a master names, the defaults, includes with globs inside a root, and each status. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http_latency/phpfpm_conf.h"
#include "test.h"

static char root[64];

static void put(const char *rel, const char *text)
{
	char path[256];
	snprintf(path, sizeof(path), "%s%s", root, rel);
	/* the directories along rel */
	for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
		*s = '\0';
		mkdir(path, 0755);
		*s = '/';
	}
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_named(void)
{
	char out[PHPFPM_CONF_PATH_MAX];
	static const char title[] = "php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)\0\0\0";
	CHECK(phpfpm_conf_named(title, sizeof(title) - 1, out, sizeof(out)) == 1 &&
		      strcmp(out, "/etc/php/8.2/fpm/php-fpm.conf") == 0,
	      "title: %s", out);
	static const char cut[] = "php-fpm: master process (/etc/php/8.2/fp";
	CHECK(phpfpm_conf_named(cut, sizeof(cut) - 1, out, sizeof(out)) == 0,
	      "a title cut short names nothing");
	static const char y[] = "php-fpm\0-F\0-y\0/srv/fpm.conf\0";
	CHECK(phpfpm_conf_named(y, sizeof(y) - 1, out, sizeof(out)) == 1 &&
		      strcmp(out, "/srv/fpm.conf") == 0,
	      "-y F: %s", out);
	static const char yy[] = "php-fpm\0-y/srv/a.conf\0";
	CHECK(phpfpm_conf_named(yy, sizeof(yy) - 1, out, sizeof(out)) == 1 &&
		      strcmp(out, "/srv/a.conf") == 0,
	      "-yF: %s", out);
	static const char eq[] = "php-fpm\0--fpm-config=/srv/b.conf\0";
	CHECK(phpfpm_conf_named(eq, sizeof(eq) - 1, out, sizeof(out)) == 1 &&
		      strcmp(out, "/srv/b.conf") == 0,
	      "--fpm-config=F: %s", out);
	static const char last[] = "php-fpm\0--fpm-config\0";
	CHECK(phpfpm_conf_named(last, sizeof(last) - 1, out, sizeof(out)) == 0,
	      "--fpm-config without its file names nothing");
	static const char none[] = "php-fpm\0-F\0";
	CHECK(phpfpm_conf_named(none, sizeof(none) - 1, out, sizeof(out)) == 0, "none named");

	CHECK(phpfpm_conf_default("php-fpm8.2", 0, out, sizeof(out)) == 0 &&
		      strcmp(out, "/etc/php/8.2/fpm/php-fpm.conf") == 0,
	      "Debian's default first: %s", out);
	CHECK(phpfpm_conf_default("php-fpm", 0, out, sizeof(out)) == 0 &&
		      strcmp(out, "/usr/local/etc/php-fpm.conf") == 0,
	      "the official images' default: %s", out);
	int n = 0;
	while (phpfpm_conf_default("php-fpm", n, out, sizeof(out)) == 0)
		n++;
	CHECK(n == 3, "three defaults without a version: %d", n);
}

static void test_files(void)
{
	struct phpfpm_conf c;
	int fd;

	/* the official image's layout: a relative include from the prefix, a glob */
	put("/usr/local/etc/php-fpm.conf",
	    "[global]\nerror_log = /proc/self/fd/2\ninclude=etc/php-fpm.d/*.conf\n");
	put("/usr/local/etc/php-fpm.d/www.conf",
	    "; the pool\n[www]\nuser = www-data\npm = dynamic\npm.max_children = 5\n");
	put("/usr/local/etc/php-fpm.d/zz-docker.conf",
	    "[www]\npm.max_children = \"12\" ; later files win\n[api]\npm.max_children=3\n");
	put("/usr/local/etc/php-fpm.d/www.conf.disabled", "[www]\npm.max_children = 99\n");
	put("/usr/local/etc/php-fpm.d/broken.conf", "[env]\npm.max_children = ${CHILDREN}\n"
						    "[nomax]\npm = static\n");
	fd = open(root, O_PATH | O_DIRECTORY);
	CHECK(fd >= 0, "root opens");
	enum phpfpm_conf_status s =
		phpfpm_conf_max_children(fd, "/usr/local/etc/php-fpm.conf", "www", &c);
	CHECK(s == PHPFPM_CONF_OK && c.max_children == 12 &&
		      strcmp(c.file, "/usr/local/etc/php-fpm.d/zz-docker.conf") == 0,
	      "www: the last file's value (and no file outside *.conf): %d %llu %s", s,
	      (unsigned long long)c.max_children, c.file);
	s = phpfpm_conf_max_children(fd, "/usr/local/etc/php-fpm.conf", "api", &c);
	CHECK(s == PHPFPM_CONF_OK && c.max_children == 3, "api: %d", s);
	s = phpfpm_conf_max_children(fd, "/usr/local/etc/php-fpm.conf", "env", &c);
	CHECK(s == PHPFPM_CONF_INVALID, "${ENV}: invalid, %d", s);
	s = phpfpm_conf_max_children(fd, "/usr/local/etc/php-fpm.conf", "nomax", &c);
	CHECK(s == PHPFPM_CONF_NO_MAX_CHILDREN, "no pm.max_children: %d", s);
	s = phpfpm_conf_max_children(fd, "/usr/local/etc/php-fpm.conf", "missing", &c);
	CHECK(s == PHPFPM_CONF_NO_POOL, "no such pool: %d", s);
	s = phpfpm_conf_max_children(fd, "/etc/php-fpm.conf", "www", &c);
	CHECK(s == PHPFPM_CONF_UNREADABLE && strcmp(c.file, "/etc/php-fpm.conf") == 0,
	      "no file: unreadable, and named: %d %s", s, c.file);

	/* an absolute symbolic link inside the root resolves inside it, not on the host */
	put("/etc/php/8.2/fpm/real.conf", "[global]\n[www]\npm.max_children = 7\n");
	char link[256];
	snprintf(link, sizeof(link), "%s/etc/php/8.2/fpm/php-fpm.conf", root);
	CHECK(symlink("/etc/php/8.2/fpm/real.conf", link) == 0, "symlink made");
	s = phpfpm_conf_max_children(fd, "/etc/php/8.2/fpm/php-fpm.conf", "www", &c);
	CHECK(s == PHPFPM_CONF_OK && c.max_children == 7, "through a link inside the root: %d", s);
	snprintf(link, sizeof(link), "%s/etc/escape.conf", root);
	CHECK(symlink("../../../../../../../../etc/passwd", link) == 0, "symlink made");
	s = phpfpm_conf_max_children(fd, "/etc/escape.conf", "root", &c);
	CHECK(s == PHPFPM_CONF_UNREADABLE || s == PHPFPM_CONF_NO_POOL,
	      "a link out of the root stays in it: %d", s);
	close(fd);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/hostmon-phpfpm-conf-XXXXXX");
	if (!mkdtemp(root)) {
		CHECK(0, "mkdtemp: %s", strerror(errno));
		return test_summary("http_latency/test_phpfpm_conf");
	}
	test_named();
	test_files();
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0, "%s removed", root);
	return test_summary("http_latency/test_phpfpm_conf");
}
