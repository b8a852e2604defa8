/* lib/filetrust.h — whether a file that decides what root runs can be changed by anyone else. */
#ifndef HOSTMON_LIB_FILETRUST_H
#define HOSTMON_LIB_FILETRUST_H

#include <stddef.h>
#include <sys/types.h>

/*
 * API:
 *   file_trusted() resolves path (symlinks followed) and checks the file and
 *   every directory above it: each must be owned by owner (root in the
 *   daemon) and writable by nobody else, that is no group or other write bit.
 *   One exception, the standard /tmp case: a directory that is group- or
 *   world-writable but sticky and owned by owner is accepted, because in a
 *   sticky directory only an entry's owner (here: owner) can rename or remove
 *   it, so nobody else can swap the file or a directory on its path.
 *   0 when trusted; -EPERM with one sentence in why ("config file /x is
 *   writable by group and others (mode 0666)"); -errno when it cannot be
 *   checked. what names the file in the sentence ("config file").
 */
int file_trusted(const char *path, uid_t owner, const char *what, char *why, size_t len);

#endif
