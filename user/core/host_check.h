/* core/host_check.h — startup checks of what BPF collectors need: privileges, BTF, bpffs,
 * tracefs. */
#ifndef HOSTMON_CORE_HOST_CHECK_H
#define HOSTMON_CORE_HOST_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/*
 * API:
 *   host_check() inspects the host once at startup and, when a selected
 *   collector runs BPF programs (bpf_needed), logs one clear line per
 *   missing prerequisite and mounts tracefs and bpffs when they are absent
 *   and the process may mount; without one it only fills st, silently (a
 *   RabbitMQ-only exporter runs unprivileged and touches no filesystem). Nothing here is fatal,
 * because collectors that need no BPF (RabbitMQ) still work without it; the daemon keeps the result
 * and /readyz names what is missing when a collector is down (host_status_explain(): "" when
 * nothing is).
 */
struct host_status {
	bool bpf_privileged; /* root-equivalent, or CAP_BPF + CAP_PERFMON */
	bool btf;	     /* /sys/kernel/btf/vmlinux readable */
	bool tracefs;
	bool bpffs;
};

void host_check(struct host_status *st, bool bpf_needed);
void host_status_explain(const struct host_status *st, char *buf, size_t len);
/* The capabilities BPF collectors need that this process lacks, e.g. "CAP_BPF, CAP_PERFMON";
 * "" when it has them (or CAP_SYS_ADMIN, which covers them). */
void host_missing_bpf_caps(char *buf, size_t len);

#endif
