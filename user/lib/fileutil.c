/* lib/fileutil.c — small whole-file reads for /proc and cgroup files. */
#include "lib/fileutil.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

int file_read_text(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, len - 1);
	int saved = errno;
	close(fd);
	if (n < 0)
		return -saved;
	buf[n] = '\0';
	return 0;
}
