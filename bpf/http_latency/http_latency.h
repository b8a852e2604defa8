/* http_latency/http_latency.h — structs shared by bpf/http_latency/http_latency.bpf.c and the http
 * latency collector (user/http_latency/http_latency.c). */
#ifndef HOSTMON_BPF_HTTP_LATENCY_HTTP_LATENCY_H
#define HOSTMON_BPF_HTTP_LATENCY_HTTP_LATENCY_H

/* The fixed-width types: vmlinux.h's in a BPF program, the UAPI ones in user space. */
#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#define HTTP_MAX_BUCKETS 32 /* finite bounds; one more slot holds +Inf */
/* bytes of a buffer looked at: "HTTP/1.1 200 " or a FastCGI header + "Status: 404" */
#define HTTP_PEEK      24
#define HTTP_MAX_NAMES 8 /* executable names that make a process a target */
#define HTTP_NAME_LEN  16

/*
 * Routes. A request's route is a 64-bit key made in the kernel from its path
 * (bpf/http_latency/route.bpf.h): a configured pattern's key when one
 * matches, else the key of the path with id-like segments folded to ":id"
 * and the query dropped. HTTP_ROUTE_NONE: no path known; HTTP_ROUTE_OTHER:
 * past the per-cgroup cap of distinct routes. Real keys are never 0 or 1.
 */
#define HTTP_ROUTE_LEN		96 /* path bytes looked at (and kept for the label) */
#define HTTP_ROUTE_MAX_SEGS	8  /* segments a pattern may have */
#define HTTP_MAX_ROUTE_PATTERNS 16
#define HTTP_ROUTE_NONE		0
#define HTTP_ROUTE_OTHER	1

/* --http-routes, compiled by user space into .rodata: one per pattern, segments as hashes */
struct http_route_pattern {
	__u8 nsegs; /* segments before a trailing "*" (or all of them) */
	__u8 star;  /* ends in "*": matches any rest, including nothing */
	__u8 pad[6];
	__u64 seg_hash[HTTP_ROUTE_MAX_SEGS]; /* 0: a parameter (":name") matching any one segment */
	__u64 key;			     /* the route key of this pattern */
};
_Static_assert(sizeof(struct http_route_pattern) == 8 + 8 * HTTP_ROUTE_MAX_SEGS + 8,
	       "http_route_pattern layout");

/* routes: key -> the first path seen with it, for the label (user space folds it again) */
struct http_route {
	__u8 pattern; /* 0: default folding of path; k: configured pattern k - 1 */
	__u8 len;     /* bytes of path */
	__u8 pad[6];
	char path[HTTP_ROUTE_LEN];
};
_Static_assert(sizeof(struct http_route) == 8 + HTTP_ROUTE_LEN, "http_route layout");

/* route_seen: which (cgroup, route) pairs hold a place under the cap */
struct http_route_seen_key {
	__u64 cgroup_id;
	__u64 route;
};
_Static_assert(sizeof(struct http_route_seen_key) == 16, "http_route_seen_key layout");

/* The runtime label of a target's requests; 0: unknown (label "http"). */
enum http_runtime {
	HTTP_RUNTIME_NODE = 1,
	HTTP_RUNTIME_PHP = 2,
	HTTP_RUNTIME_NGINX = 3,
	HTTP_RUNTIME_HTTP = 4, /* any other HTTP/1.x server */
};

/* How a target's requests are seen. */
enum http_mode {
	HTTP_MODE_HTTP =
		1, /* HTTP/1.x on its TCP sockets, seen by cgroup_skb (node, nginx, php -S) */
	HTTP_MODE_PHP_USDT = 2, /* php:request__startup/__shutdown, status from FastCGI output */
	HTTP_MODE_PHP_FCGI = 3, /* FastCGI records on its sockets (php-fpm without USDT) */
};

enum http_method {
	HTTP_METHOD_OTHER = 0,
	HTTP_METHOD_GET,
	HTTP_METHOD_HEAD,
	HTTP_METHOD_POST,
	HTTP_METHOD_PUT,
	HTTP_METHOD_DELETE,
	HTTP_METHOD_PATCH,
	HTTP_METHOD_OPTIONS,
	HTTP_METHOD_CONNECT,
	HTTP_METHOD_TRACE,
	HTTP_METHOD_N,
};

/* Requests begun but never measured, by reason (and kernel-side health counters). */
enum http_counter {
	HTTP_UNPAIRED_CLOSED = 0, /* the connection was closed before a response */
	HTTP_UNPAIRED_PIPELINED,  /* a request arrived while one was unanswered (not measured) */
	HTTP_UNPAIRED_STALE,	  /* the state belonged to an earlier process with the same pid */
	HTTP_UNPAIRED_NO_START,	  /* an end (PHP shutdown, END_REQUEST) without its start */
	HTTP_UNPAIRED_STATE_FULL, /* no socket or task storage for the request */
	HTTP_UNPAIRED_EXIT,	  /* the server process ended with the request unanswered */
	HTTP_UNPAIRED_N,
	HTTP_COUNTER_HIST_FULL = HTTP_UNPAIRED_N, /* histogram map full: a measurement dropped */
	HTTP_COUNTER_TARGETS_FULL,		  /* a new target could not be added */
	HTTP_COUNTER_ROUTES_FOLDED, /* requests counted under route "other" (per-cgroup cap) */
	HTTP_COUNTER_N,
};

/* targets: key __u32 tgid */
struct http_target {
	__u8 runtime; /* enum http_runtime */
	__u8 mode;    /* enum http_mode */
	__u16 pool;   /* PHP-FPM: the worker's pool (phpfpm.h), set by user space; 0: none */
	__u8 pad[4];
};
_Static_assert(sizeof(struct http_target) == 8, "http_target layout");

/*
 * HTTP mode, per TCP socket (socket storage). Request and response are usually seen on two CPUs
 * (the segment's receive softirq, the server's send), so the state is split by writer: each half
 * is written by one side only and read by the other, and the line that moves between the CPUs
 * moves once per request instead of twice each way. The kernel keeps a storage's data one word
 * after the start of a cache line (the word is the map pointer its lookup reads), so `out` and
 * its padding fill that line and `in` the next (HTTP_FLOW_LINE: the data bytes of the first).
 */
#define HTTP_FLOW_RESPONSES 4 /* responses kept until the receive side reads them */
#define HTTP_FLOW_LINE	    56

/* Written by egress (the response side): the final status lines sent on the socket. */
struct http_flow_out {
	__u32 answered; /* how many; response i answers request i (HTTP/1.x answers in order) */
	/* response i in [i % HTTP_FLOW_RESPONSES] */
	__u16 status[HTTP_FLOW_RESPONSES];
	__u32 pad;
	__u64 end_ns[HTTP_FLOW_RESPONSES]; /* when its first byte left */
};

/* Written by ingress (the request side), which also records the measured request. */
struct http_flow_in {
	__u64 start_ns;	 /* when the measured request's first byte reached the socket */
	__u64 route;	 /* its route, as admitted */
	__u32 requests;	 /* request lines seen (response i answers request i) */
	__u32 waits_for; /* the index of the response the measured request waits for */
	__u32 seq; /* TCP sequence number of the last request line: the same segment again is none
		    */
	__u8 measuring; /* the measured request is still to be recorded (or counted unpaired) */
	__u8 method;
	__u8 runtime; /* the cgroup's label, looked up once per connection */
	__u8 pad;
	/* a hash of the last request's first payload bytes (its method and target): the same bytes
	 * again are the same route, without making it again */
	__u64 last_hash;
	__u32 last_len;
	__u32 pad2;
};

struct http_flow {
	struct http_flow_out out;
	__u8 pad[HTTP_FLOW_LINE - sizeof(struct http_flow_out)];
	struct http_flow_in in;
};
_Static_assert(sizeof(struct http_flow_out) <= HTTP_FLOW_LINE, "http_flow: out fills one line");
_Static_assert(__builtin_offsetof(struct http_flow, in) == HTTP_FLOW_LINE &&
		       sizeof(struct http_flow_in) <= 64,
	       "http_flow: in starts the next line and fits it");

/* skb_cgroups: cgroup id -> what its sockets' requests are labelled (set with the attachment) */
struct http_skb_cgroup {
	__u8 runtime;
	__u8 pad[7];
};
_Static_assert(sizeof(struct http_skb_cgroup) == 8, "http_skb_cgroup layout");

/* in-flight PHP requests: one per worker thread, in task storage (freed with the thread) */
struct http_php_req {
	__u64 start_ns;
	__u64 route; /* from the request URI (USDT) or REQUEST_URI (FastCGI) */
	__u32 fd;    /* FastCGI mode: the connection the request came on */
	__u16 status;
	__u8 method;
	__u8 params_next; /* FastCGI mode: the next read is a FCGI_PARAMS body */
	__u32 params_len;
	__u8 active; /* a request started and has not ended */
	__u8 pad;
	__u16 pool; /* the pool it is counted in flight in (phpfpm.bpf.h); 0: none */
	/* The route last made on this thread, kept from request to request (a new request clears
	 * what is above): the same URI bytes in the same cgroup again reuse it (php_route_memo). */
	__u64 memo_hash; /* http_route_bytes_hash() of the URI bytes */
	__u64 memo_cgroup;
	__u64 memo_route; /* 0: none */
};
_Static_assert(sizeof(struct http_php_req) == 56 &&
		       __builtin_offsetof(struct http_php_req, memo_hash) == 32,
	       "http_php_req layout");

/*
 * A CPU's walk over an FCGI_PARAMS body (php_params): where it is, what it found, and a window of
 * PHP_PARAMS_WINDOW bytes of the body, with room past the last so that what a pair's walk looks
 * at from any index inside the window (its lengths, up to 8 bytes; a 14-byte name; 8 bytes of
 * its value: PHP_PAIR_LOOK) stays inside the map value, as the verifier asks. In a map value,
 * not on the stack: the verifier does not track map contents, so the walk's bpf_loop()
 * callback converges where growing offsets on the stack would keep its states apart.
 */
#define PHP_PARAMS_WINDOW 512 /* a power of two: the read's length is masked with it */
#define PHP_PAIR_LOOK	  30
struct php_params_window {
	__u64 p, len;	  /* the body: user address and length */
	__u64 base, have; /* the window holds body bytes [base, base + have) */
	__u64 off;	  /* the next pair's */
	__u64 uri;	  /* REQUEST_URI's value: user address (0: not seen) and length */
	__u32 uri_len;
	__u8 method; /* REQUEST_METHOD's, when method_seen */
	__u8 method_seen;
	__u8 pad[2];
	__u8 b[PHP_PARAMS_WINDOW + PHP_PAIR_LOOK + 2];
};

/* histograms: one per label set, shared by all CPUs (atomic adds): its memory does not grow with
 * the CPU count */
struct http_hist_key {
	__u64 cgroup_id;
	__u64 route; /* HTTP_ROUTE_NONE, HTTP_ROUTE_OTHER or a key of routes */
	__u16 status;
	__u8 runtime;
	__u8 method;
	__u32 pad;
};
_Static_assert(sizeof(struct http_hist_key) == 24, "http_hist_key layout");

/* No count: it is the sum of the buckets, which user space adds up anyway; one atomic add fewer
 * per request, and a scrape can never see a count that disagrees with its buckets. */
struct http_hist {
	__u64 buckets[HTTP_MAX_BUCKETS + 1]; /* not cumulative; [nbuckets] is +Inf */
	__u64 sum_ns;
};
_Static_assert(sizeof(struct http_hist) == (HTTP_MAX_BUCKETS + 2) * 8, "http_hist layout");

/* ring buffer: a target appeared (exec, fork) or its process ended */
enum http_event_kind {
	HTTP_EVENT_NEW = 1,
	HTTP_EVENT_EXIT = 2,
};

struct http_event {
	__u32 tgid;
	__u8 kind;
	__u8 runtime;
	__u8 pad[2];
};
_Static_assert(sizeof(struct http_event) == 8, "http_event layout");

#endif
