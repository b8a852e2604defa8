/* cgroup_saturation/files.c — reads and parses a cgroup's memory, pressure and I/O files. */
#include "cgroup_saturation/files.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "lib/fileutil.h"

/* A v1 limit at or above this is the kernel's "no limit" (PAGE_COUNTER_MAX pages, rounded). */
#define V1_UNLIMITED (UINT64_C(1) << 62)

/* The decimal number at *p, which must end at a space, a newline or the end; advances *p. */
static int number_at(const char **p, uint64_t *out)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(*p, &end, 10);
	if (errno || (*end && *end != ' ' && *end != '\n'))
		return -EINVAL;
	*p = end;
	*out = v;
	return 0;
}

int sat_parse_keyed(const char *text, const char *key, uint64_t *out)
{
	size_t klen = strlen(key);

	for (const char *line = text; *line;) {
		const char *next = strchrnul(line, '\n');
		if ((size_t)(next - line) > klen && strncmp(line, key, klen) == 0 &&
		    line[klen] == ' ') {
			const char *p = line + klen + 1;
			return number_at(&p, out);
		}
		line = *next ? next + 1 : next;
	}
	return -ENOENT;
}

int sat_parse_limit(const char *text, uint64_t *limit, bool *has_limit)
{
	uint64_t v;

	if (strncmp(text, "max", 3) == 0 && (text[3] == '\n' || !text[3])) {
		*has_limit = false;
		*limit = 0;
		return 0;
	}
	if (number_at(&text, &v))
		return -EINVAL;
	*has_limit = v < V1_UNLIMITED;
	*limit = *has_limit ? v : 0;
	return 0;
}

int sat_parse_psi(const char *text, struct sat_stall *out)
{
	struct sat_stall s = { 0 };

	for (const char *line = text; *line;) {
		const char *next = strchrnul(line, '\n');
		bool some = strncmp(line, "some ", 5) == 0, full = strncmp(line, "full ", 5) == 0;
		const char *total = strstr(line, " total=");
		if ((some || full) && total && total < next) {
			const char *p = total + 7;
			uint64_t v;
			if (number_at(&p, &v))
				return -EINVAL;
			if (some) {
				s.some_us = v;
				s.has_some = true;
			} else {
				s.full_us = v;
				s.has_full = true;
			}
		} else if (next != line) {
			return -EINVAL;
		}
		line = *next ? next + 1 : next;
	}
	if (!s.has_some)
		return -EINVAL;
	*out = s;
	return 0;
}

int sat_parse_io_stat(const char *text, struct sat_io *out)
{
	static const char *const keys[] = { "rbytes=", "wbytes=", "rios=", "wios=" };
	struct sat_io io = { 0 };
	uint64_t *slots[] = { &io.read_bytes, &io.write_bytes, &io.read_ops, &io.write_ops };

	for (const char *line = text; *line;) {
		const char *next = strchrnul(line, '\n');
		/* "MAJ:MIN key=value ..." */
		for (const char *p = strchr(line, ' '); p && p < next; p = strchr(p + 1, ' ')) {
			for (size_t k = 0; k < 4; k++) {
				size_t kl = strlen(keys[k]);
				if (strncmp(p + 1, keys[k], kl) == 0) {
					const char *v = p + 1 + kl;
					uint64_t n;
					if (number_at(&v, &n))
						return -EINVAL;
					*slots[k] += n;
				}
			}
		}
		line = *next ? next + 1 : next;
	}
	*out = io;
	return 0;
}

int sat_parse_blkio(const char *text, uint64_t *read, uint64_t *write)
{
	uint64_t r = 0, w = 0;

	for (const char *line = text; *line;) {
		const char *next = strchrnul(line, '\n');
		const char *op = strchr(line, ' ');
		/* "MAJ:MIN Read N", ..., and a last "Total N" line for all devices */
		if (op && op < next && line[0] >= '0' && line[0] <= '9') {
			uint64_t *slot = NULL;
			if (strncmp(op, " Read ", 6) == 0)
				slot = &r;
			else if (strncmp(op, " Write ", 7) == 0)
				slot = &w;
			if (slot) {
				const char *p = strchr(op + 1, ' ') + 1;
				uint64_t n;
				if (number_at(&p, &n))
					return -EINVAL;
				*slot += n;
			}
		}
		line = *next ? next + 1 : next;
	}
	*read += r;
	*write += w;
	return 0;
}

/* Reads file name of cgroup path under mount into buf; -ENOENT when the mount is absent. */
static int read_cg_file(const char *mount, const char *path, const char *name, char *buf,
			size_t len)
{
	char fn[CGROUP_PATH_MAX * 2];

	if (!mount || !*mount)
		return -ENOENT;
	int n = snprintf(fn, sizeof(fn), "%s%s/%s", mount, strcmp(path, "/") ? path : "", name);
	if (n < 0 || (size_t)n >= sizeof(fn))
		return -ENAMETOOLONG;
	return file_read_text(fn, buf, len);
}

static int read_number(const char *mount, const char *path, const char *name, char *buf, size_t len,
		       uint64_t *out)
{
	int rc = read_cg_file(mount, path, name, buf, len);
	const char *p = buf;
	return rc ? rc : number_at(&p, out);
}

static void working_set(struct sat_memory *m, uint64_t inactive_file)
{
	m->working_set = m->usage > inactive_file ? m->usage - inactive_file : 0;
}

int sat_read_memory(const struct sat_mounts *m, const char *path, char *buf, size_t len,
		    struct sat_memory *out)
{
	struct sat_memory mem = { 0 };
	uint64_t inactive = 0;
	int rc;

	rc = read_number(m->unified, path, "memory.current", buf, len, &mem.usage);
	if (rc == 0) {
		rc = read_cg_file(m->unified, path, "memory.stat", buf, len);
		if (rc == 0)
			rc = sat_parse_keyed(buf, "inactive_file", &inactive);
		if (rc)
			return rc;
		working_set(&mem, inactive);
		if (read_cg_file(m->unified, path, "memory.max", buf, len) == 0 &&
		    sat_parse_limit(buf, &mem.limit, &mem.has_limit))
			return -EINVAL;
		*out = mem;
		return 0;
	}
	if (rc != -ENOENT)
		return rc;
	rc = read_number(m->v1_memory, path, "memory.usage_in_bytes", buf, len, &mem.usage);
	if (rc)
		return rc;
	rc = read_cg_file(m->v1_memory, path, "memory.stat", buf, len);
	if (rc == 0)
		rc = sat_parse_keyed(buf, "total_inactive_file", &inactive);
	if (rc)
		return rc;
	working_set(&mem, inactive);
	if (read_cg_file(m->v1_memory, path, "memory.limit_in_bytes", buf, len) == 0 &&
	    sat_parse_limit(buf, &mem.limit, &mem.has_limit))
		return -EINVAL;
	*out = mem;
	return 0;
}

int sat_read_io(const struct sat_mounts *m, const char *path, char *buf, size_t len,
		struct sat_io *out)
{
	struct sat_io io = { 0 };
	int rc = read_cg_file(m->unified, path, "io.stat", buf, len);

	if (rc == 0) {
		rc = sat_parse_io_stat(buf, &io);
		if (rc == 0)
			*out = io;
		return rc;
	}
	if (rc != -ENOENT)
		return rc;
	rc = read_cg_file(m->v1_blkio, path, "blkio.throttle.io_service_bytes_recursive", buf, len);
	if (rc == 0)
		rc = sat_parse_blkio(buf, &io.read_bytes, &io.write_bytes);
	if (rc)
		return rc;
	rc = read_cg_file(m->v1_blkio, path, "blkio.throttle.io_serviced_recursive", buf, len);
	if (rc == 0)
		rc = sat_parse_blkio(buf, &io.read_ops, &io.write_ops);
	if (rc == 0)
		*out = io;
	return rc;
}

int sat_read_pressure(const struct sat_mounts *m, const char *path, char *buf, size_t len,
		      struct sat_pressure *out)
{
	static const char *const files[SAT_RES_COUNT] = { "cpu.pressure", "memory.pressure",
							  "io.pressure" };
	struct sat_pressure p = { 0 };
	bool any = false;

	for (int r = 0; r < SAT_RES_COUNT; r++) {
		int rc = read_cg_file(m->unified, path, files[r], buf, len);
		if (rc == -ENOENT || rc == -EOPNOTSUPP)
			continue; /* no PSI for this resource (or PSI off: psi=0) */
		if (rc == 0)
			rc = sat_parse_psi(buf, &p.res[r]);
		if (rc)
			return rc;
		any = true;
	}
	if (!any)
		return -ENOENT;
	*out = p;
	return 0;
}
