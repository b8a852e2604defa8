/* test_cgroup.c — cgroup mount discovery from mountinfo fixtures, labels from cgroup paths. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "test.h"

static char fixture_path[64];

/* Writes text to a fresh /tmp file; the caller unlinks fixture_path. */
static const char *write_fixture(const char *text)
{
	strcpy(fixture_path, "/tmp/hostmon-test-cgroup-XXXXXX");
	int fd = mkstemp(fixture_path);
	if (fd < 0)
		return NULL;
	size_t len = strlen(text);
	ssize_t n = write(fd, text, len);
	close(fd);
	return n == (ssize_t)len ? fixture_path : NULL;
}

/* Runs cgroup_find_mounts() on a fixture; out is poisoned first so stale data cannot pass. */
static int find_in(const char *text, struct cgroup_mounts *out)
{
	const char *path = write_fixture(text);
	int rc;

	memset(out, 'X', sizeof(*out));
	if (!path)
		return -EIO;
	rc = cgroup_find_mounts(path, out);
	unlink(path);
	return rc;
}

static void test_mounts_hybrid(void)
{
	struct cgroup_mounts m;
	int rc = find_in(
		"22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw\n"
		"23 22 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw\n"
		"31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		"33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
		"34 31 0:31 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
		"35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
		"40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
		"41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n",
		&m);

	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.unified, "/sys/fs/cgroup/unified");
	CHECK_STR(m.cpu, "/sys/fs/cgroup/cpu");
	CHECK_STR(m.cpuacct, "/sys/fs/cgroup/cpuacct");
}

static void test_mounts_pure_v2(void)
{
	struct cgroup_mounts m;
	int rc = find_in("22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
			 "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - "
			 "cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n",
			 &m);

	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.unified, "/sys/fs/cgroup");
	CHECK_STR(m.cpu, "");
	CHECK_STR(m.cpuacct, "");
}

static void test_mounts_v1_joined(void)
{
	struct cgroup_mounts m;
	int rc = find_in(
		"25 18 0:22 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs "
		"ro,mode=755\n"
		"28 25 0:25 / /sys/fs/cgroup/cpuset rw,nosuid shared:11 - cgroup cgroup rw,cpuset\n"
		"29 25 0:26 / /sys/fs/cgroup/cpu,cpuacct rw,nosuid shared:12 - cgroup cgroup "
		"rw,cpu,cpuacct\n"
		"30 25 0:27 / /sys/fs/cgroup/net_cls,net_prio rw shared:13 - cgroup cgroup "
		"rw,net_cls,net_prio\n",
		&m);

	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.unified, "");
	CHECK_STR(m.cpu, "/sys/fs/cgroup/cpu,cpuacct");
	CHECK_STR(m.cpuacct, "/sys/fs/cgroup/cpu,cpuacct");
}

static void test_mounts_v1_separate(void)
{
	struct cgroup_mounts m;
	/* cpuacct listed first and cpu's options carry look-alike tokens that must not match. */
	int rc = find_in("33 31 0:30 / /cg/acct rw - cgroup cgroup rw,cpuacct,xattr\n"
			 "34 31 0:31 / /cg/set rw - cgroup cgroup rw,cpuset,cpu_x,xcpu\n"
			 "32 31 0:29 / /cg/cpu rw shared:3 master:1 - cgroup cgroup rw,cpu\n",
			 &m);

	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.cpu, "/cg/cpu");
	CHECK_STR(m.cpuacct, "/cg/acct");
	CHECK_STR(m.unified, "");
}

static void test_mounts_escaped(void)
{
	struct cgroup_mounts m;
	int rc =
		find_in("41 31 0:38 / /mnt/my\\040cgroup\\011tab\\134back rw - cgroup2 cgroup2 rw\n"
			/* Not an escape the kernel writes: kept as-is. */
			"32 31 0:29 / /mnt/odd\\9x\\ rw - cgroup cgroup rw,cpu\n",
			&m);

	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.unified, "/mnt/my cgroup\ttab\\back");
	CHECK_STR(m.cpu, "/mnt/odd\\9x\\");
}

static void test_mounts_container(void)
{
	struct cgroup_mounts m;
	int rc = find_in(
		"1200 1100 0:30 /kubepods/burstable/pod1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901/abc "
		"/sys/fs/cgroup ro,nosuid - cgroup2 cgroup ro\n"
		"1201 1100 0:30 / /host/sys/fs/cgroup rw - cgroup2 cgroup rw\n"
		"1202 1100 0:30 / /host2/sys/fs/cgroup rw - cgroup2 cgroup rw\n"
		/* Only non-"/" roots for cpu: the first one is kept. */
		"1203 1100 0:31 /docker/a /first/cpu ro - cgroup cgroup rw,cpu\n"
		"1204 1100 0:31 /docker/b /second/cpu ro - cgroup cgroup rw,cpu\n",
		&m);

	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.unified, "/host/sys/fs/cgroup");
	CHECK_STR(m.cpu, "/first/cpu");
	CHECK_STR(m.cpuacct, "");
}

static void test_mounts_garbage(void)
{
	struct cgroup_mounts m;
	int rc = find_in("\n"
			 "garbage\n"
			 "1 2 3 4 5 6\n"
			 "1 2 0:1 / /nosep rw cgroup2 cgroup2 rw\n"
			 "1 2 0:1 / /short rw - cgroup2\n"
			 "1 2 0:1 / relative rw - cgroup2 cgroup2 rw\n"
			 "1 2 0:1 relroot /relroot rw - cgroup2 cgroup2 rw\n"
			 "1 2 0:1 / /nul\\000byte rw - cgroup2 cgroup2 rw\n"
			 "\x01\x02\xff - - - - - - cgroup2\n"
			 " - - - - - - - - -\n"
			 "1 2 0:1 / /cpuacct-ish rw - cgroupfoo cgroup rw,cpu\n"
			 "1 2 0:1 / /emptysrc rw - cgroup2  rw\n"
			 "1 2 0:1 / /noeol rw - cgroup cgroup rw,cpuacct",
			 &m);

	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.unified, "/emptysrc");
	CHECK_STR(m.cpu, "");
	CHECK_STR(m.cpuacct, "/noeol");
}

static void test_mounts_too_long(void)
{
	struct cgroup_mounts m;
	size_t n = 5000;
	char *text = malloc(n + 200);

	if (!text) {
		CHECK(0, "malloc");
		return;
	}
	strcpy(text, "1 2 0:1 / /");
	memset(text + strlen(text), 'a', n);
	strcpy(text + strlen("1 2 0:1 / /") + n, " rw - cgroup2 cgroup2 rw\n"
						 "2 2 0:1 / /fits rw - cgroup2 cgroup2 rw\n");
	int rc = find_in(text, &m);
	free(text);

	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.unified, "/fits");

	/* Exactly CGROUP_PATH_MAX - 1 bytes fits; escapes count once unescaped. */
	text = malloc(CGROUP_PATH_MAX * 4 + 200);
	if (!text) {
		CHECK(0, "malloc");
		return;
	}
	char *p = text + sprintf(text, "1 2 0:1 / /");
	for (int i = 0; i < CGROUP_PATH_MAX - 2; i++)
		p += sprintf(p, "\\040");
	strcpy(p, " rw - cgroup2 cgroup2 rw\n");
	rc = find_in(text, &m);
	free(text);
	CHECK(rc == 0, "rc %d", rc);
	CHECK(strlen(m.unified) == CGROUP_PATH_MAX - 1, "len %zu",
	      strnlen(m.unified, CGROUP_PATH_MAX));

	/* One byte more is refused, not truncated: a cut path names another directory. */
	text = malloc(CGROUP_PATH_MAX * 4 + 200);
	if (!text) {
		CHECK(0, "malloc");
		return;
	}
	p = text + sprintf(text, "1 2 0:1 / /");
	for (int i = 0; i < CGROUP_PATH_MAX - 1; i++)
		p += sprintf(p, "\\040");
	strcpy(p, " rw - cgroup2 cgroup2 rw\n");
	rc = find_in(text, &m);
	free(text);
	CHECK(rc == 0, "rc %d", rc);
	CHECK_STR(m.unified, "");
}

static void test_mounts_errors(void)
{
	struct cgroup_mounts m;

	strcpy(m.unified, "untouched");
	CHECK(cgroup_find_mounts("/nonexistent/hostmon/mountinfo", &m) == -ENOENT, "missing");
	CHECK_STR(m.unified, "untouched");
	CHECK(cgroup_find_mounts(NULL, &m) == -EINVAL, "NULL path");
	CHECK(cgroup_find_mounts("/proc/self/mountinfo", NULL) == -EINVAL, "NULL out");
	/* A directory opens but cannot be read: an error, not an empty result. */
	CHECK(cgroup_find_mounts("/tmp", &m) == -EISDIR, "directory");
	CHECK_STR(m.unified, "untouched");

	int rc = find_in("", &m);
	CHECK(rc == 0, "empty file rc %d", rc);
	CHECK_STR(m.unified, "");
	CHECK_STR(m.cpu, "");
	CHECK_STR(m.cpuacct, "");
}

static void test_mounts_real(void)
{
	struct cgroup_mounts m;
	int rc = cgroup_find_mounts("/proc/self/mountinfo", &m);

	CHECK(rc == 0, "rc %d", rc);
	if (rc != 0 || !m.unified[0])
		return;

	struct stat st;
	char procs[CGROUP_PATH_MAX + 32];

	CHECK(stat(m.unified, &st) == 0 && S_ISDIR(st.st_mode), "%s is not a directory", m.unified);
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", m.unified);
	CHECK(access(procs, F_OK) == 0, "%s: %s", procs, strerror(errno));
}

#define ID_A	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B	 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define ID_SHORT "4f1a2b3c4d5e"
#define UID_D	 "1b2c3d4e-5f60-7182-93a4-b5c6d7e8f901"
#define UID_U	 "1b2c3d4e_5f60_7182_93a4_b5c6d7e8f901"
#define KP_BURST "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_U ".slice"
#define KP_BEST	 "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_U ".slice"

/* Outputs sit between guard bytes so an overflow shows even where ASan cannot see it. */
struct labels {
	char id[CGROUP_CONTAINER_ID_MAX];
	char guard1[16];
	char uid[CGROUP_POD_UID_MAX];
	char guard2[16];
};

static int guards_intact(const struct labels *l)
{
	for (size_t i = 0; i < sizeof(l->guard1); i++) {
		if (l->guard1[i] != 'G' || l->guard2[i] != 'G')
			return 0;
	}
	return 1;
}

/*
 * The path is copied to an exact-size heap block so ASan flags any read past
 * its NUL; outputs start unterminated so the function must write both.
 */
static void labels_of(const char *path, struct labels *l)
{
	char *copy = path ? strdup(path) : NULL;

	memset(l, 'G', sizeof(*l));
	cgroup_labels_from_path(copy, l->id, l->uid);
	free(copy);
}

#define EXPECT_LABELS(path, want_id, want_uid)                                                   \
	do {                                                                                     \
		const char *p_ = (path);                                                         \
		const char *shown_ = p_ ? p_ : "(null)";                                         \
		struct labels l_;                                                                \
		labels_of(p_, &l_);                                                              \
		CHECK(guards_intact(&l_), "guards overwritten for %s", shown_);                  \
		l_.id[CGROUP_CONTAINER_ID_MAX - 1] = '\0';                                       \
		l_.uid[CGROUP_POD_UID_MAX - 1] = '\0';                                           \
		CHECK(strcmp(l_.id, (want_id)) == 0, "%s: id [%s] want [%s]", shown_, l_.id,     \
		      (want_id));                                                                \
		CHECK(strcmp(l_.uid, (want_uid)) == 0, "%s: uid [%s] want [%s]", shown_, l_.uid, \
		      (want_uid));                                                               \
	} while (0)

static void test_labels_docker_podman(void)
{
	EXPECT_LABELS("/system.slice/docker-" ID_A ".scope", ID_A, "");
	EXPECT_LABELS("/docker/" ID_A, ID_A, "");
	EXPECT_LABELS("/docker/" ID_A "/", ID_A, "");
	EXPECT_LABELS("/docker/" ID_SHORT, ID_SHORT, "");
	EXPECT_LABELS("/machine.slice/libpod-" ID_A ".scope", ID_A, "");
	EXPECT_LABELS("/machine.slice/libpod-" ID_A ".scope/container", ID_A, "");
	EXPECT_LABELS("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" ID_A
		      ".scope",
		      ID_A, "");
}

static void test_labels_kubernetes(void)
{
	EXPECT_LABELS(KP_BURST "/cri-containerd-" ID_A ".scope", ID_A, UID_D);
	EXPECT_LABELS("/kubepods.slice/kubepods-pod" UID_U ".slice/crio-" ID_A ".scope", ID_A,
		      UID_D);
	EXPECT_LABELS(KP_BEST "/crio-" ID_B ".scope", ID_B, UID_D);
	EXPECT_LABELS(KP_BURST "/docker-" ID_A ".scope", ID_A, UID_D);
	/* conmon is CRI-O's monitor process, not the container: the pod only. */
	EXPECT_LABELS(KP_BEST "/crio-conmon-" ID_A ".scope", "", UID_D);
	EXPECT_LABELS("/kubepods/burstable/pod" UID_D "/" ID_A, ID_A, UID_D);
	EXPECT_LABELS("/kubepods/besteffort/pod" UID_D "/" ID_SHORT, ID_SHORT, UID_D);
	EXPECT_LABELS("/kubepods/pod" UID_D "/" ID_A, ID_A, UID_D);
	/* Pod-level cgroups, no container yet. */
	EXPECT_LABELS("/kubepods/burstable/pod" UID_D, "", UID_D);
	EXPECT_LABELS("/kubepods/pod" UID_D "/", "", UID_D);
	EXPECT_LABELS(KP_BURST, "", UID_D);
	EXPECT_LABELS("/kubepods.slice/kubepods-pod" UID_U ".slice", "", UID_D);
}

static void test_labels_nested(void)
{
	EXPECT_LABELS("/system.slice/docker-" ID_A ".scope/init.scope", ID_A, "");
	EXPECT_LABELS("/docker/" ID_A "/sub", ID_A, "");
	EXPECT_LABELS("/docker/" ID_A "/sub/deeper", ID_A, "");
	EXPECT_LABELS(KP_BURST "/cri-containerd-" ID_A ".scope/sub", ID_A, UID_D);
	/* Innermost wins: a kind node (container A) running a pod's container B. */
	EXPECT_LABELS("/system.slice/docker-" ID_A ".scope/kubepods/burstable/pod" UID_D "/" ID_B,
		      ID_B, UID_D);
	EXPECT_LABELS("/docker/" ID_A "/docker/" ID_B, ID_B, "");
	EXPECT_LABELS("/docker/" ID_A "/kubepods/pod" UID_D, ID_A, UID_D);
}

static void test_labels_non_matches(void)
{
	const char *id63 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde";
	char path[256];

	EXPECT_LABELS("/", "", "");
	EXPECT_LABELS("", "", "");
	EXPECT_LABELS(NULL, "", "");
	EXPECT_LABELS("/system.slice/php8.2-fpm.service", "", "");
	EXPECT_LABELS("/user.slice", "", "");
	EXPECT_LABELS("/docker", "", "");
	EXPECT_LABELS("/docker/", "", "");
	EXPECT_LABELS("/dockerx/" ID_A, "", "");
	EXPECT_LABELS("/xdocker/" ID_A, "", "");
	EXPECT_LABELS("/machine.slice/libpod-conmon-" ID_A ".scope", "", "");
	EXPECT_LABELS("/system.slice/docker-" ID_A ".scopex", "", "");
	EXPECT_LABELS("/system.slice/docker-" ID_A ".service", "", "");
	EXPECT_LABELS("/system.slice/docker-" ID_A "0.scope", "", "");
	EXPECT_LABELS("/system.slice/docker-.scope", "", "");
	EXPECT_LABELS("/system.slice/docker.scope", "", "");
	EXPECT_LABELS("/docker/4f1a2b3c4d5", "",
		      ""); /* 11 digits: shorter than docker's short id */
	EXPECT_LABELS("/docker/" ID_A "0", "", "");
	/* Container ids are lower-case hex; upper case is not a runtime's id. */
	EXPECT_LABELS(
		"/system.slice/"
		"docker-0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef.scope",
		"", "");
	EXPECT_LABELS("/docker/0123456789ABCDEF", "", "");

	snprintf(path, sizeof(path), "/system.slice/docker-%s.scope", id63);
	EXPECT_LABELS(path, "", "");
	snprintf(path, sizeof(path), "/system.slice/docker-%sg.scope", id63);
	EXPECT_LABELS(path, "", "");

	/* Pod UIDs of the wrong shape, separator or case. */
	EXPECT_LABELS(
		"/kubepods.slice/kubepods-burstable-pod1b2c3d4e_5f60_7182_93a4_b5c6d7e8f90.slice",
		"", "");
	EXPECT_LABELS("/kubepods.slice/kubepods-burstable-pod" UID_D ".slice", "", "");
	EXPECT_LABELS(
		"/kubepods.slice/kubepods-burstable-pod1B2C3D4E_5f60_7182_93a4_b5c6d7e8f901.slice",
		"", "");
	EXPECT_LABELS(
		"/kubepods.slice/kubepods-burstable-pod1b2c3d4e5_f60_7182_93a4_b5c6d7e8f901.slice",
		"", "");
	EXPECT_LABELS("/kubepods.slice/kubepods-guaranteed-pod" UID_U ".slice", "", "");
	EXPECT_LABELS("/kubepods/burstable/pod" UID_U "/" ID_A, "", "");
	EXPECT_LABELS("/kubepods/burstable/pod" UID_D "x/" ID_A, "", "");
	EXPECT_LABELS("/kubepods/unknown/pod" UID_D "/" ID_A, "", "");
	EXPECT_LABELS("/kubepods/burstable/x/pod" UID_D "/" ID_A, "", "");
	EXPECT_LABELS("/pod" UID_D "/" ID_A, "", "");
	/* The cgroupfs id must follow pod<uid> directly. */
	EXPECT_LABELS("/kubepods/pod" UID_D "/x/" ID_A, "", UID_D);
}

static void test_labels_long(void)
{
	size_t n = 5000;
	char *path = malloc(n + 100);

	if (!path) {
		CHECK(0, "malloc");
		return;
	}
	/* Many short components. */
	for (size_t i = 0; i < n; i += 2)
		memcpy(path + i, "/a", 2);
	path[n] = '\0';
	EXPECT_LABELS(path, "", "");

	/* One long hex component, as a cgroupfs id and as a scope. */
	strcpy(path, "/docker/");
	memset(path + 8, 'a', n);
	path[8 + n] = '\0';
	EXPECT_LABELS(path, "", "");
	strcpy(path, "/docker-");
	memset(path + 8, 'a', n);
	strcpy(path + 8 + n, ".scope");
	EXPECT_LABELS(path, "", "");

	/* A real match at the end of a long path still counts: nothing is copied but the id. */
	memset(path, 'x', n);
	path[0] = '/';
	strcpy(path + n - 100, "/docker-" ID_A ".scope");
	EXPECT_LABELS(path, ID_A, "");
	free(path);
}

int main(void)
{
	test_mounts_hybrid();
	test_mounts_pure_v2();
	test_mounts_v1_joined();
	test_mounts_v1_separate();
	test_mounts_escaped();
	test_mounts_container();
	test_mounts_garbage();
	test_mounts_too_long();
	test_mounts_errors();
	test_mounts_real();
	test_labels_docker_podman();
	test_labels_kubernetes();
	test_labels_nested();
	test_labels_non_matches();
	test_labels_long();
	return test_summary("cgroup/test_cgroup");
}
