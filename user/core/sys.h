/* core/sys.h — startup checks of what BPF collectors need: privileges, BTF, bpffs, tracefs. */
#ifndef HOSTMON_CORE_SYS_H
#define HOSTMON_CORE_SYS_H

#include <stdbool.h>
#include <stdint.h>

/*
 * API:
 *   sys_check() inspects the host once at startup and logs one clear line
 *   per missing prerequisite; it mounts tracefs and bpffs when they are
 *   absent and the process may mount. The result lets collectors and
 *   /readyz explain failures; nothing here is fatal, because collectors
 *   that need no BPF (RabbitMQ) still work without it.
 *
 *   sys_bpf_stats_enable() turns on the kernel's BPF run-time statistics
 *   and returns an fd that keeps them on until closed (-errno on failure).
 */
struct sys_status {
	bool bpf_privileged; /* root-equivalent, or CAP_BPF + CAP_PERFMON */
	bool btf;	     /* /sys/kernel/btf/vmlinux readable */
	bool tracefs;
	bool bpffs;
};

void sys_check(struct sys_status *st);
int sys_bpf_stats_enable(void);
/* Whether the kernel currently keeps BPF run-time statistics (kernel.bpf_stats_enabled). */
bool sys_bpf_stats_active(void);
/* Whether tracepoint name has a BTF type (tp_btf attaches); otherwise use the raw_tp twin. */
bool sys_has_btf_tracepoint(const char *name);
/* The sum over CPUs of a per-CPU array's u64 slot key (0 when it cannot be read). */
uint64_t sys_percpu_counter(int map_fd, uint32_t key, int ncpus);
/* Routes libbpf's own messages into the structured log. */
void sys_libbpf_logging(void);

#endif
