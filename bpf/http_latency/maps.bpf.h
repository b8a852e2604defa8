/* http_latency/maps.bpf.h — the maps of bpf/http_latency/http_latency.bpf.c, shared by the headers
 * that make up the program. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_MAPS_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_MAPS_BPF_H

/*
 * API:
 *   targets: tgid -> struct http_target, the processes being measured.
 *   target_bits: one bit per pid, set for targets (see maybe_target()).
 *   flows: socket storage, struct http_flow: HTTP mode requests per TCP socket.
 *   skb_cgroups: cgroup id -> struct http_skb_cgroup, the cgroups the
 *     cgroup_skb programs are attached to (written by user space).
 *   routes: route key -> struct http_route, the first path seen with it
 *     (route_scratch: the per-CPU slot it is built in; route_segs: where a
 *     path's segment hashes are kept while its route is made).
 *   route_seen, route_count: the (cgroup, route) pairs admitted under the
 *     per-cgroup cap, and how many each cgroup has.
 *   php_reqs: task storage, struct http_php_req: the PHP request of a
 *     worker thread.
 *   php_params_buf: the per-CPU window an FCGI_PARAMS body is walked in.
 *   reads: per-thread struct read_args, a PHP worker's read from its start
 *     to its end (kind: READ_BUF, READ_IOV, READ_MSG).
 *   hists: struct http_hist_key -> struct http_hist (one for all CPUs).
 *   http_counters: enum http_counter slots (per-CPU, lib/counters.bpf.h).
 *   http_events: ring buffer of struct http_event, targets appearing/ending.
 *   Defines the maps: include it in one program only (http_latency.bpf.c);
 *   user space finds them by these names through the skeleton.
 */

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "http_latency.h"
#include "route.bpf.h"

/* sized by user space from the CPU count (latency_targets_room()) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct http_target);
} targets SEC(".maps");

/* freed with the socket: a connection never closed by the program leaves nothing behind */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct http_flow);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct http_skb_cgroup);
} skb_cgroups SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct http_route);
} routes SEC(".maps");

/* one struct http_route_scratch per CPU: a path's segment hashes for the pattern match */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_route_scratch);
} route_segs SEC(".maps");

/* one struct http_route per CPU, where a new route's record is put together */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct http_route);
} route_scratch SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct http_route_seen_key);
	__type(value, __u8);
} route_seen SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, __u32);
} route_count SEC(".maps");

/* task storage, like reads: a worker thread's request goes with the thread (no sweep, no pid
 * reuse, no bound to size), and the kernel finds it without hashing */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct http_php_req);
} php_reqs SEC(".maps");

/* one struct php_params_window per CPU: the part of an FCGI_PARAMS body being walked */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct php_params_window);
} php_params_buf SEC(".maps");

/* a PHP worker's read in flight, from its start (sys_enter, fentry) to its end (sys_exit, fexit) */
struct read_args {
	__u64 ptr;
	__u32 fd;  /* the connection: fd (syscalls) or socket inode number (socket path) */
	__u32 seg; /* READ_BUF: the buffer's length when known, else 0 (the read's return) */
	__u8 kind;
	__u8 mode; /* the target's, so the end needs no second lookup */
	__u8 pending;
	__u8 pad[5];
};

enum { READ_BUF = 1, READ_IOV = 2, READ_MSG = 3 };

/* task storage: no hashing on the hot path, and freed with the thread */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct read_args);
} reads SEC(".maps");

/*
 * One bit per pid (sized from pid_max by userspace, mmap-able so it can set
 * bits too): the first filter of every syscall, an inlined array access, so
 * processes that are not targets never reach a hash lookup.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u64);
} target_bits SEC(".maps");

/* Not per-CPU: per-CPU values would cost CPUs x label sets x buckets (280 MiB at 256 CPUs with the
 * defaults); shared values with atomic adds cost the same on every host. Sized by user space
 * (--http-max-series). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct http_hist_key);
	__type(value, struct http_hist);
} hists SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, HTTP_COUNTER_N);
	__type(key, __u32);
	__type(value, __u64);
} http_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 64 * 1024);
} http_events SEC(".maps");

#endif
