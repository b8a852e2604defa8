/* core/self.c — hostmon's metrics about itself: build, process, collectors, BPF programs, HTTP
 * server.
 */
#include "core/self.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/version.h"
#include "lib/clock.h"
#include "lib/bpf_util.h"
#include "lib/fileutil.h"
#include "lib/proc.h"
#include "status/status.h"

static struct {
	char kernel[128];
	double start_time_seconds;
	long page_size;
	long clock_ticks;
} self;

/* The /proc/self/stat fields self metrics use, in proc(5) order. */
enum { STAT_UTIME, STAT_STIME, STAT_STARTTIME, STAT_VSIZE, STAT_RSS, STAT_N };

static int read_self_stat(uint64_t out[STAT_N])
{
	static const int fields[STAT_N] = { 14, 15, 22, 23, 24 };
	char buf[1024];
	int rc = proc_stat_read(0, buf, sizeof(buf));

	return rc ? rc : proc_stat_fields(buf, fields, STAT_N, out);
}

/* Boot time as wall clock: now minus time since boot (no /proc/stat parsing, any CPU count). */
static double boot_time_seconds(void)
{
	struct timespec real, boot;
	clock_gettime(CLOCK_REALTIME, &real);
	clock_gettime(CLOCK_BOOTTIME, &boot);
	return (double)(real.tv_sec - boot.tv_sec) + (double)(real.tv_nsec - boot.tv_nsec) / 1e9;
}

int self_init(void)
{
	struct utsname u;
	uint64_t ps[STAT_N];

	if (uname(&u) == 0)
		snprintf(self.kernel, sizeof(self.kernel), "%s", u.release);
	self.page_size = sysconf(_SC_PAGESIZE);
	self.clock_ticks = sysconf(_SC_CLK_TCK);
	int rc = read_self_stat(ps);
	if (rc)
		return rc;
	self.start_time_seconds =
		boot_time_seconds() + (double)ps[STAT_STARTTIME] / (double)self.clock_ticks;
	return 0;
}

static unsigned count_open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;
	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	/* ".", ".." and the directory's own fd */
	return n >= 3 ? n - 3 : 0;
}

static void collect_process(struct metric_snapshot *s)
{
	uint64_t ps[STAT_N];
	struct rlimit rl;

	if (read_self_stat(ps) == 0) {
		metric_add(metric_family_get(s, "process_cpu_seconds_total",
					     "Total user and system CPU time spent in seconds.",
					     METRIC_COUNTER, 0, NULL),
			   NULL,
			   (double)(ps[STAT_UTIME] + ps[STAT_STIME]) / (double)self.clock_ticks);
		metric_add(metric_family_get(s, "process_resident_memory_bytes",
					     "Resident memory size in bytes.", METRIC_GAUGE, 0,
					     NULL),
			   NULL, (double)ps[STAT_RSS] * (double)self.page_size);
		metric_add(metric_family_get(s, "process_virtual_memory_bytes",
					     "Virtual memory size in bytes.", METRIC_GAUGE, 0,
					     NULL),
			   NULL, (double)ps[STAT_VSIZE]);
	}
	metric_add(metric_family_get(s, "process_open_fds", "Number of open file descriptors.",
				     METRIC_GAUGE, 0, NULL),
		   NULL, count_open_fds());
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		metric_add(metric_family_get(s, "process_max_fds",
					     "Maximum number of open file descriptors.",
					     METRIC_GAUGE, 0, NULL),
			   NULL, rl.rlim_cur == RLIM_INFINITY ? -1 : (double)rl.rlim_cur);
	metric_add(metric_family_get(s, "process_start_time_seconds",
				     "Start time of the process since unix epoch in seconds.",
				     METRIC_GAUGE, 0, NULL),
		   NULL, self.start_time_seconds);
}

static void collect_collectors(struct metric_snapshot *s, const struct collector_set *set)
{
	static const char *const labels[] = { "collector" };
	struct metric_family *up = metric_family_get(s, "hostmon_collector_up",
						     "Whether the collector works: it started "
						     "(loaded and attached), its last collect, the "
						     "one for this scrape, succeeded (else its "
						     "metrics are left out of the page) and its "
						     "source answers (else only its own health "
						     "series say why).",
						     METRIC_GAUGE, 1, labels);
	struct metric_family *dur = metric_family_get(s, "hostmon_collector_duration_seconds",
						      "Time the collector's last collect took.",
						      METRIC_GAUGE, 1, labels);

	for (size_t i = 0; i < set->n; i++) {
		const struct collector *c = &set->items[i];
		const char *v[] = { c->ops->name };
		char why[256];
		metric_add(up, v, collector_working(c, why, sizeof(why)) ? 1 : 0);
		if (c->up)
			metric_add(dur, v, c->last_duration_seconds);
	}
}

static void collect_bpf_programs(struct metric_snapshot *s, const struct collector_set *set)
{
	static const char *const labels[] = { "program" };
	struct metric_family *secs = NULL, *runs = NULL;

	metric_add(
		metric_family_get(
			s, "hostmon_bpf_stats_enabled",
			"Whether the kernel keeps BPF run-time statistics "
			"(kernel.bpf_stats_enabled); program run metrics stay 0 when it does not.",
			METRIC_GAUGE, 0, NULL),
		NULL, bpf_util_stats_active() ? 1 : 0);

	for (size_t i = 0; i < set->n; i++) {
		const struct collector *c = &set->items[i];
		if (!c->up || !c->ops->bpf_object)
			continue;
		struct bpf_object *obj = c->ops->bpf_object(c->state);
		struct bpf_program *prog;
		if (!obj)
			continue;
		if (!secs) {
			secs = metric_family_get(
				s, "hostmon_bpf_program_run_seconds_total",
				"Time the kernel spent running the BPF program (with --bpf-stats).",
				METRIC_COUNTER, 1, labels);
			runs = metric_family_get(
				s, "hostmon_bpf_program_runs_total",
				"Times the kernel ran the BPF program (with --bpf-stats).",
				METRIC_COUNTER, 1, labels);
		}
		bpf_object__for_each_program (prog, obj) {
			struct bpf_prog_info info;
			__u32 len = sizeof(info);
			int fd = bpf_program__fd(prog);

			memset(&info, 0, sizeof(info));
			if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
				continue;
			const char *v[] = { bpf_program__name(prog) };
			metric_add(secs, v, (double)info.run_time_ns / 1e9);
			metric_add(runs, v, (double)info.run_cnt);
		}
	}
}

/*
 * The kernel memory of one map as the kernel itself counts it: the memlock
 * line of its fdinfo (what the map charges to hostmon's memory cgroup; for
 * per-CPU maps it includes every possible CPU's copy). -1 when unreadable.
 */
static long long map_memory_bytes(int fd)
{
	char path[64], line[128];
	long long bytes = -1;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	FILE *f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "memlock: %lld", &bytes) == 1)
			break;
	if (f)
		fclose(f);
	return bytes;
}

/* Calls fn for every map of every started collector's BPF object, with its kernel memory. */
static void for_each_bpf_map(const struct collector_set *set,
			     void (*fn)(void *arg, const char *collector, const char *map,
					long long bytes),
			     void *arg)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct collector *c = &set->items[i];
		struct bpf_object *obj;
		struct bpf_map *map;

		if (!c->up || !c->ops->bpf_object || !(obj = c->ops->bpf_object(c->state)))
			continue;
		bpf_object__for_each_map (map, obj) {
			int fd = bpf_map__fd(map);
			long long bytes = fd >= 0 ? map_memory_bytes(fd) : -1;
			if (bytes >= 0)
				fn(arg, c->ops->name, bpf_map__name(map), bytes);
		}
	}
}

static void add_map_memory(void *arg, const char *collector, const char *map, long long bytes)
{
	const char *v[] = { collector, map };
	metric_add(arg, v, (double)bytes);
}

static void collect_bpf_maps(struct metric_snapshot *s, const struct collector_set *set)
{
	static const char *const labels[] = { "collector", "map" };
	struct metric_family *f = metric_family_get(s, "hostmon_bpf_map_memory_bytes",
						    "Kernel memory of the BPF map as the kernel "
						    "counts it (fdinfo memlock, every possible "
						    "CPU's copy of a per-CPU map included; task "
						    "and socket storage count their map, not "
						    "each task's or socket's element).",
						    METRIC_GAUGE, 2, labels);
	for_each_bpf_map(set, add_map_memory, f);
}

struct map_total {
	long long bytes;
	uint64_t maps;
};

static void sum_map_memory(void *arg, const char *collector, const char *map, long long bytes)
{
	struct map_total *t = arg;
	(void)collector;
	(void)map;
	t->bytes += bytes;
	t->maps++;
}

void self_log_bpf_map_memory(const struct collector_set *set)
{
	struct map_total t = { 0, 0 };
	struct log_num n_bytes = { { 0 } }, n_maps = { { 0 } };

	for_each_bpf_map(set, sum_map_memory, &t);
	log_info("BPF map memory", "bytes", log_u64(&n_bytes, (uint64_t)t.bytes), "maps",
		 log_u64(&n_maps, t.maps));
}

static void collect_web(struct metric_snapshot *s, const struct web_server_stats *h)
{
	static const struct {
		const char *name, *help;
		enum metric_type type;
		size_t offset;
	} rows[] = {
		{ "hostmon_web_connections_accepted_total", "HTTP connections accepted.",
		  METRIC_COUNTER, offsetof(struct web_server_stats, connections_accepted) },
		{ "hostmon_web_connections_rejected_total",
		  "HTTP connections refused with 503 at the connection limit.", METRIC_COUNTER,
		  offsetof(struct web_server_stats, connections_rejected) },
		{ "hostmon_web_connections_evicted_total",
		  "Idle keep-alive HTTP connections closed to make room at the connection limit.",
		  METRIC_COUNTER, offsetof(struct web_server_stats, connections_evicted) },
		{ "hostmon_web_requests_total", "HTTP requests answered by a handler.",
		  METRIC_COUNTER, offsetof(struct web_server_stats, requests) },
		{ "hostmon_web_bad_requests_total",
		  "HTTP requests refused as malformed, oversized or too slow (400, 408, 431, 505).",
		  METRIC_COUNTER, offsetof(struct web_server_stats, bad_requests) },
		{ "hostmon_web_connections_open", "Open HTTP connections.", METRIC_GAUGE,
		  offsetof(struct web_server_stats, open_connections) },
		{ "hostmon_web_queued_bytes",
		  "Bytes held for HTTP responses not yet sent, each shared page counted once.",
		  METRIC_GAUGE, offsetof(struct web_server_stats, queued_bytes) },
		{ "hostmon_web_scrapes_in_flight", "/metrics responses being sent.", METRIC_GAUGE,
		  offsetof(struct web_server_stats, scrapes_in_flight) },
		{ "hostmon_web_pages_rendered_total",
		  "/metrics pages rendered; concurrent scrapes share one.", METRIC_COUNTER,
		  offsetof(struct web_server_stats, pages_rendered) },
	};
	static const char *const reason[] = { "reason" };
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t v = *(const uint64_t *)((const char *)h + rows[i].offset);
		metric_add(metric_family_get(s, rows[i].name, rows[i].help, rows[i].type, 0, NULL),
			   NULL, (double)v);
	}
	struct metric_family *refused = metric_family_get(
		s, "hostmon_web_requests_refused_total",
		"HTTP requests answered 503 with Retry-After: too many scrapes in flight "
		"(--max-scrapes) or too many bytes queued for slow readers (--max-queued-bytes).",
		METRIC_COUNTER, 1, reason);
	for (int r = 0; r < WEB_REFUSED_NREASONS; r++) {
		const char *v[] = { web_refusal_name((enum web_refusal)r) };
		metric_add(refused, v, (double)h->refused[r]);
	}
}

void self_collect(struct metric_snapshot *s, const struct collector_set *set,
		  const struct web_server_stats *http)
{
	static const char *const build_labels[] = { "version", "libbpf", "kernel" };
	char libbpf[32];
	snprintf(libbpf, sizeof(libbpf), "%u.%u", libbpf_major_version(), libbpf_minor_version());
	const char *build_values[] = { HOSTMON_VERSION, libbpf, self.kernel };

	metric_add(
		metric_family_get(s, "hostmon_build_info",
				  "Build and runtime versions of hostmon; the value is always 1.",
				  METRIC_GAUGE, 3, build_labels),
		build_values, 1);
	collect_process(s);
	collect_collectors(s, set);
	collect_bpf_programs(s, set);
	collect_bpf_maps(s, set);
	if (http)
		collect_web(s, http);
}

void self_status(struct status_model *m, const struct collector_set *set)
{
	struct status_self *s = &m->self;
	struct map_total t = { 0, 0 };
	uint64_t ps[STAT_N];
	char host[256];

	status_copy(s->version, sizeof(s->version), HOSTMON_VERSION);
	if (gethostname(host, sizeof(host) - 1) < 0)
		strcpy(host, "unknown");
	host[sizeof(host) - 1] = '\0';
	status_copy(s->host, sizeof(s->host), host);
	s->generated_at = clock_wall_seconds();
	s->start_time = self.start_time_seconds;
	if (read_self_stat(ps) == 0) {
		s->cpu_seconds =
			(double)(ps[STAT_UTIME] + ps[STAT_STIME]) / (double)self.clock_ticks;
		s->resident_memory_bytes = (double)ps[STAT_RSS] * (double)self.page_size;
	}
	for_each_bpf_map(set, sum_map_memory, &t);
	s->bpf_map_memory_bytes = (double)t.bytes;
	s->bpf_maps = t.maps;
}
