/* cpu_collector.h — the per-cgroup CPU collector (kernel side: bpf/cpu.bpf.c). */
#ifndef HOSTMON_CPU_COLLECTOR_H
#define HOSTMON_CPU_COLLECTOR_H

#include "collector.h"

extern const struct collector_ops cpu_collector_ops;

#endif
