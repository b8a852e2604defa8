/* http_latency/settings.bpf.h — the program's settings, written by the http_latency collector into
 * .rodata before load. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_SETTINGS_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_SETTINGS_BPF_H

/*
 * API:
 *   bucket_ns[0..nbuckets): the histogram's finite bounds in ns, ascending.
 *   target_names[0..ntargets_names): executable names that make a process a
 *     target; target_runtime, target_mode (enum http_runtime, http_mode) and
 *     target_prefix (1: the name is a prefix, php-fpm*) and target_name_len
 *     belong to the same index.
 *   route_patterns[0..nroute_patterns): --http-routes, compiled; route_cap:
 *     distinct routes a cgroup may have (--http-max-routes).
 *   Defines the variables: include it in one program only
 *   (http_latency.bpf.c); the skeleton names them as they are here.
 *   const volatile: constant once loaded, but clang must not fold the zero
 *   initialisers into the code.
 */

#include "vmlinux.h"

#include "http_latency.h"

const volatile __u64 bucket_ns[HTTP_MAX_BUCKETS] = {};
const volatile __u32 nbuckets = 0;
const volatile char target_names[HTTP_MAX_NAMES][HTTP_NAME_LEN] = {};
const volatile __u8 target_runtime[HTTP_MAX_NAMES] = {};
const volatile __u8 target_mode[HTTP_MAX_NAMES] = {};
const volatile __u8 target_prefix[HTTP_MAX_NAMES] = {};
const volatile __u8 target_name_len[HTTP_MAX_NAMES] = {}; /* strlen(target_names[k]) */
const volatile __u32 ntargets_names = 0;
const volatile struct http_route_pattern route_patterns[HTTP_MAX_ROUTE_PATTERNS] = {};
const volatile __u32 nroute_patterns = 0;
const volatile __u32 route_cap = 50;

#endif
