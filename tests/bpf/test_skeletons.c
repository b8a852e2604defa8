/* test_skeletons.c — every BPF skeleton in the tree opens, loads (passes the verifier) and
 * attaches. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "bpf/http_latency/http_latency.h" /* types the skeletons' .rodata uses */
#include "skel/skeletons.h"
#include "test.h"

static char last_libbpf_lines[8192];

/* Keep libbpf's warnings (a verifier rejection prints its log there) to show with the failing
 * check; its debug lines would fill the buffer before the verifier's. */
static int keep_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	size_t used = strlen(last_libbpf_lines);
	if (level == LIBBPF_DEBUG)
		return 0;
	if (used + 1 < sizeof(last_libbpf_lines))
		vsnprintf(last_libbpf_lines + used, sizeof(last_libbpf_lines) - used, fmt, ap);
	return 0;
}

static int skeletons_tested;

/*
 * Open, load and attach one skeleton. Programs libbpf cannot attach on its
 * own (perf_event: the collector opens the events) are loaded but not attached.
 */
#define TRY_SKELETON(name)                                                                    \
	do {                                                                                  \
		struct name *skel;                                                            \
		int err;                                                                      \
		last_libbpf_lines[0] = '\0';                                                  \
		skel = name##__open();                                                        \
		CHECK(skel != NULL, "%s: open: %d\n%s", #name, -errno, last_libbpf_lines);    \
		if (!skel)                                                                    \
			break;                                                                \
		err = name##__load(skel);                                                     \
		CHECK(err == 0, "%s: load: %d\n%s", #name, err, last_libbpf_lines);           \
		if (!err) {                                                                   \
			err = name##__attach(skel);                                           \
			CHECK(err == 0, "%s: attach: %d\n%s", #name, err, last_libbpf_lines); \
		}                                                                             \
		name##__destroy(skel);                                                        \
		skeletons_tested++;                                                           \
	} while (0);

int main(void)
{
	libbpf_set_print(keep_print);
	HOSTMON_SKELETONS(TRY_SKELETON)
	/* a tree with BPF programs but no skeleton tested here means the list is broken */
	CHECK(skeletons_tested > 0, "no skeletons found");
	return test_summary("test_skeletons");
}
