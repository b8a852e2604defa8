/* http_latency/route.bpf.h — PLACEHOLDER until the route normaliser lands: the whole path up to '?'
 * hashed, no folding, no patterns. */
#ifndef HOSTMON_BPF_HTTP_LATENCY_ROUTE_BPF_H
#define HOSTMON_BPF_HTTP_LATENCY_ROUTE_BPF_H

#include "http_latency.h"

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

static __always_inline __u64 http_route_key(const __u8 *path, __u32 len,
					    const struct http_route_pattern *pats, __u32 npats,
					    __u8 *pattern)
{
	__u64 h = 0xcbf29ce484222325ull;
	(void)pats;
	(void)npats;
	*pattern = 0;
	for (__u32 i = 0; i < HTTP_ROUTE_LEN; i++) {
		if (i >= len)
			break;
		__u8 c = path[i];
		if (c == ' ' || c == '?' || c == '#' || c == '\r' || c == '\n')
			break;
		h = (h ^ c) * 0x100000001b3ull;
	}
	return h > HTTP_ROUTE_OTHER ? h : 2;
}

#endif
