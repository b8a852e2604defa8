// SPDX-License-Identifier: GPL-2.0
/* http.bpf.c — HTTP request latency of node and PHP servers, as histograms built in the kernel. */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "http_latency.h"
#include "http_parse.bpf.h"

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
	__u8 runtime;
	__u8 pending;
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
static __always_inline void http_on_read(const struct http_target *t, __u32 tgid, __u32 fd,
					 const __u8 *b, __u32 n)
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

/* ---- PHP: a worker's request, started by USDT or FCGI_BEGIN_REQUEST ---- */

static __always_inline void php_end(const struct http_target *t, __u64 id, struct http_php_req *r)
{
	record(t->runtime, r->method, r->status ? r->status : 200,
	       bpf_ktime_get_ns() - r->start_ns);
	bpf_map_delete_elem(&php_reqs, &id);
}

/*
 * A worker writes FastCGI records: the first FCGI_STDOUT gives the status, an
 * FCGI_END_REQUEST ends the request (FastCGI mode). php-fpm writes them with
 * write(2), several records in one buffer: walk at most 8 headers.
 */
static __always_inline void php_on_write(const struct http_target *t, __u64 id, __u32 fd, __u64 p,
					 __u64 len)
{
	struct http_php_req *r = bpf_map_lookup_elem(&php_reqs, &id);
	if (!r)
		return;
	if (t->mode == HTTP_MODE_PHP_FCGI && r->fd != fd)
		return;
	__u64 off = 0;
	for (int i = 0; i < 8; i++) {
		__u8 b[HTTP_PEEK] = {};
		__u32 clen, pad;
		if (off >= len)
			return;
		__u32 n = peek(b, p + off, len - off);
		int type = fcgi_parse_header(b, n, &clen, &pad);
		if (type < 0)
			return;
		if (type == FCGI_STDOUT && r->status == 0) {
			int s = fcgi_parse_stdout_status(b, n);
			r->status = s > 0 ? (__u16)s : 200;
		}
		if (type == FCGI_END_REQUEST && t->mode == HTTP_MODE_PHP_FCGI) {
			php_end(t, id, r);
			return;
		}
		off += FCGI_HEADER_LEN + clen + pad;
	}
}

/* REQUEST_METHOD from an FCGI_PARAMS body (name-value pairs): at most 16 pairs are looked at. */
static __always_inline void php_params(struct http_php_req *r, __u64 p, __u64 len)
{
	__u64 off = 0;
	for (int i = 0; i < 16; i++) {
		__u8 b[HTTP_PEEK] = {};
		__u32 n = peek(b, p + off, len > off ? len - off : 0);
		if (n < 2)
			return;
		__u32 nlen, vlen, at;
		/* lengths: one byte, or four with the high bit set; constant indexes only (a
		 * variable index into the stack buffer becomes pointer arithmetic the verifier
		 * refuses) */
		if (b[0] & 0x80) {
			if (n < 8)
				return;
			nlen = ((__u32)(b[0] & 0x7f) << 24) | ((__u32)b[1] << 16) |
			       ((__u32)b[2] << 8) | b[3];
			if (b[4] & 0x80)
				vlen = ((__u32)(b[4] & 0x7f) << 24) | ((__u32)b[5] << 16) |
				       ((__u32)b[6] << 8) | b[7];
			else
				vlen = b[4];
			at = b[4] & 0x80 ? 8 : 5;
		} else {
			nlen = b[0];
			if (b[1] & 0x80)
				vlen = ((__u32)(b[1] & 0x7f) << 24) | ((__u32)b[2] << 16) |
				       ((__u32)b[3] << 8) | b[4];
			else
				vlen = b[1];
			at = b[1] & 0x80 ? 5 : 2;
		}
		if (nlen == 14) {
			__u8 name[HTTP_PEEK] = {};
			if (peek(name, p + off + at, 14) == 14 && name[0] == 'R' &&
			    name[1] == 'E' && name[2] == 'Q' && name[3] == 'U' && name[8] == 'M' &&
			    name[13] == 'D') {
				__u8 v[HTTP_PEEK] = {};
				__u32 vn = peek(v, p + off + at + 14, vlen < 8 ? vlen : 8);
				if (vn >= 3 && vn < 8)
					r->method = (__u8)http_known_method(v, vn);
				return;
			}
		}
		off += at + nlen + vlen;
	}
}

static __always_inline void php_on_read(const struct http_target *t, __u64 id, __u32 fd,
					const __u8 *b, __u32 n, __u64 p, __u64 got)
{
	struct http_php_req *r = bpf_map_lookup_elem(&php_reqs, &id);
	__u32 clen, pad;

	if (r && r->params_next && r->fd == fd) {
		r->params_next = 0;
		php_params(r, p, got < r->params_len ? got : r->params_len);
		return;
	}
	int type = fcgi_parse_header(b, n, &clen, &pad);
	if (type == FCGI_BEGIN_REQUEST) {
		struct http_php_req nr = { .start_ns = bpf_ktime_get_ns(), .fd = fd };
		if (r)
			count(HTTP_UNPAIRED_NO_START); /* the previous one never ended */
		if (bpf_map_update_elem(&php_reqs, &id, &nr, BPF_ANY))
			count(HTTP_UNPAIRED_STATE_FULL);
	} else if (type == FCGI_PARAMS && r && r->fd == fd && clen && n == FCGI_HEADER_LEN) {
		r->params_next = 1;
		r->params_len = clen;
	}
}

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
		a->runtime = t->runtime;
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
	struct http_target t = { .runtime = a.runtime, .mode = a.mode };
	if (a.mode == HTTP_MODE_HTTP)
		http_on_read(&t, tgid, a.fd, b, n);
	else if (a.mode == HTTP_MODE_PHP_FCGI)
		php_on_read(&t, pid_tgid, a.fd, b, n, p, len);
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

static __always_inline int php_method(__u64 str)
{
	__u8 v[HTTP_PEEK] = {};
	long n = bpf_probe_read_user_str(v, 9, (const void *)str);
	if (n < 4 || n > 8)
		return HTTP_METHOD_OTHER;
	return http_known_method(v, (__u32)n - 1);
}

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

/* Which configured name matches the executable's file name at kernel address filename. */
static __always_inline int match_name(const char *filename)
{
	char path[64] = {};
	long n = bpf_probe_read_kernel_str(path, sizeof(path), filename);
	if (n <= 0)
		return -1;
	__u32 base = 0;
	for (__u32 i = 0; i < sizeof(path); i++) {
		if (path[i] == '\0')
			break;
		if (path[i] == '/')
			base = i + 1;
	}
	for (__u32 k = 0; k < HTTP_MAX_NAMES; k++) {
		if (k >= ntargets_names)
			break;
		int match = 1;
		for (__u32 j = 0; j < HTTP_NAME_LEN; j++) {
			char want = target_names[k][j];
			__u32 at = base + j;
			char have = at < sizeof(path) ? path[at & (sizeof(path) - 1)] : 0;
			if (want == '\0') {
				match = have == '\0' || target_prefix[k];
				break;
			}
			if (have != want) {
				match = 0;
				break;
			}
		}
		if (match)
			return (int)k;
	}
	return -1;
}

static __always_inline void on_exec(struct task_struct *p, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);
	int k = match_name(BPF_CORE_READ(bprm, filename));
	if (k < 0 || k >= HTTP_MAX_NAMES) {
		if (bpf_map_delete_elem(&targets, &tgid) == 0) {
			set_target_bit(tgid, 0);
			emit(tgid, HTTP_EVENT_EXIT, 0); /* a target became another program */
		}
		return;
	}
	struct http_target t = { .runtime = target_runtime[k], .mode = target_mode[k] };
	if (bpf_map_update_elem(&targets, &tgid, &t, BPF_ANY)) {
		count(HTTP_COUNTER_TARGETS_FULL);
		return;
	}
	set_target_bit(tgid, 1);
	emit(tgid, HTTP_EVENT_NEW, t.runtime);
}

static __always_inline void on_fork(struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = BPF_CORE_READ(parent, tgid);
	__u32 ctgid = BPF_CORE_READ(child, tgid);
	if (ctgid == ptgid)
		return; /* a new thread, not a new process */
	struct http_target *t = bpf_map_lookup_elem(&targets, &ptgid);
	if (!t)
		return;
	struct http_target copy = *t;
	if (bpf_map_update_elem(&targets, &ctgid, &copy, BPF_ANY)) {
		count(HTTP_COUNTER_TARGETS_FULL);
		return;
	}
	set_target_bit(ctgid, 1);
	emit(ctgid, HTTP_EVENT_NEW, copy.runtime);
}

static __always_inline void on_process_exit(struct task_struct *p)
{
	__u32 pid = BPF_CORE_READ(p, pid), tgid = BPF_CORE_READ(p, tgid);
	if (pid != tgid)
		return;
	if (bpf_map_delete_elem(&targets, &tgid) == 0) {
		set_target_bit(tgid, 0);
		emit(tgid, HTTP_EVENT_EXIT, 0);
	}
}

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
