/* lib/plain_c.bpf.h — what a header written as plain C needs to compile both in a BPF program and
 * on the host (for unit tests and user space): the fixed-width types and __always_inline. */
#ifndef HOSTMON_BPF_LIB_PLAIN_C_BPF_H
#define HOSTMON_BPF_LIB_PLAIN_C_BPF_H

#ifdef __bpf__
#include "vmlinux.h"
#else
#include <linux/types.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#endif
