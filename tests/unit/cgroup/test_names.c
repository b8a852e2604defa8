/* test_names.c — container, pod and namespace names from docker's config files and the
 * kubelet's log layout (built in a temporary directory), and unit names from paths. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "cgroup/names.h"
#include "test.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
/* the same first 64 bits as ID_A: a key collision that must not be taken for A */
#define ID_C  "0123456789abcdef000000000000000000000000000000000000000000000000"
#define UID_1 "5f3a2b1c-0d9e-4f8a-b7c6-d5e4f3a2b1c0"

static char root[256];

static void put(const char *rel, const char *text)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	if (text) {
		FILE *f = fopen(path, "w");
		CHECK(f != NULL, "create %s: %s", path, strerror(errno));
		if (f) {
			fputs(text, f);
			fclose(f);
		}
	} else {
		mkdir(path, 0755);
	}
}

/* Moves a file's or directory's mtime forward, as a later write would (the tests run fast). */
static void touch_later(const char *rel, int seconds)
{
	char path[512];
	struct timeval tv[2];
	gettimeofday(&tv[0], NULL);
	tv[0].tv_sec += seconds;
	tv[1] = tv[0];
	snprintf(path, sizeof(path), "%s/%s", root, rel);
	CHECK(utimes(path, tv) == 0, "utimes %s", path);
}

static void docker_config(const char *id, const char *name)
{
	char rel[256], text[256];
	snprintf(rel, sizeof(rel), "docker/containers/%s/config.v2.json", id);
	snprintf(text, sizeof(text), "{\"ID\":\"%s\",\"Name\":\"%s\",\"State\":{}}", id, name);
	put(rel, text);
}

static void test_docker(void)
{
	struct cg_names c;
	struct cg_name_result r;
	char dir[300];

	snprintf(dir, sizeof(dir), "%s/docker", root);
	docker_config(ID_A, "/laravel");
	put("docker/containers/" ID_B "/config.v2.json", "{not json");
	CHECK(cg_names_init(&c, dir, "/nonexistent") == 0, "init");
	cg_names_round(&c);
	cg_names_lookup(&c, ID_A, "", &r);
	CHECK_STR(r.container, "laravel");
	CHECK_STR(r.pod, "");
	CHECK_STR(r.namespace, "");
	cg_names_lookup(&c, ID_B, "", &r);
	CHECK_STR(r.container, ""); /* a config that does not parse names nothing */
	cg_names_lookup(&c, ID_C, "", &r);
	CHECK_STR(r.container, ""); /* no file, and not A's entry though its key is A's */
	cg_names_lookup(&c, "", "", &r);
	CHECK_STR(r.container, "");

	/* a rename rewrites the file: seen in the next round, not before */
	docker_config(ID_A, "/laravel-2");
	touch_later("docker/containers/" ID_A "/config.v2.json", 5);
	cg_names_lookup(&c, ID_A, "", &r);
	CHECK_STR(r.container, "laravel");
	cg_names_round(&c);
	cg_names_lookup(&c, ID_A, "", &r);
	CHECK_STR(r.container, "laravel-2");

	/* removed: forgotten */
	char path[512];
	snprintf(path, sizeof(path), "%s/docker/containers/%s/config.v2.json", root, ID_A);
	unlink(path);
	cg_names_round(&c);
	cg_names_lookup(&c, ID_A, "", &r);
	CHECK_STR(r.container, "");
	cg_names_free(&c);
	cg_names_free(&c); /* twice is harmless */
}

static void test_kubelet(void)
{
	struct cg_names c;
	struct cg_name_result r;
	char dir[300], docker[300];

	snprintf(dir, sizeof(dir), "%s/log", root);
	snprintf(docker, sizeof(docker), "%s/docker", root);
	put("log/pods/shop_web-7d4b9c-x2k4p_" UID_1 "/php", NULL);
	put("log/pods/bad_name_with_more_" UID_1, NULL); /* four fields: not the layout */
	put("log/pods/nouid_", NULL);
	put("log/containers/web-7d4b9c-x2k4p_shop_php-fpm-" ID_B ".log", "");
	put("log/containers/web_shop_nginx-0123.log", ""); /* id too short */
	put("log/containers/README", "");
	/* docker, under Kubernetes, has its own generated name for the same container */
	docker_config(ID_B, "/k8s_php-fpm_web-7d4b9c-x2k4p_shop_" UID_1 "_0");
	CHECK(cg_names_init(&c, docker, dir) == 0, "init");
	cg_names_round(&c);
	cg_names_lookup(&c, ID_B, UID_1, &r);
	CHECK_STR(r.container, "php-fpm");
	CHECK_STR(r.pod, "web-7d4b9c-x2k4p");
	CHECK_STR(r.namespace, "shop");
	cg_names_lookup(&c, "", UID_1, &r); /* the pod's own cgroup */
	CHECK_STR(r.container, "");
	CHECK_STR(r.pod, "web-7d4b9c-x2k4p");

	/* a new pod appears: its directory changes the parent's mtime */
	put("log/pods/kube-system_dns-1_11111111-2222-3333-4444-555555555555", NULL);
	touch_later("log/pods", 7);
	cg_names_round(&c);
	cg_names_lookup(&c, "", "11111111-2222-3333-4444-555555555555", &r);
	CHECK_STR(r.pod, "dns-1");
	CHECK_STR(r.namespace, "kube-system");
	cg_names_lookup(&c, ID_B, UID_1, &r);
	CHECK_STR(r.pod, "web-7d4b9c-x2k4p");
	cg_names_free(&c);

	CHECK(cg_names_init(&c, "", "") == 0, "init without sources");
	cg_names_round(&c);
	cg_names_lookup(&c, ID_B, UID_1, &r);
	CHECK_STR(r.container, "");
	CHECK_STR(r.pod, "");
	cg_names_free(&c);
}

static void test_units(void)
{
	static const struct {
		const char *path, *unit;
	} cases[] = {
		{ "/system.slice/php8.2-fpm.service", "php8.2-fpm.service" },
		{ "/system.slice/docker-" ID_A ".scope", "docker-" ID_A ".scope" },
		{ "/system.slice/nginx.service/worker", "nginx.service" },
		{ "/user.slice/user-1000.slice/session-3.scope", "session-3.scope" },
		{ "/system.slice", "" },
		{ "/", "" },
		{ "", "" },
		{ "/docker/" ID_A, "" },
		{ "/a.service/b.scope/c", "b.scope" },
		{ "/.service", "" }, /* a suffix alone is no name */
	};
	char unit[256];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cgroup_unit_from_path(cases[i].path, unit, sizeof(unit));
		CHECK(strcmp(unit, cases[i].unit) == 0, "%s: got [%s] want [%s]", cases[i].path,
		      unit, cases[i].unit);
	}
	cgroup_unit_from_path("/system.slice/long-name.service", unit, 8);
	CHECK(unit[0] == '\0', "a name that does not fit is none, not cut: [%s]", unit);
	cgroup_unit_from_path(NULL, unit, sizeof(unit));
	CHECK(unit[0] == '\0', "NULL path: [%s]", unit);
}

int main(void)
{
	snprintf(root, sizeof(root), "/tmp/hostmon-names-XXXXXX");
	if (!mkdtemp(root)) {
		perror("mkdtemp");
		return 1;
	}
	test_docker();
	test_kubelet();
	test_units();
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	CHECK(system(cmd) == 0, "remove %s", root);
	return test_summary("cgroup/test_names");
}
