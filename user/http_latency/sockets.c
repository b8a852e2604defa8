/* http_latency/sockets.c — the cgroups whose TCP sockets the cgroup_skb programs watch: those that
 * hold HTTP-mode targets, attached while they do. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup/cgroup.h"
#include "core/log.h"
#include "core/loop.h"
#include "http_latency/state.h"
#include "skel/http_latency.skel.h"

struct skb_cgroup {
	uint64_t id; /* the cgroup2 directory's inode number, as bpf_skb_cgroup_id() gives it */
	struct bpf_link *ingress, *egress;
	bool wanted;		 /* a target lives there (this update) */
	uint64_t unwanted_since; /* ms; 0 while wanted */
};

/*
 * A cgroup whose last target ended stays watched this long: the kernel announces a process's
 * exit before it closes the process's sockets, and the closing segments are what tell a
 * request cut short by the exit.
 */
#define DETACH_GRACE_MS 1000

static struct skb_cgroup *find(struct http_latency *st, uint64_t id)
{
	for (size_t i = 0; i < st->nskb_cgroups; i++)
		if (st->skb_cgroups[i].id == id)
			return &st->skb_cgroups[i];
	return NULL;
}

static void detach(struct http_latency *st, struct skb_cgroup *c)
{
	bpf_link__destroy(c->ingress);
	bpf_link__destroy(c->egress);
	bpf_map_delete_elem(bpf_map__fd(st->skel->maps.skb_cgroups), &c->id);
}

/* Attaches both programs to the cgroup2 directory path (relative to the root): 0 or -errno. */
static int attach(struct http_latency *st, const char *path, uint64_t id, __u8 runtime)
{
	char dir[CGROUP_PATH_MAX * 2];
	struct http_skb_cgroup value = { .runtime = runtime };
	struct skb_cgroup c = { .id = id, .wanted = true };
	int rc;

	snprintf(dir, sizeof(dir), "%s%s", st->tree.root_dir, strcmp(path, "/") ? path : "");
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* the label first, so the first measured response already finds it */
	bpf_map_update_elem(bpf_map__fd(st->skel->maps.skb_cgroups), &id, &value, BPF_ANY);
	c.ingress = bpf_program__attach_cgroup(st->skel->progs.http_skb_ingress, fd);
	c.egress =
		c.ingress ? bpf_program__attach_cgroup(st->skel->progs.http_skb_egress, fd) : NULL;
	rc = c.egress ? 0 : -errno;
	close(fd);
	if (rc) {
		detach(st, &c);
		return rc;
	}
	struct skb_cgroup *grown =
		realloc(st->skb_cgroups, (st->nskb_cgroups + 1) * sizeof(*grown));
	if (!grown) {
		detach(st, &c);
		return -ENOMEM;
	}
	st->skb_cgroups = grown;
	st->skb_cgroups[st->nskb_cgroups++] = c;
	if (strcmp(path, "/") == 0)
		log_warn("an HTTP target runs in the root cgroup: every TCP socket of the host is "
			 "watched",
			 "collector", "http_latency");
	log_debug("watching a cgroup's sockets", "collector", "http_latency", "cgroup", path);
	return 0;
}

/* The cgroup of an HTTP-mode target: watched from now on (attached when it is new). */
static void want(struct http_latency *st, __u32 tgid, __u8 runtime)
{
	char path[CGROUP_PATH_MAX], dir[CGROUP_PATH_MAX * 2];
	struct stat sb;

	if (!st->have_tree || cgroup_pid_path((int)tgid, path, sizeof(path)))
		return;
	snprintf(dir, sizeof(dir), "%s%s", st->tree.root_dir, strcmp(path, "/") ? path : "");
	if (stat(dir, &sb) < 0)
		return;
	struct skb_cgroup *c = find(st, (uint64_t)sb.st_ino);
	if (c) {
		c->wanted = true;
		return;
	}
	int rc = attach(st, path, (uint64_t)sb.st_ino, runtime);
	if (rc) {
		st->skb_attach_failures++;
		log_warn("cannot watch the sockets of a target's cgroup", "collector",
			 "http_latency", "cgroup", path, "reason", strerror(-rc));
	}
}

static void recheck(struct loop *l, void *arg)
{
	struct http_latency *st = arg;
	(void)l;
	st->skb_detach_timer = NULL; /* a one-shot timer is freed once it has fired */
	http_sockets_update(st);
}

void http_sockets_update(struct http_latency *st)
{
	int fd = bpf_map__fd(st->skel->maps.targets);
	__u32 key, next, *prev = NULL;
	struct http_target t;

	for (size_t i = 0; i < st->nskb_cgroups; i++)
		st->skb_cgroups[i].wanted = false;
	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &t) == 0 && t.mode == HTTP_MODE_HTTP)
			want(st, key, t.runtime);
	}
	/* cgroups left without an HTTP target stop being watched, after the grace period */
	uint64_t now = loop_now_ms();
	bool waiting = false;
	size_t kept = 0;
	for (size_t i = 0; i < st->nskb_cgroups; i++) {
		struct skb_cgroup *c = &st->skb_cgroups[i];
		if (c->wanted) {
			c->unwanted_since = 0;
		} else if (!c->unwanted_since) {
			c->unwanted_since = now;
		} else if (now - c->unwanted_since >= DETACH_GRACE_MS) {
			detach(st, c);
			continue;
		}
		waiting |= !c->wanted;
		st->skb_cgroups[kept++] = *c;
	}
	st->nskb_cgroups = kept;
	if (waiting && !st->skb_detach_timer)
		st->skb_detach_timer = loop_timer_add(st->loop, DETACH_GRACE_MS, 0, recheck, st);
}

void http_sockets_free(struct http_latency *st)
{
	loop_timer_del(st->loop, st->skb_detach_timer);
	st->skb_detach_timer = NULL;
	for (size_t i = 0; i < st->nskb_cgroups; i++)
		detach(st, &st->skb_cgroups[i]);
	free(st->skb_cgroups);
	st->skb_cgroups = NULL;
	st->nskb_cgroups = 0;
}
