/* http_latency/http_latency.h — the http_latency collector: request latency of node and PHP
 * servers, as histograms built in the kernel by bpf/http_latency/http_latency.bpf.c. */
#ifndef HOSTMON_HTTP_LATENCY_HTTP_LATENCY_H
#define HOSTMON_HTTP_LATENCY_HTTP_LATENCY_H

#include "core/collector.h"

extern const struct collector_ops http_latency_collector_ops;

#endif
