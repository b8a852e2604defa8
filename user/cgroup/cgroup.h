/* cgroup/cgroup.h — cgroup hierarchy discovery: mounts, id -> path walks, and labels read from
 * paths. */
#ifndef HOSTMON_CGROUP_CGROUP_H
#define HOSTMON_CGROUP_CGROUP_H

#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   cgroup_find_mounts() reads a mountinfo file (normally
 *   /proc/self/mountinfo) and fills the mount points of the cgroup2
 *   hierarchy and of the v1 hierarchies carrying the cpu, cpuacct, memory
 *   and blkio controllers; absent ones are left as empty strings. 0 or -errno.
 *
 *   cgroup_labels_from_path() derives container_id and pod_uid from a
 *   cgroup path (relative to its hierarchy root, starting with '/'):
 *     container_id: docker-<id>.scope, /docker/<id>, cri-containerd-<id>.scope,
 *       crio-<id>.scope, libpod-<id>.scope, and the cgroupfs kubepods form
 *       /kubepods[/<qos>]/pod<uid>/<id>; <id> is 64 hex digits (a shorter hex
 *       id of at least 12 digits is accepted for the cgroupfs forms).
 *     pod_uid: kubepods-<qos>-pod<uid with _>.slice (reported with -) or
 *       /kubepods[/<qos>]/pod<uid>/.
 *   The innermost match wins. Outputs are "" when the path shows none.
 *   Pure function, no I/O.
 */

#define CGROUP_PATH_MAX		4096
#define CGROUP_CONTAINER_ID_MAX 65 /* 64 hex digits + NUL */
#define CGROUP_POD_UID_MAX	37 /* 36-char UUID + NUL */

struct cgroup_mounts {
	char unified[CGROUP_PATH_MAX]; /* cgroup2 */
	char cpu[CGROUP_PATH_MAX];     /* v1 hierarchy with the cpu controller */
	char cpuacct[CGROUP_PATH_MAX]; /* v1 hierarchy with cpuacct (often the same) */
	char memory[CGROUP_PATH_MAX];  /* v1 hierarchy with the memory controller */
	char blkio[CGROUP_PATH_MAX];   /* v1 hierarchy with the blkio (io) controller */
};

int cgroup_find_mounts(const char *mountinfo_path, struct cgroup_mounts *out);

/*
 * The cgroup2 path of process pid (the "0::" line of /proc/PID/cgroup). 0,
 * -ESRCH when the process is gone, -ENOENT without cgroup2, -ENAMETOOLONG.
 */
int cgroup_pid_path(int pid, char *path, size_t len);

void cgroup_labels_from_path(const char *path, char container_id[CGROUP_CONTAINER_ID_MAX],
			     char pod_uid[CGROUP_POD_UID_MAX]);

#endif
