/* http_latency/phpfpm.h — the PHP-FPM pool state shared by bpf/http_latency/phpfpm.bpf.h and the
 * collector's pools (user/http_latency/phpfpm.c). */
#ifndef HOSTMON_BPF_HTTP_LATENCY_PHPFPM_H
#define HOSTMON_BPF_HTTP_LATENCY_PHPFPM_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

/*
 * Pools: user space names a worker's pool (its process title "php-fpm: pool NAME", in its cgroup)
 * and writes the pool's index into the worker's struct http_target; 0 is no pool (the master, or
 * a worker whose title was not read yet). The kernel keeps each pool's requests in flight and the
 * time all its workers were busy; user space keeps `workers` (it counts the pool's targets).
 */
#define HTTP_PHP_MAX_POOLS 1024 /* indexes 1..1023; 0 counts requests of workers without one */

/* php_pools: an mmap-able array indexed by pool; user space reads it and writes workers in place */
struct http_php_pool {
	__u64 saturated_ns;    /* closed intervals with every worker busy */
	__u64 saturated_since; /* bpf_ktime_get_ns() when the open one began; 0: none open */
	__u64 requests;	       /* requests started (slot 0: those of workers with no pool yet) */
	__u64 in_flight;       /* requests started and not ended */
	__u64 workers;	       /* written by user space: the pool's worker processes */
};
_Static_assert(sizeof(struct http_php_pool) == 40, "http_php_pool layout");

#endif
