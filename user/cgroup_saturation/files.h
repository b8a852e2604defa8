/* cgroup_saturation/files.h — a cgroup's memory, pressure stalls and I/O as its own files count
 * them: cgroup2 (memory.current, memory.stat, memory.max, io.stat, cpu|memory|io.pressure), or the
 * v1 memory and blkio hierarchies at the same path. */
#ifndef HOSTMON_CGROUP_SATURATION_FILES_H
#define HOSTMON_CGROUP_SATURATION_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   struct sat_mounts names the hierarchies to read ("" when absent): the
 *   cgroup2 mount and the v1 memory and blkio mounts. A cgroup path is
 *   read in cgroup2 first, and in v1 when cgroup2 has no such file there
 *   (hybrid hosts keep memory and blkio in v1).
 *   sat_read_memory(), sat_read_io(), sat_read_pressure() read one cgroup
 *   (path relative to the hierarchies' roots, "/" for the root) into their
 *   struct using buf (len bytes, SAT_BUF_LEN is enough for every file);
 *   0, -ENOENT when no hierarchy has the files (nothing to export), or
 *   -errno. What they fill:
 *     memory: usage (v2 memory.current, v1 memory.usage_in_bytes),
 *       working set = usage - inactive file (v2 inactive_file, v1
 *       total_inactive_file; kubelet's definition), floored at 0; the
 *       limit (v2 memory.max, v1 memory.limit_in_bytes) when one is set.
 *     io: bytes and operations read and written, summed over devices (v2
 *       io.stat rbytes/wbytes/rios/wios; v1 blkio.throttle.io_service_bytes
 *       _recursive and io_serviced_recursive Read/Write lines).
 *     pressure: for cpu, memory and io, the some and full stall totals in
 *       microseconds (cgroup2 *.pressure "total="); a resource or a line
 *       the kernel lacks stays unset.
 *   The sat_parse_*() functions are the pure parsers behind them (unit
 *   tested): 0 or -EINVAL for text that is not what the kernel writes.
 */

#define SAT_BUF_LEN (64 * 1024)

struct sat_mounts {
	const char *unified, *v1_memory, *v1_blkio;
};

struct sat_memory {
	uint64_t usage, working_set, limit;
	bool has_limit;
};

struct sat_io {
	uint64_t read_bytes, write_bytes, read_ops, write_ops;
};

enum sat_resource { SAT_RES_CPU = 0, SAT_RES_MEMORY = 1, SAT_RES_IO = 2, SAT_RES_COUNT = 3 };

struct sat_stall {
	uint64_t some_us, full_us;
	bool has_some, has_full;
};

struct sat_pressure {
	struct sat_stall res[SAT_RES_COUNT];
};

int sat_read_memory(const struct sat_mounts *m, const char *path, char *buf, size_t len,
		    struct sat_memory *out);
int sat_read_io(const struct sat_mounts *m, const char *path, char *buf, size_t len,
		struct sat_io *out);
int sat_read_pressure(const struct sat_mounts *m, const char *path, char *buf, size_t len,
		      struct sat_pressure *out);

int sat_parse_keyed(const char *text, const char *key, uint64_t *out); /* "key value" lines */
int sat_parse_limit(const char *text, uint64_t *limit, bool *has_limit);
int sat_parse_psi(const char *text, struct sat_stall *out);
int sat_parse_io_stat(const char *text, struct sat_io *out);
/* v1 "MAJ:MIN Read N" lines; adds to *read and *write */
int sat_parse_blkio(const char *text, uint64_t *read, uint64_t *write);

#endif
