/* core/host_check.c — startup checks of what BPF collectors need: privileges, BTF, bpffs,
 * tracefs. */
#include "core/host_check.h"

#include <errno.h>
#include <linux/capability.h>
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

void host_check(struct host_status *st, bool bpf_needed)
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
	st->btf = access("/sys/kernel/btf/vmlinux", R_OK) == 0;
	if (!bpf_needed)
		return;
	if (!st->bpf_privileged)
		log_error("insufficient privileges for BPF", "need",
			  "root, or CAP_BPF and CAP_PERFMON", "effect",
			  "BPF collectors will not start");

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

void host_missing_bpf_caps(char *buf, size_t len)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = { { 0 } };
	/* CAP_NET_ADMIN: attaching cgroup_skb programs (the HTTP servers' cgroups) */
	static const struct {
		int cap;
		const char *name;
	} needed[] = { { CAP_BPF, "CAP_BPF" },
		       { CAP_PERFMON, "CAP_PERFMON" },
		       { CAP_NET_ADMIN, "CAP_NET_ADMIN" } };

	*buf = '\0';
	if (syscall(SYS_capget, &hdr, data) != 0) {
		snprintf(buf, len, "capabilities unreadable (%s)", strerror(errno));
		return;
	}
	if (has_cap(data, CAP_SYS_ADMIN))
		return;
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!has_cap(data, needed[i].cap))
			snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", *buf ? ", " : "",
				 needed[i].name);
}

void host_status_explain(const struct host_status *st, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s%s",
		 st->bpf_privileged ? "" : "no BPF privileges (root, or CAP_BPF and CAP_PERFMON); ",
		 st->btf ? "" : "no kernel BTF at /sys/kernel/btf/vmlinux; ",
		 st->tracefs ? "" : "tracefs not mounted; ",
		 st->bpffs ? "" : "bpffs not mounted; ");
	size_t n = strlen(buf);
	if (n >= 2)
		buf[n - 2] = '\0'; /* the last "; " */
}
