/* test_cgroup_cpu.c — drives bpf/cgroup_cpu/cgroup_cpu.bpf.c's programs as the collector runs
 * them (the task walk, a cgroup move, a task's release) in real cgroups.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bpf/cgroup_cpu/cgroup_cpu.h"
#include "cgroup/cgroup.h"
#include "lib/bpf_util.h"
#include "skel/cgroup_cpu.skel.h"
#include "test.h"

static struct cgroup_mounts mounts;
static char original_cgroup[CGROUP_PATH_MAX];

static uint64_t mono_ns(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void burn_ms(unsigned ms)
{
	uint64_t end = mono_ns(CLOCK_THREAD_CPUTIME_ID) + ms * 1000000ull;
	while (mono_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int rc = n == (ssize_t)strlen(text) ? 0 : -errno;
	close(fd);
	return rc;
}

/* Moves this process into dir (a cgroup directory); returns the cgroup's id (inode). */
static uint64_t enter_cgroup(const char *dir)
{
	char path[CGROUP_PATH_MAX + 32], pid[32];
	struct stat st;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (write_file(path, pid) || stat(dir, &st))
		return 0;
	return st.st_ino;
}

/* This process's cgroup path in the hierarchy whose /proc/self/cgroup line starts with prefix. */
static int own_cgroup(const char *prefix, char *out, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[CGROUP_PATH_MAX + 64];
	int rc = -ENOENT;
	while (f && fgets(line, sizeof(line), f)) {
		char *p = strchr(line, ':');
		if (!p || strncmp(p + 1, prefix, strlen(prefix)) != 0)
			continue;
		p = strchr(p + 1, ':');
		if (!p)
			continue;
		p[strcspn(p, "\n")] = '\0';
		snprintf(out, len, "%s", p + 1);
		rc = 0;
		break;
	}
	if (f)
		fclose(f);
	return rc;
}

/* The collector's task walk: cpu_charge_tasks on every task of the host, as the collector runs it.
 */
static int walk(struct cgroup_cpu_bpf *skel)
{
	return bpf_util_iter_run(skel->links.cpu_charge_tasks);
}

static bool stats_for(int map_fd, uint64_t id, struct cpu_cgroup_stats *s)
{
	memset(s, 0, sizeof(*s));
	return bpf_map_lookup_elem(map_fd, &id, s) == 0;
}

static uint64_t cpu_of(struct cgroup_cpu_bpf *skel, uint64_t id)
{
	struct cpu_cgroup_stats s;
	return stats_for(bpf_map__fd(skel->maps.cgroup_cpu), id, &s) ? s.cpu_ns : 0;
}

static uint64_t counter(struct cgroup_cpu_bpf *skel, __u32 which, int ncpus)
{
	__u64 vals[ncpus];
	uint64_t sum = 0;
	if (bpf_map_lookup_elem(bpf_map__fd(skel->maps.cpu_counters), &which, vals))
		return 0;
	for (int i = 0; i < ncpus; i++)
		sum += vals[i];
	return sum;
}

/* Loads and attaches the programs as the collector does, and runs the first walk. */
static struct cgroup_cpu_bpf *load(bool by_v1, __u32 max_cgroups)
{
	struct cgroup_cpu_bpf *skel = cgroup_cpu_bpf__open();
	if (!skel)
		return NULL;
	skel->rodata->key_by_v1_cpuacct = by_v1;
	skel->rodata->attach_time_ns = mono_ns(CLOCK_MONOTONIC);
	bpf_map__set_max_entries(skel->maps.cgroup_cpu, max_cgroups);
	if (cgroup_cpu_bpf__load(skel) || cgroup_cpu_bpf__attach(skel) || walk(skel)) {
		cgroup_cpu_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* Waits (up to 3 s) for id's CPU time to reach at least want ns; returns what it reached. */
static uint64_t wait_cpu(struct cgroup_cpu_bpf *skel, uint64_t id, uint64_t want)
{
	uint64_t v = 0;
	for (int i = 0; i < 300 && (v = cpu_of(skel, id)) < want; i++)
		usleep(10000);
	return v;
}

/* A task older than the programs: its first sighting only records a baseline, then deltas. */
static void test_walk_charges_own_runtime(const char *dir_a)
{
	uint64_t id = enter_cgroup(dir_a);
	CHECK(id != 0, "enter test cgroup");
	struct cgroup_cpu_bpf *skel = load(false, 4096);
	CHECK(skel != NULL, "load and attach");
	if (!skel)
		return;
	uint64_t loaded = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	CHECK(walk(skel) == 0, "second walk");
	CHECK(cpu_of(skel, id) < 5000000, "first sighting charges only time since attach: %llu ns",
	      (unsigned long long)cpu_of(skel, id));

	uint64_t start = cpu_of(skel, id), before = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	burn_ms(300);
	uint64_t burned = mono_ns(CLOCK_THREAD_CPUTIME_ID) - before;
	CHECK(walk(skel) == 0, "walk after burning");
	uint64_t after = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	/*
	 * The charge is the thread's time between the two walks: at least the burn, at most all it
	 * used from before the first walk to after the second (syscalls take milliseconds under
	 * emulation), either side off by the scheduler's lag behind the thread clock, about a tick.
	 */
	double got = (double)(cpu_of(skel, id) - start), lag = 10e6;
	CHECK(got > (double)burned - lag && got < (double)(after - loaded) + lag,
	      "charged %.3f ms for %.3f ms burned (%.3f ms used in all)", got / 1e6, burned / 1e6,
	      (after - loaded) / 1e6);
	uint64_t first = cpu_of(skel, id);
	CHECK(walk(skel) == 0 && cpu_of(skel, id) - first < 5000000,
	      "no double charge: %llu then %llu", (unsigned long long)first,
	      (unsigned long long)cpu_of(skel, id));
	CHECK(counter(skel, CPU_COUNTER_MAP_FULL, libbpf_num_possible_cpus()) == 0,
	      "no map-full drops");
	cgroup_cpu_bpf__destroy(skel);
}

/* A task born after attach and gone before any walk saw it: its release charges its whole life. */
static void test_release_charges_from_birth(const char *dir_a)
{
	uint64_t id = enter_cgroup(dir_a);
	struct cgroup_cpu_bpf *skel = load(false, 4096);
	CHECK(skel != NULL, "load and attach");
	if (!skel)
		return;
	uint64_t before = cpu_of(skel, id), used = 0;
	int fds[2];
	CHECK(pipe(fds) == 0, "pipe");
	pid_t pid = fork();
	if (pid == 0) {
		burn_ms(150);
		uint64_t mine = mono_ns(CLOCK_THREAD_CPUTIME_ID); /* all its life but the exit */
		_exit(write(fds[1], &mine, sizeof(mine)) == sizeof(mine) ? 0 : 1);
	}
	close(fds[1]);
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(read(fds[0], &used, sizeof(used)) == sizeof(used), "child's own CPU time");
	close(fds[0]);
	/* no walk: the child's memory is released an RCU grace period after it is reaped */
	double got = (double)(wait_cpu(skel, id, before + 140000000) - before), lag = 10e6;
	CHECK(got > 140e6 && got < (double)used + lag,
	      "child charged from birth at release: %.3f ms for 150 ms burned (%.3f ms used)",
	      got / 1e6, used / 1e6);
	cgroup_cpu_bpf__destroy(skel);
}

/* A move charges what the task used so far to the cgroup it leaves, without a walk. */
static void test_move_charges_the_cgroup_left(const char *dir_a, const char *dir_b)
{
	uint64_t a = enter_cgroup(dir_a);
	struct cgroup_cpu_bpf *skel = load(false, 4096);
	CHECK(skel != NULL, "load and attach");
	if (!skel)
		return;
	uint64_t a0 = cpu_of(skel, a), t0 = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	burn_ms(100);
	uint64_t b = enter_cgroup(dir_b);
	uint64_t t1 = mono_ns(CLOCK_THREAD_CPUTIME_ID), b0 = cpu_of(skel, b);
	double got_a = (double)(cpu_of(skel, a) - a0), lag = 10e6;
	CHECK(got_a > 90e6 && got_a < (double)(t1 - t0) + lag,
	      "the move charged %.3f ms of 100 ms burned (%.3f ms used) to the cgroup left",
	      got_a / 1e6, (t1 - t0) / 1e6);
	burn_ms(50);
	CHECK(walk(skel) == 0, "walk");
	uint64_t t2 = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	double got_b = (double)(cpu_of(skel, b) - b0);
	CHECK(got_b > 45e6 && got_b < (double)(t2 - t1) + lag,
	      "the new cgroup got what came after: %.3f ms of 50 ms burned (%.3f ms used)",
	      got_b / 1e6, (t2 - t1) / 1e6);
	CHECK((double)(cpu_of(skel, a) - a0) < (double)(t1 - t0) + lag,
	      "nothing more to the cgroup left");
	cgroup_cpu_bpf__destroy(skel);
}

/* A full map drops the charge and counts it instead of failing silently. */
static void test_map_full(const char *dir_a, const char *dir_b, int ncpus)
{
	uint64_t a = enter_cgroup(dir_a);
	struct cgroup_cpu_bpf *skel = load(false, 1);
	CHECK(skel != NULL, "load with a one-entry map");
	if (!skel)
		return;
	int map = bpf_map__fd(skel->maps.cgroup_cpu);
	uint64_t key, next, *prev = NULL;
	int entries = 0;
	burn_ms(30);
	uint64_t b = enter_cgroup(dir_b); /* a's entry now exists or the map is full */
	burn_ms(30);
	CHECK(walk(skel) == 0, "walk");
	while (bpf_map_get_next_key(map, prev, &next) == 0) {
		key = next;
		prev = &key;
		entries++;
	}
	CHECK(entries == 1, "the map holds its one entry: %d", entries);
	CHECK(cpu_of(skel, a) == 0 || cpu_of(skel, b) == 0, "two cgroups do not fit");
	CHECK(counter(skel, CPU_COUNTER_MAP_FULL, ncpus) >= 1, "drop counted: %llu",
	      (unsigned long long)counter(skel, CPU_COUNTER_MAP_FULL, ncpus));
	cgroup_cpu_bpf__destroy(skel);
}

/*
 * A cgroup the collector has removed (final values taken, entry deleted) gets no entry back when
 * its last task is released afterwards: nobody would ever delete it.
 */
static void test_removed_cgroup_not_recreated(const char *dir_top, const char *dir_a)
{
	char dir_c[CGROUP_PATH_MAX + 80];
	struct stat st;
	snprintf(dir_c, sizeof(dir_c), "%s/c", dir_top);
	CHECK(mkdir(dir_c, 0755) == 0 && stat(dir_c, &st) == 0, "create %s", dir_c);
	enter_cgroup(dir_a);
	struct cgroup_cpu_bpf *skel = load(false, 4096);
	CHECK(skel != NULL, "load and attach");
	if (!skel)
		return;
	pid_t pid = fork();
	if (pid == 0) {
		if (!enter_cgroup(dir_c))
			_exit(1);
		burn_ms(50);
		_exit(0);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ran in %s", dir_c);
	/* as the collector does on removal: take the values, delete the entry */
	CHECK(rmdir(dir_c) == 0, "remove %s", dir_c);
	uint64_t id = st.st_ino;
	bpf_map_delete_elem(bpf_map__fd(skel->maps.cgroup_cpu), &id);
	usleep(500000); /* several RCU grace periods: the child's release has run */
	CHECK(cpu_of(skel, id) == 0, "no entry for the removed cgroup after the release: %llu ns",
	      (unsigned long long)cpu_of(skel, id));
	cgroup_cpu_bpf__destroy(skel);
}

/* cgroup v1 keying, reached through CO-RE: the key is our cpuacct cgroup's directory inode. */
static void test_v1_key(void)
{
	char rel[CGROUP_PATH_MAX], dir[2 * CGROUP_PATH_MAX];
	struct stat st;

	if (!*mounts.cpuacct || own_cgroup("cpuacct", rel, sizeof(rel))) {
		printf("# no cgroup v1 cpuacct hierarchy here: v1 keying not tested\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s%s", mounts.cpuacct, rel);
	CHECK(stat(dir, &st) == 0, "stat %s", dir);
	struct cgroup_cpu_bpf *skel = load(true, 4096);
	CHECK(skel != NULL, "load keyed by v1");
	if (!skel)
		return;
	uint64_t before = cpu_of(skel, st.st_ino);
	burn_ms(30);
	CHECK(walk(skel) == 0 && cpu_of(skel, st.st_ino) > before,
	      "charged under the cpuacct cgroup id %llu", (unsigned long long)st.st_ino);
	cgroup_cpu_bpf__destroy(skel);
}

int main(void)
{
	char dir_top[CGROUP_PATH_MAX + 64], dir_a[CGROUP_PATH_MAX + 72],
		dir_b[CGROUP_PATH_MAX + 72];
	char back[2 * CGROUP_PATH_MAX];
	int ncpus = libbpf_num_possible_cpus();

	CHECK(cgroup_find_mounts("/proc/self/mountinfo", &mounts) == 0 && *mounts.unified,
	      "cgroup2 mount");
	CHECK(own_cgroup(":", original_cgroup, sizeof(original_cgroup)) == 0 ||
		      own_cgroup("", original_cgroup, sizeof(original_cgroup)) == 0,
	      "own cgroup2 path");
	if (!*mounts.unified)
		return test_summary("cgroup_cpu/test_cgroup_cpu");
	snprintf(dir_top, sizeof(dir_top), "%s/hostmon-bpftest-%d", mounts.unified, getpid());
	snprintf(dir_a, sizeof(dir_a), "%s/a", dir_top);
	snprintf(dir_b, sizeof(dir_b), "%s/b", dir_top);
	CHECK(mkdir(dir_top, 0755) == 0 && mkdir(dir_a, 0755) == 0 && mkdir(dir_b, 0755) == 0,
	      "create test cgroups: %s", strerror(errno));

	test_walk_charges_own_runtime(dir_a);
	test_release_charges_from_birth(dir_a);
	test_move_charges_the_cgroup_left(dir_a, dir_b);
	test_map_full(dir_a, dir_b, ncpus);
	test_removed_cgroup_not_recreated(dir_top, dir_a);
	test_v1_key();

	/* leave the test cgroups and remove them */
	snprintf(back, sizeof(back), "%s%s", mounts.unified,
		 strcmp(original_cgroup, "/") ? original_cgroup : "");
	CHECK(enter_cgroup(back) != 0, "return to %s", back);
	CHECK(rmdir(dir_a) == 0 && rmdir(dir_b) == 0 && rmdir(dir_top) == 0,
	      "remove test cgroups: %s", strerror(errno));
	return test_summary("cgroup_cpu/test_cgroup_cpu");
}
