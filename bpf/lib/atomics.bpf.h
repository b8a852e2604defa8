/* lib/atomics.bpf.h — 64-bit atomics that return the old value (fetch-add, exchange,
 * compare-and-swap), for objects built without alu32. */
#ifndef HOSTMON_BPF_LIB_ATOMICS_BPF_H
#define HOSTMON_BPF_LIB_ATOMICS_BPF_H

/*
 * API:
 *   atomic_fetch_add64(p, v): *p += v atomically; returns the old *p.
 *   atomic_xchg64(p, v): *p = v atomically; returns the old *p.
 *   atomic_cmpxchg64(p, old, new): *p = new if *p == old, atomically; returns the old *p.
 *   p points into a map value (the verifier checks it as for any store).
 *
 * Why by hand: clang emits these instructions (BPF_ATOMIC with BPF_FETCH, kernel 5.12) only with
 * alu32 code generation (-mcpu=v3), and alu32 makes other programs of an object fail the
 * verifier (http_latency's FastCGI parser exceeds its 1M-instruction budget). So each is one
 * instruction written as bytes, its registers pinned: dst (the pointer) r2, src (the value) r1,
 * r0 for compare-and-swap's expected value; byte 1 holds dst in its low and src in its high
 * nibble (little-endian hosts; the Makefile builds for x86 and arm64).
 */

#include "vmlinux.h"

static __always_inline __u64 atomic_fetch_add64(__u64 *p, __u64 v)
{
	register __u64 val asm("r1") = v;
	register __u64 *ptr asm("r2") = p;
	/* r1 = atomic_fetch_add((u64 *)(r2 + 0), r1): BPF_STX|BPF_DW|BPF_ATOMIC, BPF_ADD|BPF_FETCH
	 */
	asm volatile(".byte 0xdb, 0x12, 0, 0, 0x01, 0, 0, 0" : "+r"(val) : "r"(ptr) : "memory");
	return val;
}

static __always_inline __u64 atomic_xchg64(__u64 *p, __u64 v)
{
	register __u64 val asm("r1") = v;
	register __u64 *ptr asm("r2") = p;
	/* r1 = xchg_64(r2 + 0, r1): BPF_XCHG */
	asm volatile(".byte 0xdb, 0x12, 0, 0, 0xe1, 0, 0, 0" : "+r"(val) : "r"(ptr) : "memory");
	return val;
}

static __always_inline __u64 atomic_cmpxchg64(__u64 *p, __u64 old, __u64 new)
{
	register __u64 expected asm("r0") = old;
	register __u64 val asm("r1") = new;
	register __u64 *ptr asm("r2") = p;
	/* r0 = cmpxchg_64(r2 + 0, r0, r1): BPF_CMPXCHG */
	asm volatile(".byte 0xdb, 0x12, 0, 0, 0xf1, 0, 0, 0"
		     : "+r"(expected)
		     : "r"(val), "r"(ptr)
		     : "memory");
	return expected;
}

#endif
