/* core/sys.c — startup checks of what BPF collectors need: privileges, BTF, bpffs, tracefs. */
#include "core/sys.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef TRACEFS_MAGIC
#define TRACEFS_MAGIC 0x74726163
#endif

static bool has_cap(const struct __user_cap_data_struct *data, int cap)
{
	return data[cap / 32].effective & (1u << (cap % 32));
}

static bool fs_is(const char *path, long magic)
{
	struct statfs sfs;
	return statfs(path, &sfs) == 0 && (long)sfs.f_type == magic;
}

/* Mounts fstype at path if it is not there yet and we may; returns whether it is there now. */
static bool ensure_mounted(const char *path, const char *fstype, long magic, bool may_mount,
			   const char *needed_for)
{
	if (fs_is(path, magic))
		return true;
	if (may_mount && mount(fstype, path, fstype, 0, NULL) == 0) {
		log_info("mounted filesystem", "fs", fstype, "path", path);
		return true;
	}
	log_warn("filesystem not available", "fs", fstype, "path", path, "needed_for", needed_for,
		 "reason", may_mount ? strerror(errno) : "not allowed to mount");
	return false;
}

void sys_check(struct sys_status *st)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
	bool sys_admin = false;

	memset(st, 0, sizeof(*st));
	if (syscall(SYS_capget, &hdr, data) == 0) {
		sys_admin = has_cap(data, CAP_SYS_ADMIN);
		st->bpf_privileged =
			sys_admin || (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON));
	}
	if (!st->bpf_privileged)
		log_error("insufficient privileges for BPF", "need",
			  "root, or CAP_BPF and CAP_PERFMON", "effect",
			  "BPF collectors will not start");

	st->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (!st->btf)
		log_error("kernel BTF not found", "path", "/sys/kernel/btf/vmlinux", "effect",
			  "CO-RE BPF collectors cannot load (needs CONFIG_DEBUG_INFO_BTF)");

	/* tracefs: tracepoint attachment looks up event ids there */
	st->tracefs = fs_is("/sys/kernel/debug/tracing", TRACEFS_MAGIC) ||
		      ensure_mounted("/sys/kernel/tracing", "tracefs", TRACEFS_MAGIC, sys_admin,
				     "tracepoint collectors");
	st->bpffs = ensure_mounted("/sys/fs/bpf", "bpf", BPF_FS_MAGIC, sys_admin,
				   "pinning BPF objects");
}

/* Stats enabled through BPF_ENABLE_STATS do not show in the sysctl, so remember them. */
static bool stats_fd_held;

int sys_bpf_stats_enable(void)
{
	int fd = bpf_enable_stats(BPF_STATS_RUN_TIME);
	if (fd < 0)
		return -errno;
	stats_fd_held = true;
	return fd;
}

bool sys_bpf_stats_active(void)
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

void sys_libbpf_logging(void)
{
	libbpf_set_print(libbpf_print);
}

/* tp_btf needs the tracepoint's BTF type; kernels without it get the raw_tp twin. */
bool sys_has_btf_tracepoint(const char *name)
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

uint64_t sys_percpu_counter(int map_fd, uint32_t key, int ncpus)
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
