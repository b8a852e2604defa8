/* test_filetrust.c — which files and directories a root daemon may trust (owner, write bits,
 * sticky directories), in a scratch tree owned by whoever runs the test. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/filetrust.h"
#include "test.h"

static char base[64], dir[96], file[128], link_path[128];

static int trusted(const char *p, char *why, size_t len)
{
	return file_trusted(p, getuid(), "config file", why, len);
}

int main(void)
{
	char why[512] = "";

	/* the scratch tree lives below a directory only we can write (not /tmp's sticky one
	 * alone, whose parents are root's: with a non-root runner those would not be "ours") */
	strcpy(base, "/tmp/hostmon-trust-XXXXXX");
	if (!mkdtemp(base)) {
		printf("not ok - mkdtemp\n");
		return 1;
	}
	snprintf(dir, sizeof(dir), "%s/etc", base);
	snprintf(file, sizeof(file), "%s/hostmon.json", dir);
	snprintf(link_path, sizeof(link_path), "%s/link.json", base);
	mkdir(dir, 0755);
	close(open(file, O_CREAT | O_WRONLY, 0644));
	symlink(file, link_path);
	uid_t me = getuid();

	/* / and /tmp are root's: the whole chain is "ours" only for a root runner */
	int rc = trusted(file, why, sizeof(why));
	if (me == 0) {
		CHECK(rc == 0, "0644 file in 0755 dirs below sticky /tmp: %s", why);
		chmod(file, 0666);
		CHECK(trusted(file, why, sizeof(why)) == -EPERM &&
			      strstr(why, "writable by group and others (mode 0666)"),
		      "%s", why);
		chmod(file, 0620);
		CHECK(trusted(file, why, sizeof(why)) == -EPERM && strstr(why, "its group"), "%s",
		      why);
		chmod(file, 0644);
		chmod(dir, 0777);
		CHECK(trusted(file, why, sizeof(why)) == -EPERM && strstr(why, "its directory") &&
			      strstr(why, dir),
		      "%s", why);
		chmod(dir, 01777); /* sticky and ours: accepted, like /tmp */
		CHECK(trusted(file, why, sizeof(why)) == 0, "sticky directory: %s", why);
		chmod(dir, 0755);
		CHECK(trusted(link_path, why, sizeof(why)) == 0, "through a symlink: %s", why);
		chown(file, 65534, 65534);
		CHECK(trusted(file, why, sizeof(why)) == -EPERM &&
			      strstr(why, "owned by uid 65534"),
		      "%s", why);
		CHECK(trusted(link_path, why, sizeof(why)) == -EPERM, "symlink to a foreign file");
		chown(file, 0, 0);
		chown(dir, 65534, 65534);
		CHECK(trusted(file, why, sizeof(why)) == -EPERM && strstr(why, "its directory"),
		      "directory owned by another user: %s", why);
		chown(dir, 0, 0);
	} else {
		CHECK(rc == -EPERM && strstr(why, "owned by uid 0"),
		      "a non-root runner does not own /: %s", why);
	}
	CHECK(trusted("/nonexistent/x.json", why, sizeof(why)) == -ENOENT && strstr(why, "x.json"),
	      "%s", why);
	CHECK(file_trusted("/bin/sh", 0, "exec program", why, sizeof(why)) == 0, "/bin/sh: %s",
	      why);

	unlink(link_path);
	unlink(file);
	rmdir(dir);
	rmdir(base);
	return test_summary("lib/test_filetrust");
}
