// SPDX-License-Identifier: GPL-2.0
/* http_latency/http_latency.bpf.c — HTTP request latency of node and PHP servers, as histograms
 * built in the kernel. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "http_latency.h"
#include "request.bpf.h"

char LICENSE[] SEC("license") = "GPL";

/*
 * Data path: sched_process_exec/fork/exit keep the `targets` map (tgid ->
 * runtime, mode) in step with processes whose executable name matches; the
 * raw sys_enter/sys_exit hooks (attached by userspace only while a target
 * exists) first look the current tgid up there and leave at once for every
 * other process. For targets they pair a request with its response per
 * connection (HTTP mode) or per PHP worker (USDT and FastCGI modes), and add
 * the duration to a per-CPU histogram keyed by cgroup, runtime, method and
 * status. Nothing per request goes to userspace.
 */

/* Set before load. */
const volatile __u64 bucket_ns[HTTP_MAX_BUCKETS] = {};
const volatile __u32 nbuckets = 0;
const volatile char target_names[HTTP_MAX_NAMES][HTTP_NAME_LEN] = {};
const volatile __u8 target_runtime[HTTP_MAX_NAMES] = {};
const volatile __u8 target_mode[HTTP_MAX_NAMES] = {};
const volatile __u8 target_prefix[HTTP_MAX_NAMES] = {}; /* 1: the name is a prefix (php-fpm*) */
const volatile __u32 ntargets_names = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct http_target);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct http_conn_key);
	__type(value, struct http_conn);
} conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct http_php_req);
} php_reqs SEC(".maps");

/* arguments of a read-like syscall in flight, from sys_enter to sys_exit of the same thread */
struct read_args {
	__u64 ptr;
	__u32 fd;
	__u8 kind;
	__u8 mode; /* the target's, so sys_exit needs no second lookup */
	__u8 pending;
	__u8 pad;
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

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
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

/* Syscall numbers of the calls that carry HTTP and FastCGI (arch-specific). */
#if defined(__TARGET_ARCH_x86)
#define NR_READ	    0
#define NR_WRITE    1
#define NR_CLOSE    3
#define NR_READV    19
#define NR_WRITEV   20
#define NR_SENDTO   44
#define NR_RECVFROM 45
#define NR_SENDMSG  46
#define NR_RECVMSG  47
#elif defined(__TARGET_ARCH_arm64)
#define NR_CLOSE    57
#define NR_READ	    63
#define NR_WRITE    64
#define NR_READV    65
#define NR_WRITEV   66
#define NR_SENDTO   206
#define NR_RECVFROM 207
#define NR_SENDMSG  211
#define NR_RECVMSG  212
#else
#error "syscall numbers for this architecture"
#endif

static __always_inline void count(__u32 which)
{
	__u64 *v = bpf_map_lookup_elem(&http_counters, &which);
	if (v)
		*v += 1;
}

static __always_inline int maybe_target(__u32 tgid)
{
	__u32 word = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(&target_bits, &word);
	if (!w)
		return 1; /* beyond the bitmap (pid_max raised after start): the hash decides */
	return (*w >> (tgid & 63)) & 1;
}

static __always_inline void set_target_bit(__u32 tgid, int on)
{
	__u32 word = tgid / 64;
	__u64 *w = bpf_map_lookup_elem(&target_bits, &word);
	if (!w)
		return;
	if (on)
		__sync_fetch_and_or(w, 1ull << (tgid & 63));
	else
		__sync_fetch_and_and(w, ~(1ull << (tgid & 63)));
}

static __always_inline void emit(__u32 tgid, __u8 kind, __u8 runtime)
{
	struct http_event *e = bpf_ringbuf_reserve(&http_events, sizeof(*e), 0);
	if (!e)
		return; /* userspace also rescans /proc periodically */
	e->tgid = tgid;
	e->kind = kind;
	e->runtime = runtime;
	e->pad[0] = e->pad[1] = 0;
	bpf_ringbuf_submit(e, 0);
}

/* The first bucket whose bound is >= d (Prometheus le), or nbuckets for +Inf. */
static __always_inline __u32 bucket_of(__u64 d)
{
	__u32 i;
	for (i = 0; i < HTTP_MAX_BUCKETS; i++) {
		if (i >= nbuckets || d <= bucket_ns[i])
			break;
	}
	return i;
}

static __always_inline void record(__u8 runtime, __u8 method, __u16 status, __u64 d)
{
	struct http_hist_key k = {
		.cgroup_id = bpf_get_current_cgroup_id(),
		.status = status,
		.runtime = runtime,
		.method = method,
	};
	struct http_hist *h = bpf_map_lookup_elem(&hists, &k);

	if (!h) {
		struct http_hist zero = {};
		bpf_map_update_elem(&hists, &k, &zero, BPF_NOEXIST);
		h = bpf_map_lookup_elem(&hists, &k);
		if (!h) {
			count(HTTP_COUNTER_HIST_FULL);
			return;
		}
	}
	__u32 b = bucket_of(d);
	if (b <= HTTP_MAX_BUCKETS)
		h->buckets[b]++;
	h->sum_ns += d;
	h->count++;
}

static __always_inline __u64 process_start_ns(void)
{
	return bpf_get_current_task_btf()->group_leader->start_time;
}

/* Copies the first bytes at user address p (at most len) into b; returns how many. */
static __always_inline __u32 peek(__u8 *b, __u64 p, __u64 len)
{
	if (len > HTTP_PEEK)
		len = HTTP_PEEK;
	if (len == 0 || !p)
		return 0;
	if (bpf_probe_read_user(b, len, (const void *)p))
		return 0;
	return (__u32)len;
}

/* The first iovec of an array at user address iov: its base and length. */
static __always_inline __u64 first_iov(__u64 iov, __u64 *len)
{
	struct iovec v = {};
	if (bpf_probe_read_user(&v, sizeof(v), (const void *)iov))
		return 0;
	*len = v.iov_len;
	return (__u64)v.iov_base;
}

static __always_inline __u64 msg_first_iov(__u64 msg, __u64 *len)
{
	struct user_msghdr m = {};
	if (bpf_probe_read_user(&m, sizeof(m), (const void *)msg) || m.msg_iovlen < 1)
		return 0;
	return first_iov((__u64)m.msg_iov, len);
}

/* ---- HTTP mode: request line read on a connection, status line written on it ---- */

/*
 * A connection's entry stays from its first request to its close(): each
 * request and response then only writes fields in place, where an insert and
 * a delete per request would cost two hash updates.
 */
static __always_inline void http_on_read(__u32 tgid, __u32 fd, const __u8 *b, __u32 n)
{
	int method = http_parse_method(b, n);
	if (method < 0)
		return;
	struct http_conn_key key = { .tgid = tgid, .fd = fd };
	__u64 proc_start = process_start_ns();
	struct http_conn *c = bpf_map_lookup_elem(&conns, &key);
	if (c) {
		if (c->pending && c->proc_start_ns == proc_start) {
			/* documented policy: the first unanswered request is measured */
			count(HTTP_UNPAIRED_PIPELINED);
			return;
		}
		if (c->pending)
			count(HTTP_UNPAIRED_STALE);
		c->start_ns = bpf_ktime_get_ns();
		c->proc_start_ns = proc_start;
		c->method = (__u8)method;
		c->pending = 1;
		return;
	}
	struct http_conn nc = { .start_ns = bpf_ktime_get_ns(),
				.proc_start_ns = proc_start,
				.method = (__u8)method,
				.pending = 1 };
	if (bpf_map_update_elem(&conns, &key, &nc, BPF_ANY))
		count(HTTP_UNPAIRED_STATE_FULL);
}

static __always_inline void http_on_write(const struct http_target *t, __u32 tgid, __u32 fd,
					  __u64 p, __u64 len)
{
	struct http_conn_key key = { .tgid = tgid, .fd = fd };
	struct http_conn *c = bpf_map_lookup_elem(&conns, &key);
	if (!c || !c->pending)
		return;
	__u8 b[HTTP_PEEK] = {};
	int status = http_parse_status(b, peek(b, p, len));
	if (status < 200)
		return; /* not a status line, or 1xx: the final response is still to come */
	__u64 now = bpf_ktime_get_ns();
	if (c->proc_start_ns != process_start_ns())
		count(HTTP_UNPAIRED_STALE);
	else
		record(t->runtime, c->method, (__u16)status, now - c->start_ns);
	c->pending = 0;
}

static __always_inline void http_on_close(__u32 tgid, __u32 fd)
{
	struct http_conn_key key = { .tgid = tgid, .fd = fd };
	struct http_conn *c = bpf_map_lookup_elem(&conns, &key);
	if (!c)
		return;
	if (c->pending)
		count(HTTP_UNPAIRED_CLOSED);
	bpf_map_delete_elem(&conns, &key);
}

#include "php.bpf.h"
#include "targets.bpf.h"

/* ---- syscall hooks ---- */

static __always_inline int is_read(long id)
{
	return id == NR_READ || id == NR_READV || id == NR_RECVFROM || id == NR_RECVMSG;
}

static __always_inline int is_write(long id)
{
	return id == NR_WRITE || id == NR_WRITEV || id == NR_SENDTO || id == NR_SENDMSG;
}

/* The target of the current process, or NULL; the cheap tests come first. */
static __always_inline struct http_target *current_target(__u32 tgid)
{
	if (!maybe_target(tgid))
		return NULL;
	return bpf_map_lookup_elem(&targets, &tgid);
}

/*
 * Syscall arguments: tp_btf hands a BTF-typed pt_regs that is read directly;
 * raw_tp needs probe reads. direct is a constant, so each twin compiles to one path.
 */
#if defined(__TARGET_ARCH_x86)
#define ARG1(r) ((r)->di)
#define ARG2(r) ((r)->si)
#define ARG3(r) ((r)->dx)
#elif defined(__TARGET_ARCH_arm64)
#define ARG1(r) ((r)->orig_x0)
#define ARG2(r) ((r)->regs[1])
#define ARG3(r) ((r)->regs[2])
#endif

static __always_inline __u64 arg_of(struct pt_regs *regs, int n, int direct)
{
	if (direct)
		return n == 1 ? ARG1(regs) : n == 2 ? ARG2(regs) : ARG3(regs);
	return n == 1	? PT_REGS_PARM1_CORE_SYSCALL(regs)
	       : n == 2 ? PT_REGS_PARM2_CORE_SYSCALL(regs)
			: PT_REGS_PARM3_CORE_SYSCALL(regs);
}

static __always_inline int on_enter(struct pt_regs *regs, long id, int direct)
{
	if (!is_read(id) && !is_write(id) && id != NR_CLOSE)
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	struct http_target *t = current_target(tgid);
	if (!t)
		return 0;

	__u32 fd = (__u32)arg_of(regs, 1, direct);
	__u64 arg2 = arg_of(regs, 2, direct);
	if (is_read(id)) {
		if (t->mode == HTTP_MODE_PHP_USDT)
			return 0; /* USDT mode needs only the worker's writes */
		struct read_args *a = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0,
							   BPF_LOCAL_STORAGE_GET_F_CREATE);
		if (!a)
			return 0;
		a->ptr = arg2;
		a->fd = fd;
		a->kind = id == NR_READV ? READ_IOV : id == NR_RECVMSG ? READ_MSG : READ_BUF;
		a->mode = t->mode;
		a->pending = 1;
		return 0;
	}
	if (id == NR_CLOSE) {
		if (t->mode == HTTP_MODE_HTTP)
			http_on_close(tgid, fd);
		return 0;
	}
	__u64 p = arg2, len = arg_of(regs, 3, direct);
	if (id == NR_WRITEV)
		p = first_iov(arg2, &len);
	else if (id == NR_SENDMSG)
		p = msg_first_iov(arg2, &len);
	if (t->mode == HTTP_MODE_HTTP)
		http_on_write(t, tgid, fd, p, len);
	else
		php_on_write(t, pid_tgid, fd, p, len);
	return 0;
}

static __always_inline int on_exit(long id, long ret)
{
	if (!is_read(id))
		return 0;
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	__u32 tgid = pid_tgid >> 32;
	if (!maybe_target(tgid))
		return 0;
	/* only a target's sys_enter stored arguments: no second lookup of the target */
	struct read_args *ap = bpf_task_storage_get(&reads, bpf_get_current_task_btf(), 0, 0);
	if (!ap || !ap->pending)
		return 0;
	struct read_args a = *ap;
	ap->pending = 0;
	if (ret <= 0)
		return 0;

	__u64 p = a.ptr, len = (__u64)ret;
	if (a.kind != READ_BUF) {
		__u64 first = 0;
		p = a.kind == READ_IOV ? first_iov(a.ptr, &first) : msg_first_iov(a.ptr, &first);
		if (first < len)
			len = first;
	}
	__u8 b[HTTP_PEEK] = {};
	__u32 n = peek(b, p, len);
	if (a.mode == HTTP_MODE_HTTP)
		http_on_read(tgid, a.fd, b, n);
	else if (a.mode == HTTP_MODE_PHP_FCGI)
		php_on_read(pid_tgid, a.fd, b, n, p, len);
	return 0;
}

/* The syscall number at sys_exit, from the registers (the tracepoint does not pass it). */
#if defined(__TARGET_ARCH_x86)
#define SYSCALL_NR_FIELD orig_ax
#elif defined(__TARGET_ARCH_arm64)
#define SYSCALL_NR_FIELD syscallno
#endif
#define SYSCALL_NR(regs) ((regs)->SYSCALL_NR_FIELD)

SEC("tp_btf/sys_enter")
int BPF_PROG(http_sys_enter, struct pt_regs *regs, long id)
{
	return on_enter(regs, id, 1);
}

SEC("raw_tp/sys_enter")
int BPF_PROG(http_sys_enter_raw, struct pt_regs *regs, long id)
{
	return on_enter(regs, id, 0);
}

/* tp_btf: regs is a BTF pointer, read directly; raw_tp: through a probe read */
SEC("tp_btf/sys_exit")
int BPF_PROG(http_sys_exit, struct pt_regs *regs, long ret)
{
	return on_exit((long)SYSCALL_NR(regs), ret);
}

SEC("raw_tp/sys_exit")
int BPF_PROG(http_sys_exit_raw, struct pt_regs *regs, long ret)
{
	struct pt_regs *r = regs;
	return on_exit((long)BPF_CORE_READ(r, SYSCALL_NR_FIELD), ret);
}

/* ---- PHP USDT ---- */

SEC("usdt")
int BPF_USDT(php_request_startup, void *file, void *uri, void *method)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct http_target *t = current_target(tgid);
	if (!t || t->mode != HTTP_MODE_PHP_USDT)
		return 0;
	struct http_php_req r = { .start_ns = bpf_ktime_get_ns(),
				  .method = (__u8)php_method((__u64)method) };
	if (bpf_map_update_elem(&php_reqs, &id, &r, BPF_ANY))
		count(HTTP_UNPAIRED_STATE_FULL);
	return 0;
}

SEC("usdt")
int BPF_USDT(php_request_shutdown, void *file, void *uri, void *method)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct http_target *t = bpf_map_lookup_elem(&targets, &tgid);
	if (!t || t->mode != HTTP_MODE_PHP_USDT)
		return 0;
	struct http_php_req *r = bpf_map_lookup_elem(&php_reqs, &id);
	if (!r) {
		count(HTTP_UNPAIRED_NO_START);
		return 0;
	}
	php_end(t, id, r);
	return 0;
}

/* ---- targets: exec, fork, exit ---- */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(http_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(p, bprm);
	return 0;
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(http_exec_raw, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	on_exec(p, bprm);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(http_fork, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(http_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	on_fork(parent, child);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(http_exit, struct task_struct *p)
{
	on_process_exit(p);
	return 0;
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(http_exit_raw, struct task_struct *p)
{
	on_process_exit(p);
	return 0;
}
