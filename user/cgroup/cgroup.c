/* cgroup/cgroup.c — cgroup mounts from mountinfo, and container/pod labels read from cgroup paths.
 */
#include "cgroup/cgroup.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/fileutil.h"

/* Fields before the optional ones in a mountinfo line, see proc(5). */
#define MOUNTINFO_FIXED_FIELDS 6
#define MOUNTINFO_ROOT	       3
#define MOUNTINFO_MOUNTPOINT   4

#define CONTAINER_ID_LEN   (CGROUP_CONTAINER_ID_MAX - 1)
#define CONTAINER_ID_SHORT 12 /* docker's short id, seen in cgroupfs paths */
#define POD_UID_LEN	   (CGROUP_POD_UID_MAX - 1)

struct mountinfo_line {
	const char *root;
	const char *mountpoint; /* still escaped */
	const char *fstype;
	const char *super_options;
};

enum mount_slot { SLOT_UNIFIED, SLOT_CPU, SLOT_CPUACCT, SLOT_MEMORY, SLOT_BLKIO, SLOT_COUNT };

/* Which mount each output slot holds so far; see mount_pick_better(). */
struct mount_pick {
	bool found;
	bool root_is_top;
};

/*
 * Split one line in place. Fields are separated by single spaces (the kernel
 * never writes two, but an empty source would make an empty field, so strsep
 * rather than strtok). The optional fields end at the first lone "-".
 */
static int mountinfo_split(char *line, struct mountinfo_line *ml)
{
	char *fields[MOUNTINFO_FIXED_FIELDS];
	char *cur = line, *tok;

	for (int i = 0; i < MOUNTINFO_FIXED_FIELDS; i++) {
		fields[i] = strsep(&cur, " ");
		if (!fields[i])
			return -EINVAL;
	}
	do {
		tok = strsep(&cur, " ");
		if (!tok)
			return -EINVAL;
	} while (strcmp(tok, "-") != 0);

	ml->fstype = strsep(&cur, " ");
	if (!strsep(&cur, " ")) /* source: not needed */
		return -EINVAL;
	ml->super_options = strsep(&cur, " ");
	if (!ml->fstype || !ml->super_options)
		return -EINVAL;

	ml->root = fields[MOUNTINFO_ROOT];
	ml->mountpoint = fields[MOUNTINFO_MOUNTPOINT];
	if (ml->mountpoint[0] != '/' || ml->root[0] != '/')
		return -EINVAL;
	return 0;
}

/* Only \000..\377 is a byte; the kernel writes exactly three digits. */
static bool is_octal_escape(const char *s)
{
	return s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
	       s[3] >= '0' && s[3] <= '7';
}

/*
 * Undo the kernel's octal escaping of space, tab, newline and backslash
 * (mangle() in fs/proc_namespace.c). A path that does not fit is refused
 * rather than truncated: a cut path would name a different directory.
 */
static int unescape_path(const char *src, char *dst, size_t size)
{
	size_t n = 0;

	while (*src) {
		char c = *src;

		if (is_octal_escape(src)) {
			c = (char)(((src[1] - '0') << 6) | ((src[2] - '0') << 3) | (src[3] - '0'));
			if (c == '\0')
				return -EINVAL;
			src += 4;
		} else {
			src++;
		}
		if (n + 1 >= size)
			return -ENAMETOOLONG;
		dst[n++] = c;
	}
	dst[n] = '\0';
	return 0;
}

/* Whole-token match in a comma list, so "cpu" does not match "cpuset". */
static bool has_option(const char *options, const char *name)
{
	size_t len = strlen(name);
	const char *p = options;

	for (;;) {
		const char *end = strchrnul(p, ',');

		if ((size_t)(end - p) == len && memcmp(p, name, len) == 0)
			return true;
		if (!*end)
			return false;
		p = end + 1;
	}
}

/*
 * A hierarchy seen several times (bind mounts, a container's view) is best
 * read where its root is "/": that mount shows every cgroup, while one rooted
 * at /kubepods/... only shows a subtree. Among equals, the first one wins.
 */
static bool mount_pick_better(const struct mount_pick *pick, bool root_is_top)
{
	return !pick->found || (!pick->root_is_top && root_is_top);
}

static void mount_pick_take(struct mount_pick *pick, char *slot, const char *path, size_t len,
			    bool root_is_top)
{
	if (!mount_pick_better(pick, root_is_top))
		return;
	memcpy(slot, path, len + 1);
	pick->found = true;
	pick->root_is_top = root_is_top;
}

static void mountinfo_consider(char *line, struct cgroup_mounts *found, struct mount_pick *picks)
{
	char mountpoint[CGROUP_PATH_MAX];
	struct mountinfo_line ml;
	bool unified, cpu = false, cpuacct = false, memory = false, blkio = false, root_is_top;

	line[strcspn(line, "\n")] = '\0';
	if (mountinfo_split(line, &ml) < 0)
		return;

	unified = strcmp(ml.fstype, "cgroup2") == 0;
	if (strcmp(ml.fstype, "cgroup") == 0) {
		cpu = has_option(ml.super_options, "cpu");
		cpuacct = has_option(ml.super_options, "cpuacct");
		memory = has_option(ml.super_options, "memory");
		blkio = has_option(ml.super_options, "blkio");
	}
	if (!unified && !cpu && !cpuacct && !memory && !blkio)
		return;
	if (unescape_path(ml.mountpoint, mountpoint, sizeof(mountpoint)) < 0)
		return;

	size_t len = strlen(mountpoint);

	root_is_top = strcmp(ml.root, "/") == 0;
	if (unified)
		mount_pick_take(&picks[SLOT_UNIFIED], found->unified, mountpoint, len, root_is_top);
	if (cpu)
		mount_pick_take(&picks[SLOT_CPU], found->cpu, mountpoint, len, root_is_top);
	if (cpuacct)
		mount_pick_take(&picks[SLOT_CPUACCT], found->cpuacct, mountpoint, len, root_is_top);
	if (memory)
		mount_pick_take(&picks[SLOT_MEMORY], found->memory, mountpoint, len, root_is_top);
	if (blkio)
		mount_pick_take(&picks[SLOT_BLKIO], found->blkio, mountpoint, len, root_is_top);
}

int cgroup_find_mounts(const char *mountinfo_path, struct cgroup_mounts *out)
{
	struct cgroup_mounts found = { 0 };
	struct mount_pick picks[SLOT_COUNT] = { { 0 } };
	char *line = NULL;
	size_t cap = 0;
	int err = 0;
	FILE *f;

	if (!mountinfo_path || !out)
		return -EINVAL;
	f = fopen(mountinfo_path, "re");
	if (!f)
		return -errno;

	while (getline(&line, &cap, f) >= 0)
		mountinfo_consider(line, &found, picks);
	/* getline() says -1 both at end of file and on error; feof() tells them apart. */
	if (!feof(f))
		err = errno ? -errno : -EIO;

	free(line);
	fclose(f);
	if (err)
		return err;
	*out = found;
	return 0;
}

/* Container ids are printed by every runtime in lower case; upper case is not one of them. */
static bool is_lower_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool is_container_id(const char *s, size_t len, size_t min_len)
{
	if (len < min_len || len > CONTAINER_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_lower_hex(s[i]))
			return false;
	}
	return true;
}

/*
 * A Kubernetes pod UID is a UUID, 8-4-4-4-12 lower-case hex. The systemd
 * driver writes '_' for '-' because '-' means nesting in a slice name.
 */
static bool is_pod_uid(const char *s, size_t len, char sep)
{
	if (len != POD_UID_LEN)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool is_sep_pos = i == 8 || i == 13 || i == 18 || i == 23;

		if (is_sep_pos ? s[i] != sep : !is_lower_hex(s[i]))
			return false;
	}
	return true;
}

/* One path component: not NUL-terminated, so every test below is length-bounded. */
struct component {
	const char *s;
	size_t len;
};

static bool component_is(struct component c, const char *word)
{
	return c.len == strlen(word) && memcmp(c.s, word, c.len) == 0;
}

/* If c is prefix + middle + suffix, return the middle in *mid. */
static bool component_strip(struct component c, const char *prefix, const char *suffix,
			    struct component *mid)
{
	size_t plen = strlen(prefix), slen = strlen(suffix);

	if (c.len < plen + slen || memcmp(c.s, prefix, plen) != 0 ||
	    memcmp(c.s + c.len - slen, suffix, slen) != 0)
		return false;
	mid->s = c.s + plen;
	mid->len = c.len - plen - slen;
	return true;
}

static void set_label(char *dst, struct component c)
{
	memcpy(dst, c.s, c.len);
	dst[c.len] = '\0';
}

/*
 * systemd-driver container scopes. The id must be exactly 64 digits, which
 * also leaves out "crio-conmon-<id>.scope" and "libpod-conmon-<id>.scope":
 * those hold the runtime's monitor process, not the container.
 */
static const char *const scope_prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-" };

/* kubelet's systemd-driver pod slices; guaranteed pods have no QoS level. */
static const char *const pod_slice_prefixes[] = { "kubepods-pod", "kubepods-burstable-pod",
						  "kubepods-besteffort-pod" };

/* Where the previous components leave us in the cgroupfs forms /docker/<id> and /kubepods/... */
enum cgroupfs_state {
	AFTER_OTHER,
	AFTER_DOCKER,	/* next: <id> */
	AFTER_KUBEPODS, /* next: <qos> or pod<uid> */
	AFTER_QOS,	/* next: pod<uid> */
	AFTER_POD,	/* next: <id> */
};

/* Labels from one component, given the ones before it; returns the state for the next. */
static enum cgroupfs_state labels_from_component(struct component c, enum cgroupfs_state state,
						 char *container_id, char *pod_uid)
{
	enum cgroupfs_state next = AFTER_OTHER;
	struct component mid;

	if ((state == AFTER_DOCKER || state == AFTER_POD) &&
	    is_container_id(c.s, c.len, CONTAINER_ID_SHORT))
		set_label(container_id, c);
	if ((state == AFTER_KUBEPODS || state == AFTER_QOS) &&
	    component_strip(c, "pod", "", &mid) && is_pod_uid(mid.s, mid.len, '-')) {
		set_label(pod_uid, mid);
		next = AFTER_POD;
	}
	if (state == AFTER_KUBEPODS &&
	    (component_is(c, "burstable") || component_is(c, "besteffort")))
		next = AFTER_QOS;
	if (component_is(c, "docker"))
		next = AFTER_DOCKER;
	if (component_is(c, "kubepods"))
		next = AFTER_KUBEPODS;

	for (size_t i = 0; i < sizeof(scope_prefixes) / sizeof(scope_prefixes[0]); i++) {
		if (component_strip(c, scope_prefixes[i], ".scope", &mid) &&
		    is_container_id(mid.s, mid.len, CONTAINER_ID_LEN))
			set_label(container_id, mid);
	}
	for (size_t i = 0; i < sizeof(pod_slice_prefixes) / sizeof(pod_slice_prefixes[0]); i++) {
		if (component_strip(c, pod_slice_prefixes[i], ".slice", &mid) &&
		    is_pod_uid(mid.s, mid.len, '_')) {
			set_label(pod_uid, mid);
			for (char *u = pod_uid; *u; u++) {
				if (*u == '_')
					*u = '-';
			}
		}
	}
	return next;
}

void cgroup_labels_from_path(const char *path, char container_id[CGROUP_CONTAINER_ID_MAX],
			     char pod_uid[CGROUP_POD_UID_MAX])
{
	enum cgroupfs_state state = AFTER_OTHER;

	if (!container_id || !pod_uid)
		return;
	container_id[0] = '\0';
	pod_uid[0] = '\0';
	if (!path)
		return;

	/* Walk outer to inner and overwrite on every match, so the innermost wins. */
	for (const char *p = path; *p;) {
		struct component c = { .s = p, .len = strcspn(p, "/") };

		/* An empty component ("//", the leading '/') is no step in the path. */
		if (c.len)
			state = labels_from_component(c, state, container_id, pod_uid);
		p += c.len;
		if (*p)
			p++;
	}
}

int cgroup_pid_path(int pid, char *path, size_t len)
{
	char file[64], buf[8192];
	snprintf(file, sizeof(file), "/proc/%d/cgroup", pid);
	int rc = file_read_text(file, buf, sizeof(buf));

	if (rc)
		return rc == -ENOENT ? -ESRCH : rc;
	for (char *line = buf; line && *line;
	     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
		if (strncmp(line, "0::", 3) == 0) {
			size_t n = strcspn(line + 3, "\n");
			if (n == 0 || n >= len)
				return -ENAMETOOLONG;
			memcpy(path, line + 3, n);
			path[n] = '\0';
			return 0;
		}
	}
	return -ENOENT;
}
