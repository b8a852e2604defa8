/* nodejs_eventloop/nodejs_eventloop.h — the Node.js event-loop collector: how long each loop turn
 * kept the loop busy, and the loops' utilisation, per cgroup (kernel side:
 * bpf/nodejs_eventloop/nodejs_eventloop.bpf.c). */
#ifndef HOSTMON_NODEJS_EVENTLOOP_NODEJS_EVENTLOOP_H
#define HOSTMON_NODEJS_EVENTLOOP_NODEJS_EVENTLOOP_H

#include "core/collector.h"

extern const struct collector_ops nodejs_eventloop_collector_ops;

#endif
