/* http_latency/php_hooks.c — the hooks that see PHP-FPM workers' FastCGI traffic, in one of three
 * tiers chosen when the object is loaded: fentry/fexit on the socket read/write path where the
 * kernel has them ("sock_iter"), else the socket length tracepoints ("sock_length", 6.3+), else
 * raw sys_enter/sys_exit ("syscalls"). The first two run a program for socket reads and writes
 * only; the last for every syscall of every process. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "exposition/metrics.h"
#include "http_latency/state.h"
#include "skel/http_latency.skel.h"

/*
 * Whether a tracing program of attach type type attaches to target here (a kernel function for
 * fentry, a tracepoint for tp_btf): an empty one is loaded and attached for a moment. Loading
 * alone does not tell: a kernel may load tracing programs and still fail to attach them (no
 * trampolines), and one that does not know target has no BTF id for it.
 */
static bool tracing_attaches(const char *target, enum bpf_attach_type type)
{
	struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int id = libbpf_find_vmlinux_btf_id(target, type);
	if (id < 0)
		return false;
	struct bpf_prog_load_opts opts = { .sz = sizeof(opts),
					   .expected_attach_type = type,
					   .attach_btf_id = (__u32)id };
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, "hostmon_probe", "GPL", prog, 2, &opts);
	if (fd < 0)
		return false;
	int link = bpf_raw_tracepoint_open(NULL, fd);
	if (link >= 0)
		close(link);
	close(fd);
	return link >= 0;
}

static const struct {
	const char *name, *hooks;
	const char *probe[2]; /* what must attach for the tier to be chosen */
	enum bpf_attach_type type;
} tiers[PHP_TIERS] = {
	[PHP_TIER_SYSCALLS] = { "syscalls",
				"tp_btf sys_enter, sys_exit (this kernel has neither fentry "
				"nor the socket length tracepoints)" },
	[PHP_TIER_SOCK_LENGTH] = { "sock_length",
				   "tp_btf sock_recv_length, sock_send_length (this kernel has "
				   "no fentry)",
				   { "sock_recv_length", "sock_send_length" },
				   BPF_TRACE_RAW_TP },
	[PHP_TIER_SOCK_ITER] = { "sock_iter",
				 "fentry/fexit sock_read_iter, fentry sock_write_iter",
				 { "sock_read_iter", "sock_write_iter" },
				 BPF_TRACE_FENTRY },
};

/* The programs of a tier, into out (PHP_HOOKS_MAX); returns how many. */
static size_t tier_progs(struct http_latency_bpf *s, enum php_tier t, struct bpf_program **out)
{
	switch (t) {
	case PHP_TIER_SOCK_ITER:
		out[0] = s->progs.php_sock_read;
		out[1] = s->progs.php_sock_read_exit;
		out[2] = s->progs.php_sock_write;
		return 3;
	case PHP_TIER_SOCK_LENGTH:
		out[0] = s->progs.php_sock_recv;
		out[1] = s->progs.php_sock_send;
		return 2;
	default:
		out[0] = s->progs.http_sys_enter;
		out[1] = s->progs.http_sys_exit;
		return 2;
	}
}

static bool tier_attaches(enum php_tier t)
{
	for (int i = 0; i < 2; i++)
		if (tiers[t].probe[i] && !tracing_attaches(tiers[t].probe[i], tiers[t].type))
			return false;
	return true;
}

void php_hooks_choose(struct http_latency *st, enum php_tier best)
{
	enum php_tier t = best < PHP_TIERS ? best : PHP_TIER_SOCK_ITER;
	while (t > PHP_TIER_SYSCALLS && !tier_attaches(t))
		t--;
	st->php_tier = t;
	/* the other tiers' programs are not loaded: no verifier time, nothing to attach by mistake
	 */
	struct bpf_program *progs[PHP_HOOKS_MAX];
	for (int other = 0; other < PHP_TIERS; other++) {
		size_t n = tier_progs(st->skel, (enum php_tier)other, progs);
		for (size_t i = 0; i < n; i++)
			bpf_program__set_autoload(progs[i], other == (int)t);
	}
}

const char *php_hooks_tier(const struct http_latency *st)
{
	return tiers[st->php_tier].name;
}

void php_hooks_log(const struct http_latency *st)
{
	log_info("php-fpm hooks chosen", "collector", "http_latency", "tier", php_hooks_tier(st),
		 "hooks", tiers[st->php_tier].hooks);
}

static void detach(struct http_latency *st)
{
	for (size_t i = 0; i < PHP_HOOKS_MAX; i++) {
		bpf_link__destroy(st->php_links[i]);
		st->php_links[i] = NULL;
	}
	st->php_hooks_on = false;
}

static void attach(struct http_latency *st)
{
	struct bpf_program *progs[PHP_HOOKS_MAX];
	size_t n = tier_progs(st->skel, st->php_tier, progs);
	for (size_t i = 0; i < n; i++) {
		st->php_links[i] = bpf_program__attach(progs[i]);
		if (!st->php_links[i]) {
			int e = errno;
			st->hook_attach_failures++;
			log_warn("cannot attach the php-fpm hooks", "collector", "http_latency",
				 "tier", php_hooks_tier(st), "program", bpf_program__name(progs[i]),
				 "reason", strerror(e));
			detach(st);
			return;
		}
	}
	st->php_hooks_on = true;
	log_debug("php-fpm hooks attached", "collector", "http_latency", "tier",
		  php_hooks_tier(st));
}

void php_hooks_update(struct http_latency *st, bool want)
{
	if (want && !st->php_hooks_on) {
		attach(st);
	} else if (!want && st->php_hooks_on) {
		detach(st);
		log_debug("php-fpm hooks detached: no PHP target", "collector", "http_latency");
	}
}

void php_hooks_free(struct http_latency *st)
{
	detach(st);
}

void php_hooks_metrics(const struct http_latency *st, struct metric_snapshot *s)
{
	static const char *const tier[] = { "tier" };
	struct metric_family *f = metric_family_get(
		s, "hostmon_http_latency_php_hooks_attached",
		"1 while the hooks that see PHP-FPM workers' FastCGI traffic are attached (only "
		"while a PHP-FPM target exists), by tier: sock_iter (fentry/fexit on the socket "
		"read/write path), sock_length (the socket length tracepoints, kernels without "
		"fentry) or syscalls (raw sys_enter/sys_exit, kernels with neither).",
		METRIC_GAUGE, 1, tier);
	const char *name = php_hooks_tier(st);
	metric_add(f, &name, st->php_hooks_on ? 1 : 0);
}
