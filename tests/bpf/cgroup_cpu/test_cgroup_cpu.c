/* test_cgroup_cpu.c — drives bpf/cgroup_cpu/cgroup_cpu.bpf.c's charging logic with
 * BPF_PROG_TEST_RUN in real cgroups.
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

static int run_prog(int prog_fd)
{
	__u64 args[4] = { 0 }; /* sched_switch's raw arguments; the program does not read them */
	LIBBPF_OPTS(bpf_test_run_opts, opts, .ctx_in = args, .ctx_size_in = sizeof(args));
	int err = bpf_prog_test_run_opts(prog_fd, &opts);
	return err ? err : (int)opts.retval;
}

static bool stats_for(int map_fd, uint64_t id, int ncpus, struct cpu_cgroup_stats *sum)
{
	struct cpu_cgroup_stats vals[ncpus];
	if (bpf_map_lookup_elem(map_fd, &id, vals))
		return false;
	memset(sum, 0, sizeof(*sum));
	for (int i = 0; i < ncpus; i++) {
		sum->cpu_ns += vals[i].cpu_ns;
		sum->runq_wait_ns += vals[i].runq_wait_ns;
	}
	return true;
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

static struct cgroup_cpu_bpf *load(bool by_v1, __u32 max_cgroups)
{
	struct cgroup_cpu_bpf *skel = cgroup_cpu_bpf__open();
	if (!skel)
		return NULL;
	/* tp_btf and perf_event cannot be test-run: only the raw_tp twin is loaded */
	bpf_program__set_autoload(skel->progs.cpu_switch_btf, false);
	bpf_program__set_autoload(skel->progs.cpu_tick, false);
	bpf_program__set_autoload(skel->progs.cpu_cgroup_attach, false);
	skel->rodata->key_by_v1_cpuacct = by_v1;
	skel->rodata->attach_time_ns = mono_ns(CLOCK_MONOTONIC);
	bpf_map__set_max_entries(skel->maps.cgroup_cpu, max_cgroups);
	if (cgroup_cpu_bpf__load(skel)) {
		cgroup_cpu_bpf__destroy(skel);
		return NULL;
	}
	return skel;
}

/* A task older than the program: its first sighting only records a baseline, then deltas. */
static void test_charges_own_runtime(const char *dir_a, int ncpus)
{
	struct cgroup_cpu_bpf *skel = load(false, 64);
	CHECK(skel != NULL, "load raw_tp twin");
	if (!skel)
		return;
	int prog = bpf_program__fd(skel->progs.cpu_switch_raw);
	int map = bpf_map__fd(skel->maps.cgroup_cpu);
	uint64_t id = enter_cgroup(dir_a);
	struct cpu_cgroup_stats s;

	CHECK(id != 0, "enter test cgroup");
	uint64_t start = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	CHECK(run_prog(prog) == 0, "first run");
	CHECK(!stats_for(map, id, ncpus, &s) || s.cpu_ns == 0,
	      "first sighting charges nothing: %llu", (unsigned long long)s.cpu_ns);

	uint64_t before = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	burn_ms(300);
	uint64_t burned = mono_ns(CLOCK_THREAD_CPUTIME_ID) - before;
	CHECK(run_prog(prog) == 0, "second run");
	uint64_t second = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	CHECK(stats_for(map, id, ncpus, &s), "entry for the cgroup id %llu",
	      (unsigned long long)id);
	/*
	 * The charge is the thread's time between the first two runs: at least the burn, at most
	 * all it used from before the first run to after the second (the syscalls around the burn
	 * take milliseconds under emulation), either side off by the scheduler's lag behind the
	 * thread clock, about a tick.
	 */
	double lag = 10e6;
	CHECK((double)s.cpu_ns > (double)burned - lag &&
		      (double)s.cpu_ns < (double)(second - start) + lag,
	      "charged %.3f ms for %.3f ms burned (%.3f ms used in all)", s.cpu_ns / 1e6,
	      burned / 1e6, (second - start) / 1e6);
	uint64_t first = s.cpu_ns;
	CHECK(run_prog(prog) == 0, "third run");
	uint64_t third = mono_ns(CLOCK_THREAD_CPUTIME_ID);
	/* only the time since the second run, not the burn again */
	CHECK(stats_for(map, id, ncpus, &s) &&
		      (double)(s.cpu_ns - first) < (double)(third - before - burned) + lag,
	      "no double charge: %llu then %llu (%.3f ms used between the runs)",
	      (unsigned long long)first, (unsigned long long)s.cpu_ns,
	      (third - before - burned) / 1e6);

	/* a task born after attach is charged from birth */
	uint64_t before_child = s.cpu_ns;
	pid_t pid = fork();
	if (pid == 0) {
		burn_ms(150);
		_exit(run_prog(prog) == 0 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child ran the program");
	CHECK(stats_for(map, id, ncpus, &s), "entry after child");
	double diff = (double)(s.cpu_ns - before_child) - 150e6;
	CHECK(diff > -5e6 && diff < 20e6, "child charged from birth: %.3f ms for 150 ms",
	      (s.cpu_ns - before_child) / 1e6);
	CHECK(counter(skel, CPU_COUNTER_MAP_FULL, ncpus) == 0, "no map-full drops");
	cgroup_cpu_bpf__destroy(skel);
}

/* A full map drops the charge and counts it instead of failing silently. */
static void test_map_full(const char *dir_a, const char *dir_b, int ncpus)
{
	struct cgroup_cpu_bpf *skel = load(false, 1);
	CHECK(skel != NULL, "load with a one-entry map");
	if (!skel)
		return;
	int prog = bpf_program__fd(skel->progs.cpu_switch_raw);
	int map = bpf_map__fd(skel->maps.cgroup_cpu);
	struct cpu_cgroup_stats s;

	uint64_t a = enter_cgroup(dir_a);
	run_prog(prog);
	burn_ms(30);
	run_prog(prog);
	CHECK(stats_for(map, a, ncpus, &s) && s.cpu_ns > 0, "first cgroup fits");
	uint64_t b = enter_cgroup(dir_b);
	burn_ms(30);
	run_prog(prog);
	CHECK(!stats_for(map, b, ncpus, &s), "second cgroup does not fit");
	CHECK(counter(skel, CPU_COUNTER_MAP_FULL, ncpus) >= 1, "drop counted: %llu",
	      (unsigned long long)counter(skel, CPU_COUNTER_MAP_FULL, ncpus));
	cgroup_cpu_bpf__destroy(skel);
}

/* cgroup v1 keying, reached through CO-RE: the key is our cpuacct cgroup's directory inode. */
static void test_v1_key(int ncpus)
{
	char rel[CGROUP_PATH_MAX], dir[2 * CGROUP_PATH_MAX];
	struct stat st;

	if (!*mounts.cpuacct || own_cgroup("cpuacct", rel, sizeof(rel))) {
		printf("# no cgroup v1 cpuacct hierarchy here: v1 keying not tested\n");
		return;
	}
	snprintf(dir, sizeof(dir), "%s%s", mounts.cpuacct, rel);
	CHECK(stat(dir, &st) == 0, "stat %s", dir);
	struct cgroup_cpu_bpf *skel = load(true, 64);
	CHECK(skel != NULL, "load keyed by v1");
	if (!skel)
		return;
	int prog = bpf_program__fd(skel->progs.cpu_switch_raw);
	struct cpu_cgroup_stats s;
	run_prog(prog);
	burn_ms(30);
	run_prog(prog);
	CHECK(stats_for(bpf_map__fd(skel->maps.cgroup_cpu), st.st_ino, ncpus, &s) && s.cpu_ns > 0,
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

	test_charges_own_runtime(dir_a, ncpus);
	test_map_full(dir_a, dir_b, ncpus);
	test_v1_key(ncpus);

	/* leave the test cgroups and remove them */
	snprintf(back, sizeof(back), "%s%s", mounts.unified,
		 strcmp(original_cgroup, "/") ? original_cgroup : "");
	CHECK(enter_cgroup(back) != 0, "return to %s", back);
	CHECK(rmdir(dir_a) == 0 && rmdir(dir_b) == 0 && rmdir(dir_top) == 0,
	      "remove test cgroups: %s", strerror(errno));
	return test_summary("cgroup_cpu/test_cgroup_cpu");
}
