/* rabbitmq/rabbitmq.h — the RabbitMQ queue collector (management HTTP API, polled in the
 * background). */
#ifndef HOSTMON_RABBITMQ_RABBITMQ_H
#define HOSTMON_RABBITMQ_RABBITMQ_H

#include "core/collector.h"

extern const struct collector_ops rabbitmq_collector_ops;

#endif
