/* test_oom.c — bpf/cgroup_saturation/cgroup_saturation.bpf.c's two OOM hooks, each attached alone:
 * mark_victim (kernels whose tracepoint passes the task) and the exit fallback (kernels whose
 * tracepoint passes only a pid), against a real OOM kill in a memory-limited test cgroup. The
 * victim is a forked child; the count must land on the victim's cgroup2 id, once. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bpf/cgroup_saturation/cgroup_saturation.h"
#include "cgroup/cgroup.h"
#include "skel/cgroup_saturation.skel.h"
#include "test.h"

static struct cgroup_mounts mounts;

static int write_text(const char *dir, const char *file, const char *text)
{
	char path[CGROUP_PATH_MAX * 2];
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = write(fd, text, strlen(text));
	int rc = n == (ssize_t)strlen(text) ? 0 : -errno;
	close(fd);
	return rc;
}

/* A child that enters the cgroups, then allocates until the OOM killer kills it. */
static int run_victim(const char *v2dir, const char *memdir)
{
	pid_t pid = fork();
	if (pid == 0) {
		char self[32];
		snprintf(self, sizeof(self), "%d", getpid());
		if (write_text(v2dir, "cgroup.procs", self) ||
		    (memdir && write_text(memdir, "cgroup.procs", self)))
			_exit(2);
		for (;;) {
			char *p = malloc(1 << 20);
			if (!p)
				_exit(3);
			memset(p, 1, 1 << 20);
		}
	}
	int status = 0;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	return WIFSIGNALED(status) ? WTERMSIG(status) : -WEXITSTATUS(status);
}

static void one_hook(bool at_exit)
{
	const char *name = at_exit ? "sched_process_exit fallback" : "mark_victim";
	char v2dir[CGROUP_PATH_MAX + 64], memdir[CGROUP_PATH_MAX + 64];
	bool v1 = mounts.memory[0] != '\0';
	struct stat st;

	snprintf(v2dir, sizeof(v2dir), "%s/hostmon-bpf-oom-%d", mounts.unified, getpid());
	snprintf(memdir, sizeof(memdir), "%s/hostmon-bpf-oom-%d", mounts.memory, getpid());
	struct cgroup_saturation_bpf *skel = cgroup_saturation_bpf__open();
	CHECK(skel, "%s: open", name);
	if (!skel)
		return;
	bpf_program__set_autoload(skel->progs.sat_oom_victim, !at_exit);
	bpf_program__set_autoload(skel->progs.sat_oom_victim_exit, at_exit);
	int rc = cgroup_saturation_bpf__load(skel);
	CHECK(rc == 0, "%s: load: %d", name, rc);
	struct bpf_link *link = NULL;
	if (rc == 0)
		link = bpf_program__attach(at_exit ? skel->progs.sat_oom_victim_exit
						   : skel->progs.sat_oom_victim);
	CHECK(link, "%s: attach: %s", name, strerror(errno));
	/* cgroup2 alone: the child has memory.max only where the root hands it the controller */
	if (!v1)
		write_text(mounts.unified, "cgroup.subtree_control", "+memory");
	if (mkdir(v2dir, 0755) || (v1 && mkdir(memdir, 0755))) {
		CHECK(false, "%s: mkdir: %s", name, strerror(errno));
		goto out;
	}
	const char *limit_dir = v1 ? memdir : v2dir;
	rc = write_text(limit_dir, v1 ? "memory.limit_in_bytes" : "memory.max", "16777216");
	CHECK(rc == 0, "%s: memory limit: %d", name, rc);
	if (link && rc == 0) {
		int sig = run_victim(v2dir, v1 ? memdir : NULL);
		CHECK(sig == SIGKILL, "%s: the victim was killed by SIGKILL (%d)", name, sig);
		stat(v2dir, &st);
		__u64 id = st.st_ino, kills = 0;
		rc = bpf_map_lookup_elem(bpf_map__fd(skel->maps.oom_kills), &id, &kills);
		CHECK(rc == 0 && kills == 1,
		      "%s: one kill counted at the victim's cgroup (%d, %llu)", name, rc,
		      (unsigned long long)kills);
		/* a process that exits normally in the same cgroup is no OOM kill */
		pid_t pid = fork();
		if (pid == 0) {
			char self[32];
			snprintf(self, sizeof(self), "%d", getpid());
			write_text(v2dir, "cgroup.procs", self);
			_exit(0);
		}
		waitpid(pid, NULL, 0);
		kills = 0;
		bpf_map_lookup_elem(bpf_map__fd(skel->maps.oom_kills), &id, &kills);
		CHECK(kills == 1, "%s: a normal exit is not counted (%llu)", name,
		      (unsigned long long)kills);
	}
out:
	bpf_link__destroy(link);
	cgroup_saturation_bpf__destroy(skel);
	for (int i = 0; i < 100 && (rmdir(v2dir) && errno == EBUSY); i++)
		usleep(20000);
	for (int i = 0; v1 && i < 100 && (rmdir(memdir) && errno == EBUSY); i++)
		usleep(20000);
}

int main(void)
{
	if (cgroup_find_mounts("/proc/self/mountinfo", &mounts) || !mounts.unified[0]) {
		CHECK(false, "no cgroup2 mount");
		return test_summary("bpf/cgroup_saturation/test_oom");
	}
	one_hook(false);
	one_hook(true);
	return test_summary("bpf/cgroup_saturation/test_oom");
}
