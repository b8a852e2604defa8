/* core/seccomp.h — the system call filter hostmon runs under once started. */
#ifndef HOSTMON_CORE_SECCOMP_H
#define HOSTMON_CORE_SECCOMP_H

#include <stddef.h>

/*
 * API:
 *   seccomp_install() installs, in every thread (SECCOMP_FILTER_FLAG_TSYNC),
 *   a classic-BPF filter that allows the calls in the list of seccomp.c and
 *   treats any other by mode: "true" fails it with EPERM, "kill" kills the
 *   process (SIGSYS; the integration tests run this, so a call missing from
 *   the list fails a test rather than a host), "log" allows it and has the
 *   kernel log it, "false" installs nothing. no_new_privs must be set.
 *   Children (restart commands) inherit the filter: the list holds what a
 *   POSIX shell and the usual tools a restart script runs need too.
 *   0 or -errno with why.
 */
int seccomp_install(const char *mode, char *why, size_t len);

#endif
