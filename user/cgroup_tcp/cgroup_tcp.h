/* cgroup_tcp/cgroup_tcp.h — the per-cgroup TCP collector: retransmits, resets, failed connects and
 * connect latency by remote port (kernel side: bpf/cgroup_tcp/cgroup_tcp.bpf.c). */
#ifndef HOSTMON_CGROUP_TCP_CGROUP_TCP_H
#define HOSTMON_CGROUP_TCP_CGROUP_TCP_H

#include "core/collector.h"

extern const struct collector_ops cgroup_tcp_collector_ops;

#endif
