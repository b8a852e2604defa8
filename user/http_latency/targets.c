/* http_latency/targets.c — which processes the http_latency collector measures, PHP USDT, and
 * when the hooks that measure them are needed. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/log.h"
#include "http_latency/state.h"
#include "lib/proc.h"
#include "skel/http_latency.skel.h"

static int targets_fd(const struct http_latency *st)
{
	return bpf_map__fd(st->skel->maps.targets);
}

/* PHP's CLI is a target only as a web server: `php -S addr` (what artisan serve runs). */
static bool php_cli_serves(int pid)
{
	char path[64], args[4096];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, args, sizeof(args) - 1);
	close(fd);
	if (n <= 0)
		return false;
	args[n] = '\0';
	for (char *a = args; a < args + n; a += strlen(a) + 1)
		if (strncmp(a, "-S", 2) == 0)
			return true;
	return false;
}

/* Attaches the PHP request probes to the binary pid runs, once per binary (dev, inode). */
static bool usdt_ready(struct http_latency *st, int pid)
{
	char exe[64];
	struct stat sb;

	snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
	if (stat(exe, &sb) < 0)
		return false;
	for (size_t i = 0; i < st->nbinaries; i++)
		if (st->binaries[i].dev == sb.st_dev && st->binaries[i].ino == sb.st_ino)
			return st->binaries[i].ok;
	struct usdt_binary *b = realloc(st->binaries, (st->nbinaries + 1) * sizeof(*b));
	if (!b)
		return false;
	st->binaries = b;
	b = &st->binaries[st->nbinaries++];
	memset(b, 0, sizeof(*b));
	b->dev = sb.st_dev;
	b->ino = sb.st_ino;
	/* pid -1: every process running this file, including workers forked later */
	b->startup = bpf_program__attach_usdt(st->skel->progs.php_request_startup, -1, exe, "php",
					      "request__startup", NULL);
	b->shutdown = b->startup
			      ? bpf_program__attach_usdt(st->skel->progs.php_request_shutdown, -1,
							 exe, "php", "request__shutdown", NULL)
			      : NULL;
	b->ok = b->startup && b->shutdown;
	char real[4096] = "";
	ssize_t n = readlink(exe, real, sizeof(real) - 1);
	real[n > 0 ? n : 0] = '\0';
	if (b->ok) {
		log_info("php USDT probes attached", "collector", "http_latency", "binary", real);
	} else {
		bpf_link__destroy(b->startup);
		b->startup = NULL;
		log_info("php binary without usable USDT probes; measuring FastCGI on its sockets",
			 "collector", "http_latency", "binary", real, "reason", strerror(errno));
	}
	return b->ok;
}

void latency_targets_set_bit(struct http_latency *st, __u32 tgid, int on)
{
	if (!st->target_bits || tgid / 64 >= st->target_words)
		return; /* the kernel falls back to the hash beyond the bitmap */
	__u64 mask = 1ull << (tgid & 63);
	/* the kernel changes other bits of the same word concurrently: atomic */
	if (on)
		__atomic_fetch_or(&st->target_bits[tgid / 64], mask, __ATOMIC_RELAXED);
	else
		__atomic_fetch_and(&st->target_bits[tgid / 64], ~mask, __ATOMIC_RELAXED);
}

static void drop(struct http_latency *st, __u32 tgid)
{
	latency_targets_set_bit(st, tgid, 0);
	bpf_map_delete_elem(targets_fd(st), &tgid);
}

/* A process the kernel (or a scan) made a target: keep it, refine its mode, or drop it. */
static void check_target(struct http_latency *st, __u32 tgid)
{
	struct http_target t;
	char cg[CGROUP_PATH_MAX];

	if (bpf_map_lookup_elem(targets_fd(st), &tgid, &t))
		return;
	if (st->cgroups.has_include || st->cgroups.has_exclude) {
		if (cgroup_pid_path((int)tgid, cg, sizeof(cg)) ||
		    !name_filter_pass(&st->cgroups, cg)) {
			drop(st, tgid);
			return;
		}
	}
	if (t.runtime == HTTP_RUNTIME_PHP && t.mode == HTTP_MODE_HTTP &&
	    !php_cli_serves((int)tgid)) {
		drop(st, tgid);
		return;
	}
	bool changed = phpfpm_attribute(st, tgid, &t);
	if (t.mode == HTTP_MODE_PHP_FCGI && st->php_usdt && usdt_ready(st, (int)tgid)) {
		t.mode = HTTP_MODE_PHP_USDT;
		changed = true;
	}
	if (changed)
		bpf_map_update_elem(targets_fd(st), &tgid, &t, BPF_EXIST);
}

int latency_targets_event(void *ctx, void *data, size_t size)
{
	struct http_latency *st = ctx;
	const struct http_event *e = data;

	if (size < sizeof(*e))
		return 0;
	/* an exit needs nothing here: the kernel counted a PHP request in flight as the thread
	 * ended (its task storage), and HTTP-mode requests end with their sockets */
	if (e->kind == HTTP_EVENT_NEW)
		check_target(st, e->tgid);
	phpfpm_arm_retry(st);
	return 0;
}

/* The PHP-FPM hooks serve PHP-FPM targets only; HTTP-mode targets are watched on their sockets. */
void latency_targets_update_hooks(struct http_latency *st)
{
	__u32 key, next, *prev = NULL;
	struct http_target t;
	size_t n = 0, php = 0;

	phpfpm_count_begin(st);
	while (bpf_map_get_next_key(targets_fd(st), prev, &next) == 0) {
		key = next;
		prev = &key;
		n++;
		if (bpf_map_lookup_elem(targets_fd(st), &key, &t) == 0 &&
		    t.mode != HTTP_MODE_HTTP) {
			php++;
			phpfpm_count(st, &t);
		}
	}
	phpfpm_count_end(st);
	st->ntargets = n;
	php_hooks_update(st, php > 0);
	http_sockets_update(st);
}

/* Targets whose process is gone (an exit event lost) are removed; their threads' request state
 * went with the threads. */
static void forget_dead(struct http_latency *st)
{
	__u32 key, next, *prev = NULL;
	__u32 dead[256];
	size_t ndead = 0;

	while (ndead < 256 && bpf_map_get_next_key(targets_fd(st), prev, &next) == 0) {
		key = next;
		prev = &key;
		if (kill((pid_t)key, 0) < 0 && errno == ESRCH)
			dead[ndead++] = key;
	}
	for (size_t i = 0; i < ndead; i++)
		drop(st, dead[i]);
}

/* A process /proc lists: a target when its executable has a configured name. */
static void scanned(void *arg, const struct proc_id *id)
{
	struct http_latency *st = arg;
	struct http_target t;
	__u32 tgid = (__u32)id->pid;

	int k = latency_targets_match(&st->names, id->exe);
	if (k < 0 || bpf_map_lookup_elem(targets_fd(st), &tgid, &t) == 0)
		return;
	t = (struct http_target){ .runtime = st->names.items[k].runtime,
				  .mode = st->names.items[k].mode };
	if (bpf_map_update_elem(targets_fd(st), &tgid, &t, BPF_NOEXIST) == 0) {
		latency_targets_set_bit(st, tgid, 1);
		check_target(st, tgid);
	}
}

int latency_targets_scan(struct http_latency *st)
{
	unsigned denied = 0;

	forget_dead(st);
	int rc = proc_scan(scanned, st, &denied);
	if (rc)
		return rc;
	if (denied && !st->warned_exe_denied) {
		char n[16];
		snprintf(n, sizeof(n), "%u", denied);
		log_warn("cannot see which program some processes run; they are not measured",
			 "collector", "http_latency", "processes", n, "need",
			 "CAP_SYS_PTRACE (reading /proc/PID/exe)");
		st->warned_exe_denied = true;
	}
	latency_targets_update_hooks(st);
	return 0;
}

void latency_targets_free(struct http_latency *st)
{
	http_sockets_free(st);
	php_hooks_free(st);
	for (size_t i = 0; i < st->nbinaries; i++) {
		bpf_link__destroy(st->binaries[i].startup);
		bpf_link__destroy(st->binaries[i].shutdown);
	}
	free(st->binaries);
	st->binaries = NULL;
	st->nbinaries = 0;
}
