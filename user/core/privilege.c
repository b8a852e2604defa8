/* core/privilege.c — drops every capability hostmon does not need after start, in every thread,
 * sets no_new_privs and installs the system call filter. */
#include "core/privilege.h"

#include <dirent.h>
#include <errno.h>
#include <linux/capability.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/seccomp.h"
#include "lib/fileutil.h"

#ifndef SECBIT_NOROOT
#define SECBIT_NOROOT		    (1 << 0)
#define SECBIT_NOROOT_LOCKED	    (1 << 1)
#define SECBIT_NO_SETUID_FIXUP	    (1 << 2)
#define SECBIT_NO_CAP_AMBIENT_RAISE (1 << 6)
#endif

#define BIT(c) (1ull << (c))
/* the set privilege.h explains, in the order the log names them */
static const struct {
	int cap;
	const char *name;
} kept_caps[] = {
	{ CAP_BPF, "bpf" },
	{ CAP_PERFMON, "perfmon" },
	{ CAP_SYS_ADMIN, "sys_admin" },
	{ CAP_NET_ADMIN, "net_admin" },
	{ CAP_SYS_PTRACE, "sys_ptrace" },
	{ CAP_DAC_READ_SEARCH, "dac_read_search" },
	{ CAP_KILL, "kill" },
	{ CAP_SETUID, "setuid" },
	{ CAP_SETGID, "setgid" },
	{ CAP_SETPCAP, "setpcap" },
};
#define N_KEPT (sizeof(kept_caps) / sizeof(kept_caps[0]))
static uint64_t kept; /* the mask of kept_caps, set before any thread is reduced */

#define REDUCE_SIGNAL (SIGRTMIN + 5) /* glibc keeps SIGRTMIN's first two for itself */
#define ROUNDS	      5

static int last_cap = CAP_LAST_CAP;
/* without CAP_SETPCAP (hostmon run as a user) the bounding set stays; no_new_privs then keeps
 * an exec from gaining anything from it */
static bool drop_bounding = true;
static sem_t reduced;
static atomic_int thread_error;

static int caps_get(uint64_t *eff, uint64_t *prm, uint64_t *inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	/* zeroed: valgrind knows capget writes only the first of the two v3 words */
	struct __user_cap_data_struct d[2] = { { 0 } };

	if (syscall(SYS_capget, &h, d) < 0)
		return -errno;
	*eff = d[0].effective | (uint64_t)d[1].effective << 32;
	*prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
	*inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
	return 0;
}

static int caps_set(uint64_t eff, uint64_t prm, uint64_t inh)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2] = {
		{ (uint32_t)eff, (uint32_t)prm, (uint32_t)inh },
		{ (uint32_t)(eff >> 32), (uint32_t)(prm >> 32), (uint32_t)(inh >> 32) },
	};
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

/* The calling thread only: capabilities are per thread. Async-signal-safe (raw calls). */
static int reduce_this_thread(void)
{
	uint64_t eff, prm, inh;
	int rc = caps_get(&eff, &prm, &inh);

	for (int c = 0; !rc && drop_bounding && c <= last_cap; c++)
		if (!(kept & BIT(c)) && prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			rc = -errno;
	if (!rc && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		rc = -errno;
	if (!rc)
		rc = caps_set(prm & kept, prm & kept, 0);
	if (!rc && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		rc = -errno;
	return rc;
}

static void on_reduce_signal(int sig)
{
	int saved = errno;
	(void)sig;
	int rc = reduce_this_thread();
	if (rc)
		atomic_store(&thread_error, rc);
	sem_post(&reduced);
	errno = saved;
}

/* "CapBnd:\t000001ffffffffff" -> the mask; -1 when absent. */
static long long status_field(const char *status, const char *key, int base)
{
	const char *p = strstr(status, key);
	return p ? strtoll(p + strlen(key), NULL, base) : -1;
}

/* Whether thread tid of this process is reduced already (or gone). */
static bool thread_reduced(const char *tid, uint64_t want)
{
	char path[300], status[4096];
	snprintf(path, sizeof(path), "/proc/self/task/%s/status", tid);
	if (file_read_text(path, status, sizeof(status)))
		return true; /* it ended */
	long long bnd = status_field(status, "\nCapBnd:\t", 16);
	long long prm = status_field(status, "\nCapPrm:\t", 16);
	long long nnp = status_field(status, "\nNoNewPrivs:\t", 10);
	return bnd >= 0 && (!drop_bounding || ((uint64_t)bnd & ~kept) == 0) &&
	       ((uint64_t)prm & ~want) == 0 && nnp == 1;
}

/* Signals every other thread not reduced yet; how many were signalled, or -errno. */
static int reduce_other_threads(uint64_t want)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int signalled = 0;
	pid_t self = (pid_t)syscall(SYS_gettid);

	if (!d)
		return -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || atoi(e->d_name) == self ||
		    thread_reduced(e->d_name, want))
			continue;
		if (syscall(SYS_tgkill, getpid(), atoi(e->d_name), REDUCE_SIGNAL) == 0)
			signalled++;
	}
	closedir(d);
	for (int i = 0; i < signalled; i++) {
		struct timespec deadline;
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += 2;
		while (sem_timedwait(&reduced, &deadline) < 0 && errno == EINTR)
			;
	}
	return signalled;
}

/* The capabilities of mask, by name; "none" when empty. */
static void kept_names(uint64_t mask, char *out, size_t len)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < N_KEPT && used < len; i++)
		if (mask & BIT(kept_caps[i].cap))
			used += (size_t)snprintf(out + used, len - used, "%s%s", used ? "," : "",
						 kept_caps[i].name);
	if (!out[0])
		snprintf(out, len, "none");
}

int privilege_reduce(const char *seccomp, char *why, size_t len)
{
	char buf[32], names[256];
	uint64_t eff, prm, inh;
	int rc;

	for (size_t i = 0; i < N_KEPT; i++)
		kept |= BIT(kept_caps[i].cap);
	if (file_read_text("/proc/sys/kernel/cap_last_cap", buf, sizeof(buf)) == 0)
		last_cap = atoi(buf);
	rc = caps_get(&eff, &prm, &inh);
	if (rc) {
		snprintf(why, len, "capget: %s", strerror(-rc));
		return rc;
	}
	uint64_t want = prm & kept;
	drop_bounding = eff & BIT(CAP_SETPCAP);
	sem_init(&reduced, 0, 0);
	struct sigaction sa = { .sa_handler = on_reduce_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(REDUCE_SIGNAL, &sa, NULL);
	rc = reduce_this_thread();
	/* a thread may start another while this runs: repeat until every thread is reduced */
	for (int round = 0; !rc && round < ROUNDS; round++) {
		int n = reduce_other_threads(want);
		if (n < 0)
			rc = n;
		else if (n == 0)
			break;
		else if (round == ROUNDS - 1)
			rc = -EAGAIN;
	}
	if (!rc)
		rc = atomic_load(&thread_error);
	signal(REDUCE_SIGNAL, SIG_IGN);
	if (rc) {
		snprintf(why, len, "cannot drop capabilities in every thread: %s", strerror(-rc));
		return rc;
	}
	rc = seccomp_install(seccomp, why, len);
	if (rc)
		return rc;
	kept_names(want, names, sizeof(names));
	log_info("privileges reduced", "capabilities", names, "no_new_privs", "1", "seccomp",
		 seccomp);
	return 0;
}

int privilege_child_drop_all(void)
{
	for (int c = 0; c <= last_cap; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return -errno;
	/* root keeps no capability across exec and cannot get them back */
	if (prctl(PR_SET_SECUREBITS,
		  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_CAP_AMBIENT_RAISE, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int privilege_child_drop_caps(void)
{
	return caps_set(0, 0, 0);
}
