/* http_latency/status.c — the http_latency collector's part of the status page: its target
 * processes, with executable, cgroup and how each is measured, and the PHP-FPM hooks' tier. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup/cgroup.h"
#include "http_latency/state.h"
#include "lib/proc.h"
#include "skel/http_latency.skel.h"
#include "status/status.h"

static const char *mode_name(__u8 mode)
{
	switch (mode) {
	case HTTP_MODE_PHP_USDT:
		return "usdt";
	case HTTP_MODE_PHP_FCGI:
		return "fastcgi";
	default:
		return "http";
	}
}

static int by_pid(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;
	return (x > y) - (x < y);
}

int latency_status(void *state, struct status_model *m)
{
	struct http_latency *st = state;
	int fd = bpf_map__fd(st->skel->maps.targets);
	size_t cap = bpf_map__max_entries(st->skel->maps.targets), n = 0;
	__u32 key, next, *prev = NULL;
	__u32 *pids = calloc(cap ? cap : 1, sizeof(*pids));

	if (!pids)
		return -ENOMEM;
	/* the keys first, into our memory: the kernel adds and removes targets meanwhile */
	while (n < cap && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		pids[n++] = key;
	}
	qsort(pids, n, sizeof(*pids), by_pid);
	m->have_http = true;
	status_copy(m->php_hooks, sizeof(m->php_hooks), php_hooks_tier(st));
	m->php_hooks_attached = st->php_hooks_on;
	for (size_t i = 0; i < n; i++) {
		struct http_target t;
		struct proc_id id;
		char cg[CGROUP_PATH_MAX];

		/* a target that ended since its key was read is no target any more: left out */
		if (bpf_map_lookup_elem(fd, &pids[i], &t) || proc_id_read((pid_t)pids[i], &id))
			continue;
		if (cgroup_pid_path((int)pids[i], cg, sizeof(cg)))
			strcpy(cg, "?");
		struct status_target *s = status_target_add(m);
		if (!s)
			continue; /* counted in targets_total, not shown */
		s->pid = pids[i];
		status_copy(s->exe, sizeof(s->exe), id.exe);
		status_copy(s->runtime, sizeof(s->runtime), latency_runtime_name(t.runtime));
		status_copy(s->mode, sizeof(s->mode), mode_name(t.mode));
		status_copy(s->pool, sizeof(s->pool), phpfpm_pool_name(st, t.pool));
		status_copy(s->cgroup, sizeof(s->cgroup), cg);
	}
	free(pids);
	return 0;
}
