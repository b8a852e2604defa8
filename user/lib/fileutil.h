/* lib/fileutil.h — small whole-file reads for /proc and cgroup files. */
#ifndef HOSTMON_LIB_FILEUTIL_H
#define HOSTMON_LIB_FILEUTIL_H

#include <stddef.h>

/*
 * Reads at most len - 1 bytes of path into buf with one read(2) (enough for
 * the kernel's single-page pseudo files) and NUL-terminates them. 0 or -errno.
 */
int file_read_text(const char *path, char *buf, size_t len);

#endif
