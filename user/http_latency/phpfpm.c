/* http_latency/phpfpm.c — PHP-FPM pools: which pool a worker serves, its workers and
 * pm.max_children, and the pool series (requests in flight, saturated seconds) the kernel keeps. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bpf/http_latency/phpfpm.h"
#include "cgroup/cgroup.h"
#include "core/log.h"
#include "exposition/family_table.h"
#include "exposition/metrics.h"
#include "http_latency/phpfpm_conf.h"
#include "http_latency/state.h"
#include "lib/proc.h"
#include "skel/http_latency.skel.h"

#define POOL_NAME_MAX	 64
#define PENDING_MAX	 64
#define PENDING_TRIES	 30  /* 3 s of retries, then the scan's */
#define PENDING_RETRY_MS 100 /* a new worker sets its title right after fork */

struct pool_slot {
	bool used;
	uint64_t cgroup_id;
	char *path; /* the cgroup's path: one re-created at the same path keeps the pool's series */
	char name[POOL_NAME_MAX];
	pid_t master;
	enum phpfpm_conf_status status;
	bool conf_read;
	uint64_t max_children;
	char config[PHPFPM_CONF_PATH_MAX];
	uint64_t workers;
	uint64_t empty_since_ns;   /* no worker left since; 0 while it has some */
	double reported_saturated; /* what the page said last: the counter never goes back */
};

struct php_pools {
	struct http_php_pool *shared; /* the kernel's php_pools, mmap-ed */
	size_t shared_len;
	struct pool_slot slots[HTTP_PHP_MAX_POOLS]; /* [0] unused: no pool */
	uint64_t counts[HTTP_PHP_MAX_POOLS];	    /* scratch of one walk of the targets */
	__u32 pending[PENDING_MAX];
	unsigned tries[PENDING_MAX];
	size_t npending;
	struct loop_timer *retry;
	uint64_t full_total; /* workers left without a pool: every slot taken */
	bool warned_full;
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts); /* bpf_ktime_get_ns()'s clock */
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int phpfpm_init(struct http_latency *st)
{
	struct php_pools *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	p->shared_len =
		(HTTP_PHP_MAX_POOLS * sizeof(struct http_php_pool) + page - 1) / page * page;
	void *m = mmap(NULL, p->shared_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       bpf_map__fd(st->skel->maps.php_pools), 0);
	if (m == MAP_FAILED) {
		int rc = -errno;
		free(p);
		return rc;
	}
	p->shared = m;
	st->pools = p;
	return 0;
}

void phpfpm_free(struct http_latency *st)
{
	struct php_pools *p = st->pools;
	if (!p)
		return;
	loop_timer_del(st->loop, p->retry);
	for (size_t i = 0; i < HTTP_PHP_MAX_POOLS; i++)
		free(p->slots[i].path);
	munmap(p->shared, p->shared_len);
	free(p);
	st->pools = NULL;
}

/* /proc/PID/cmdline, NUL-separated, NUL-terminated; its length, or -1. */
static ssize_t read_cmdline(pid_t pid, char *buf, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

enum title { TITLE_POOL, TITLE_MASTER, TITLE_OTHER };

/* A php-fpm process's title: "php-fpm: pool NAME" (a worker), "php-fpm: master process (...)",
 * or anything else (a worker just forked, still with its master's arguments or title...). */
static enum title read_title(pid_t pid, char name[POOL_NAME_MAX])
{
	static const char pool[] = "php-fpm: pool ", master[] = "php-fpm: master process";
	char buf[256];
	if (read_cmdline(pid, buf, sizeof(buf)) <= 0)
		return TITLE_OTHER;
	if (strncmp(buf, master, sizeof(master) - 1) == 0)
		return TITLE_MASTER;
	if (strncmp(buf, pool, sizeof(pool) - 1) != 0)
		return TITLE_OTHER;
	const char *n = buf + sizeof(pool) - 1;
	size_t len = strcspn(n, " ");
	if (len == 0 || len >= POOL_NAME_MAX)
		return TITLE_OTHER;
	memcpy(name, n, len);
	name[len] = '\0';
	return TITLE_POOL;
}

/* The cgroup2 id of pid (its directory's inode) and its path rel, or 0 and "" when unknown: pools
 * are told apart by them. */
static uint64_t pid_cgroup(const struct http_latency *st, pid_t pid, char rel[CGROUP_PATH_MAX])
{
	char full[CGROUP_PATH_MAX * 2];
	struct stat sb;
	rel[0] = '\0';
	if (!st->have_tree || cgroup_pid_path((int)pid, rel, CGROUP_PATH_MAX))
		return 0;
	snprintf(full, sizeof(full), "%s%s", st->tree.root_dir, rel);
	if (stat(full, &sb) == 0)
		return (uint64_t)sb.st_ino;
	rel[0] = '\0';
	return 0;
}

/* A worker's master: its parent, when that runs php-fpm too (a worker whose master died was
 * handed to another process, whose files say nothing of the pool); 0 otherwise. */
static pid_t master_of(pid_t pid)
{
	char stat[512];
	uint64_t ppid;
	struct proc_id id;
	if (proc_stat_read(pid, stat, sizeof(stat)) || proc_stat_field(stat, 4, &ppid) ||
	    proc_id_read((pid_t)ppid, &id) || strncmp(id.exe, "php-fpm", 7) != 0)
		return 0;
	return (pid_t)ppid;
}

/* pm.max_children of slot's pool from its master's files, inside the master's root. */
static void read_config(struct pool_slot *s, pid_t master)
{
	char path[64], cmdline[4096], exe[sizeof(((struct proc_id *)0)->exe)];
	struct phpfpm_conf c = { 0 };
	enum phpfpm_conf_status status = PHPFPM_CONF_UNREADABLE;
	struct proc_id id;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)master);
	int root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ssize_t n = read_cmdline(master, cmdline, sizeof(cmdline));
	snprintf(exe, sizeof(exe), "%s", proc_id_read(master, &id) == 0 ? id.exe : "");
	if (root >= 0 && n > 0) {
		char conf[PHPFPM_CONF_PATH_MAX];
		if (phpfpm_conf_named(cmdline, (size_t)n, conf, sizeof(conf))) {
			status = phpfpm_conf_max_children(root, conf, s->name, &c);
		} else {
			/* none named: the first default location that can be read */
			for (int i = 0; phpfpm_conf_default(exe, i, conf, sizeof(conf)) == 0; i++) {
				status = phpfpm_conf_max_children(root, conf, s->name, &c);
				if (status != PHPFPM_CONF_UNREADABLE)
					break;
			}
		}
	}
	if (root >= 0)
		close(root);
	/* one line per change, not per rescan */
	if (!s->conf_read || status != s->status || strcmp(c.file, s->config) != 0 ||
	    (status == PHPFPM_CONF_OK && c.max_children != s->max_children)) {
		struct log_num num = { { 0 } };
		const char *file = c.file[0] ? c.file : "?", *why = phpfpm_conf_status_name(status);
		if (status == PHPFPM_CONF_OK)
			log_info("php-fpm pool configuration read", "collector", "http_latency",
				 "pool", s->name, "config", file, "max_children",
				 log_u64(&num, c.max_children));
		else if (status == PHPFPM_CONF_UNREADABLE)
			log_warn("cannot read pm.max_children of a php-fpm pool", "collector",
				 "http_latency", "pool", s->name, "config", file, "status", why,
				 "need", "the master's files readable through /proc/PID/root");
		else
			log_warn("cannot read pm.max_children of a php-fpm pool", "collector",
				 "http_latency", "pool", s->name, "config", file, "status", why);
	}
	s->conf_read = true;
	s->status = status;
	s->max_children = status == PHPFPM_CONF_OK ? c.max_children : 0;
	snprintf(s->config, sizeof(s->config), "%s", c.file);
	s->master = master;
}

/*
 * The slot of (cgroup, name), taken if new; 0 when every slot is taken (or no memory). A cgroup
 * re-created at the same path (systemctl restart, a container restarted under its name) has a
 * new id but the same labels: it continues the pool's slot, so the page never holds two series
 * with the same labels, and its counters go on.
 */
static __u16 pool_slot(struct php_pools *p, uint64_t cgroup_id, const char *path, const char *name)
{
	size_t free_slot = 0;
	for (size_t i = 1; i < HTTP_PHP_MAX_POOLS; i++) {
		struct pool_slot *s = &p->slots[i];
		if (s->used && strcmp(s->name, name) == 0 &&
		    (s->cgroup_id == cgroup_id || (path[0] && strcmp(s->path, path) == 0))) {
			s->cgroup_id = cgroup_id;
			return (__u16)i;
		}
		if (!s->used && !free_slot)
			free_slot = i;
	}
	char *copy = free_slot ? strdup(path) : NULL;
	if (!copy)
		return 0;
	struct pool_slot *s = &p->slots[free_slot];
	free(s->path);
	memset(s, 0, sizeof(*s));
	s->path = copy;
	/* the kernel's counters of a slot used before start again (no request refers to it) */
	memset(&p->shared[free_slot], 0, sizeof(p->shared[free_slot]));
	s->used = true;
	s->cgroup_id = cgroup_id;
	snprintf(s->name, sizeof(s->name), "%s", name);
	return (__u16)free_slot;
}

static void pending_add(struct php_pools *p, __u32 tgid)
{
	for (size_t i = 0; i < p->npending; i++)
		if (p->pending[i] == tgid)
			return;
	if (p->npending < PENDING_MAX) {
		p->pending[p->npending] = tgid;
		p->tries[p->npending++] = 0;
	}
}

int phpfpm_attribute(struct http_latency *st, __u32 tgid, struct http_target *t)
{
	struct php_pools *p = st->pools;
	char name[POOL_NAME_MAX];

	if (!p || t->runtime != HTTP_RUNTIME_PHP || t->mode == HTTP_MODE_HTTP || t->pool)
		return 0;
	enum title kind = read_title((pid_t)tgid, name);
	if (kind == TITLE_MASTER)
		return 0;
	if (kind == TITLE_OTHER) {
		pending_add(p, tgid);
		return 0;
	}
	char path[CGROUP_PATH_MAX];
	uint64_t cgroup_id = pid_cgroup(st, (pid_t)tgid, path);
	__u16 i = pool_slot(p, cgroup_id, path, name);
	if (!i) {
		p->full_total++;
		if (!p->warned_full)
			log_warn("too many php-fpm pools: workers of new ones are not counted",
				 "collector", "http_latency", "pools", "1023");
		p->warned_full = true;
		return 0;
	}
	struct pool_slot *s = &p->slots[i];
	pid_t master = master_of((pid_t)tgid);
	if (master > 0 && (!s->conf_read || master != s->master))
		read_config(s, master);
	t->pool = i;
	return 1;
}

/* Pending workers whose title was not set yet: tried again until it is, or PENDING_TRIES times. */
static void retry_tick(struct loop *l, void *arg)
{
	struct http_latency *st = arg;
	struct php_pools *p = st->pools;
	int fd = bpf_map__fd(st->skel->maps.targets);
	__u32 tgids[PENDING_MAX];
	unsigned tries[PENDING_MAX];
	bool changed = false;

	(void)l;
	p->retry = NULL; /* one-shot: the loop frees it */
	size_t n = p->npending;
	memcpy(tgids, p->pending, n * sizeof(tgids[0]));
	memcpy(tries, p->tries, n * sizeof(tries[0]));
	p->npending = 0;
	for (size_t i = 0; i < n; i++) {
		struct http_target t;
		if (bpf_map_lookup_elem(fd, &tgids[i], &t) || t.pool)
			continue; /* gone, or named meanwhile */
		if (phpfpm_attribute(st, tgids[i], &t)) {
			changed |= bpf_map_update_elem(fd, &tgids[i], &t, BPF_EXIST) == 0;
			continue;
		}
		/* still no pool's title: attribute() queued it again, with no tries */
		for (size_t j = 0; j < p->npending; j++) {
			if (p->pending[j] != tgids[i])
				continue;
			if (tries[i] + 1 < PENDING_TRIES) {
				p->tries[j] = tries[i] + 1;
			} else {
				p->pending[j] = p->pending[p->npending - 1];
				p->tries[j] = p->tries[--p->npending];
			}
			break;
		}
	}
	if (changed)
		latency_targets_update_hooks(st);
	phpfpm_arm_retry(st);
}

void phpfpm_arm_retry(struct http_latency *st)
{
	struct php_pools *p = st->pools;
	if (p && p->npending && !p->retry)
		p->retry = loop_timer_add(st->loop, PENDING_RETRY_MS, 0, retry_tick, st);
}

void phpfpm_rescan(struct http_latency *st)
{
	struct php_pools *p = st->pools;
	int fd = bpf_map__fd(st->skel->maps.targets);
	__u32 key, next, *prev = NULL;

	if (!p)
		return;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		struct http_target t;
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &t) == 0 && phpfpm_attribute(st, key, &t))
			bpf_map_update_elem(fd, &key, &t, BPF_EXIST);
	}
	/* read again: a configuration that could not be read may be now, and a reload (SIGUSR2)
	 * keeps the master's pid while it may change pm.max_children */
	for (size_t i = 1; i < HTTP_PHP_MAX_POOLS; i++) {
		struct pool_slot *s = &p->slots[i];
		if (s->used && s->master > 0 && s->workers)
			read_config(s, s->master);
	}
	phpfpm_arm_retry(st);
}

void phpfpm_count_begin(struct http_latency *st)
{
	if (st->pools)
		memset(st->pools->counts, 0, sizeof(st->pools->counts));
}

void phpfpm_count(struct http_latency *st, const struct http_target *t)
{
	if (st->pools && t->pool && t->pool < HTTP_PHP_MAX_POOLS)
		st->pools->counts[t->pool]++;
}

void phpfpm_count_end(struct http_latency *st)
{
	struct php_pools *p = st->pools;
	uint64_t now = now_ns();

	if (!p)
		return;
	for (size_t i = 1; i < HTTP_PHP_MAX_POOLS; i++) {
		struct pool_slot *s = &p->slots[i];
		if (!s->used)
			continue;
		s->workers = p->counts[i];
		/* the kernel compares in flight with it at each start and end */
		__atomic_store_n(&p->shared[i].workers, s->workers, __ATOMIC_RELAXED);
		/* pm = ondemand keeps no idle worker: a pool whose master lives is still there */
		if (s->workers || (s->master > 0 && (kill(s->master, 0) == 0 || errno == EPERM))) {
			s->empty_since_ns = 0;
			continue;
		}
		if (!s->empty_since_ns)
			s->empty_since_ns = now;
		/* a pool gone for the retention leaves the page; its slot can serve another */
		if (now - s->empty_since_ns >= st->retention_ns &&
		    __atomic_load_n(&p->shared[i].in_flight, __ATOMIC_RELAXED) == 0)
			s->used = false;
	}
}

static double saturated_seconds(struct pool_slot *s, const struct http_php_pool *k, uint64_t now)
{
	uint64_t closed = __atomic_load_n(&k->saturated_ns, __ATOMIC_RELAXED);
	uint64_t since = __atomic_load_n(&k->saturated_since, __ATOMIC_RELAXED);
	/* an interval still open counts up to now, so the counter grows while the pool is
	 * saturated; the kernel adds it whole when it closes */
	double v = (double)(closed + (since && since < now ? now - since : 0)) / 1e9;
	if (v < s->reported_saturated)
		v = s->reported_saturated; /* a scrape between the close and its add */
	s->reported_saturated = v;
	return v;
}

int phpfpm_collect(struct http_latency *st, struct metric_snapshot *snap)
{
	static const char *const labels[] = { "cgroup", "container_id", "pod_uid", "container",
					      "pod",	"namespace",	"unit",	   "pool" };
	static const char *const info_labels[] = { "cgroup", "container_id", "pod_uid", "container",
						   "pod",    "namespace",    "unit",	"pool",
						   "config", "status" };
	struct php_pools *p = st->pools;
	if (!p)
		return 0;
	struct metric_family *in_flight = metric_family_get(
		snap, "hostmon_phpfpm_requests_in_flight",
		"Requests a PHP-FPM pool's workers are serving now (started, not ended), by cgroup "
		"and pool.",
		METRIC_GAUGE, 8, labels);
	struct metric_family *workers = metric_family_get(
		snap, "hostmon_phpfpm_workers", "Worker processes of the PHP-FPM pool now.",
		METRIC_GAUGE, 8, labels);
	struct metric_family *max_children = metric_family_get(
		snap, "hostmon_phpfpm_max_children",
		"The pool's pm.max_children, from its master's configuration (absent when it "
		"cannot be read: see hostmon_phpfpm_config_info).",
		METRIC_GAUGE, 8, labels);
	struct metric_family *saturated = metric_family_get(
		snap, "hostmon_phpfpm_saturated_seconds_total",
		"Time every worker of the pool was busy, so a new request waited in the listen "
		"queue.",
		METRIC_COUNTER, 8, labels);
	struct metric_family *info = metric_family_get(
		snap, "hostmon_phpfpm_config_info",
		"1 per pool: the configuration file its pm.max_children was read from and the "
		"status of that read (ok, unreadable, no_pool, no_max_children, invalid).",
		METRIC_GAUGE, 10, info_labels);
	uint64_t now = now_ns();
	size_t npools = 0;
	for (size_t i = 1; i < HTTP_PHP_MAX_POOLS; i++) {
		struct pool_slot *s = &p->slots[i];
		const char *v[10] = {
			"", "", "",	 "",	    "",
			"", "", s->name, s->config, phpfpm_conf_status_name(s->status)
		};
		if (!s->used)
			continue;
		if (s->cgroup_id && latency_cgroup_labels(st, s->cgroup_id, v))
			continue; /* a cgroup that cannot be named (gone before it was seen) */
		npools++;
		const struct http_php_pool *k = &p->shared[i];
		metric_add(in_flight, v, (double)__atomic_load_n(&k->in_flight, __ATOMIC_RELAXED));
		metric_add(workers, v, (double)s->workers);
		if (s->status == PHPFPM_CONF_OK)
			metric_add(max_children, v, (double)s->max_children);
		metric_add(saturated, v, saturated_seconds(s, k, now));
		metric_add(info, v, 1);
	}
	static const struct metric_def health[] = {
		{ "hostmon_phpfpm_pools",
		  "PHP-FPM pools known now (workers seen, by cgroup and name).", METRIC_GAUGE },
		{ "hostmon_phpfpm_pools_full_total",
		  "PHP-FPM workers not counted in a pool because all 1,023 pool slots were taken.",
		  METRIC_COUNTER },
		{ "hostmon_phpfpm_requests_unattributed_total",
		  "PHP-FPM requests started by a worker whose pool was not known yet (its process "
		  "title not read): in no pool's series.",
		  METRIC_COUNTER },
	};
	double values[] = { (double)npools, (double)p->full_total,
			    (double)__atomic_load_n(&p->shared[0].requests, __ATOMIC_RELAXED) };
	metric_scalars_add(snap, health, METRIC_DEFS_N(health), values);
	return 0;
}

const char *phpfpm_pool_name(const struct http_latency *st, __u16 pool)
{
	if (!st->pools || !pool || pool >= HTTP_PHP_MAX_POOLS || !st->pools->slots[pool].used)
		return "";
	return st->pools->slots[pool].name;
}
