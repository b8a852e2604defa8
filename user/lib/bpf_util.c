/* lib/bpf_util.c — what the BPF collectors share: kernel run-time statistics, libbpf's messages
 * in the structured log, tracepoint BTF probing, per-CPU counter sums. */
#include "lib/bpf_util.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

/* Stats enabled through BPF_ENABLE_STATS do not show in the sysctl, so remember them. */
static bool stats_fd_held;

int bpf_util_stats_enable(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		return -errno;
	stats_fd_held = true;
	return fd;
}

bool bpf_util_stats_active(void)
{
	char c = '0';

	if (stats_fd_held)
		return true;
	int fd = open("/proc/sys/kernel/bpf_stats_enabled", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, &c, 1);
	close(fd);
	return n == 1 && c != '0';
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/*
	 * Debug level even for libbpf's warnings: a failing collector already logs
	 * one line with the reason, and libbpf repeats it over several lines
	 * (the verifier log included) that matter only when digging deeper.
	 */
	enum log_level ours = LOG_DEBUG;
	(void)level;
	char text[1024];

	if (!log_enabled(ours))
		return 0;
	vsnprintf(text, sizeof(text), fmt, ap);
	size_t len = strlen(text);
	while (len && text[len - 1] == '\n')
		text[--len] = '\0';
	log_event(ours, "libbpf", "detail", text, (char *)NULL);
	return 0;
}

void bpf_util_route_libbpf_log(void)
{
	libbpf_set_print(libbpf_print);
}

/* tp_btf needs the tracepoint's BTF type; kernels without it get the raw_tp twin. */
bool bpf_util_has_btf_tracepoint(const char *name)
{
	char type[128];
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	bool found = btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF) > 0;
	btf__free(btf);
	return found;
}

int bpf_util_tracepoint_args(const char *name, bool *is_ptr, int max)
{
	char type[128];
	struct btf *btf = btf__load_vmlinux_btf();
	int n = -ENOENT;

	if (!btf)
		return -errno ? -errno : -ENOENT;
	snprintf(type, sizeof(type), "btf_trace_%s", name);
	/* typedef btf_trace_<name> -> pointer -> prototype (void *ctx, the tracepoint's arguments)
	 */
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_TYPEDEF);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	if (t)
		t = btf__type_by_id(btf, t->type);
	if (t && btf_is_ptr(t))
		t = btf__type_by_id(btf, t->type);
	if (t && btf_is_func_proto(t) && btf_vlen(t) >= 1) {
		n = btf_vlen(t) - 1;
		for (int i = 0; i < n && i < max; i++) {
			const struct btf_type *arg =
				btf__type_by_id(btf, btf_params(t)[i + 1].type);
			while (arg && (btf_is_mod(arg) || btf_is_typedef(arg)))
				arg = btf__type_by_id(btf, arg->type);
			is_ptr[i] = arg && btf_is_ptr(arg);
		}
	}
	btf__free(btf);
	return n;
}

uint64_t bpf_util_percpu_sum(int map_fd, uint32_t key, int ncpus)
{
	uint64_t vals[ncpus > 0 ? ncpus : 1];
	uint64_t sum = 0;

	memset(vals, 0, sizeof(vals)); /* memory checkers see the per-CPU values as written */
	if (bpf_map_lookup_elem(map_fd, &key, vals))
		return 0;
	for (int c = 0; c < ncpus; c++)
		sum += vals[c];
	return sum;
}

int bpf_util_iter_run(struct bpf_link *link)
{
	char buf[256];
	ssize_t n;
	int fd = bpf_iter_create(bpf_link__fd(link));

	if (fd < 0)
		return -errno;
	/* the walk runs inside read(), which returns 0 at the end; EAGAIN: the kernel stopped after
	 * a million objects in one read, and the next read goes on from there */
	do
		n = read(fd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)));
	int rc = n < 0 ? -errno : 0;
	close(fd);
	return rc;
}
