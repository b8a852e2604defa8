/* lib/proc.c — what /proc says about a process: its stat fields, and its identity (pid, start,
 * exe). */
#include "lib/proc.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/fileutil.h"

/* Fields of /proc/PID/stat after the ")" that closes the command name, which is field 2. */
int proc_stat_fields(const char *stat, const int *fields, size_t n, uint64_t *out)
{
	uint64_t got[PROC_STAT_MAX_FIELDS];
	const char *p = strrchr(stat, ')');
	int at = 3; /* the field p points before */

	if (!p || n > PROC_STAT_MAX_FIELDS)
		return -EINVAL;
	p++;
	for (size_t k = 0; k < n; k++) {
		if (fields[k] < at)
			return -EINVAL;
		for (;;) {
			while (*p == ' ')
				p++;
			if (!*p)
				return -EINVAL;
			if (at == fields[k])
				break;
			while (*p && *p != ' ')
				p++;
			at++;
		}
		char *end;
		errno = 0;
		unsigned long long v = strtoull(p, &end, 10);
		if (errno || end == p)
			return -EINVAL;
		got[k] = v;
	}
	memcpy(out, got, n * sizeof(*out));
	return 0;
}

int proc_stat_field(const char *stat, int field, uint64_t *out)
{
	return proc_stat_fields(stat, &field, 1, out);
}

int proc_stat_read(pid_t pid, char *buf, size_t len)
{
	char path[64];

	if (pid == 0)
		return file_read_text("/proc/self/stat", buf, len);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	return file_read_text(path, buf, len);
}

int proc_id_read(pid_t pid, struct proc_id *out)
{
	char buf[1024], path[64], exe[4096];
	struct proc_id id = { .pid = pid };
	int rc = proc_stat_read(pid, buf, sizeof(buf));

	if (rc)
		return rc == -ENOENT ? -ESRCH : rc;
	rc = proc_stat_field(buf, 22, &id.start_ticks);
	if (rc)
		return rc;
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *deleted = strstr(exe, " (deleted)");
		if (deleted && deleted[10] == '\0')
			*deleted = '\0'; /* replaced by a package upgrade: still the same program */
		const char *base = strrchr(exe, '/');
		base = base ? base + 1 : exe;
		size_t blen = strnlen(base, sizeof(id.exe) - 1);
		memcpy(id.exe, base, blen);
		id.exe[blen] = '\0';
	}
	*out = id;
	return 0;
}

/* Whether pid's program is hidden from us rather than gone. */
static bool exe_denied(pid_t pid)
{
	char path[64], buf[8];

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	return readlink(path, buf, sizeof(buf)) < 0 && errno == EACCES;
}

int proc_scan(void (*found)(void *arg, const struct proc_id *id), void *arg, unsigned *denied)
{
	DIR *d = opendir("/proc");
	struct dirent *e;

	*denied = 0;
	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(e->d_name, &end, 10);
		struct proc_id id;

		if (*end || pid == 0 || pid > INT32_MAX || proc_id_read((pid_t)pid, &id))
			continue;
		if (!id.exe[0]) {
			*denied += exe_denied((pid_t)pid);
			continue;
		}
		found(arg, &id);
	}
	closedir(d);
	return 0;
}

size_t proc_pid_max(void)
{
	char buf[32];
	unsigned long v;
	if (file_read_text("/proc/sys/kernel/pid_max", buf, sizeof(buf)) ||
	    sscanf(buf, "%lu", &v) != 1 || v == 0 || v > (1ul << 22))
		return 1ul << 22;
	return v;
}
