/* lib/filetrust.c — refuses files root would act on that someone else could rewrite. */
#include "lib/filetrust.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* One path component: the file itself (is_file) or a directory above it. */
static int check_one(const char *p, const char *shown, bool is_file, uid_t owner, const char *what,
		     char *why, size_t len)
{
	struct stat st;

	if (stat(p, &st) < 0) {
		int rc = -errno;
		snprintf(why, len, "%s %s: cannot check %s: %s", what, shown, p, strerror(errno));
		return rc;
	}
	/* "config file /etc/x.json is ..." or "config file /etc/x.json: its directory /etc is ..."
	 */
	char subject[PATH_MAX + 64];
	if (is_file)
		snprintf(subject, sizeof(subject), "%s %s", what, shown);
	else
		snprintf(subject, sizeof(subject), "%s %s: its directory %s", what, shown, p);
	if (st.st_uid != owner) {
		snprintf(why, len,
			 "%s is owned by uid %u, not %u (chown it, or --insecure-allow-writable "
			 "for tests)",
			 subject, (unsigned)st.st_uid, (unsigned)owner);
		return -EPERM;
	}
	mode_t w = st.st_mode & (S_IWGRP | S_IWOTH);
	/* sticky and ours: others may add entries but never replace ours */
	if (!w || (!is_file && S_ISDIR(st.st_mode) && (st.st_mode & S_ISVTX)))
		return 0;
	snprintf(why, len,
		 "%s is writable by %s (mode %04o): refused, anyone who can write it could run "
		 "commands as root (chmod go-w it, or --insecure-allow-writable for tests)",
		 subject,
		 w == (S_IWGRP | S_IWOTH) ? "group and others"
		 : w == S_IWGRP		  ? "its group"
					  : "others",
		 (unsigned)(st.st_mode & 07777));
	return -EPERM;
}

int file_trusted(const char *path, uid_t owner, const char *what, char *why, size_t len)
{
	char real[PATH_MAX];
	int rc;

	if (!realpath(path, real)) {
		rc = -errno;
		snprintf(why, len, "%s %s: %s", what, path, strerror(errno));
		return rc;
	}
	rc = check_one(real, path, true, owner, what, why, len);
	/* then each directory above it, up to / */
	for (char *slash = strrchr(real, '/'); !rc && slash; slash = strrchr(real, '/')) {
		if (slash == real) {
			rc = check_one("/", path, false, owner, what, why, len);
			break;
		}
		*slash = '\0';
		rc = check_one(real, path, false, owner, what, why, len);
	}
	return rc;
}
