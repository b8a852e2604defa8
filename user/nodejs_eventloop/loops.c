/* nodejs_eventloop/loops.c — the loop threads the event-loop collector measures: marked through
 * pidfds in the kernel's task storage, read back with their open turn, forgotten at exit. */
#include "nodejs_eventloop/loops.h"

#include <bpf/bpf.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bpf/nodejs_eventloop/nodejs_eventloop.h" /* shared with the BPF program */
#include "cgroup/cgroup.h"
#include "core/log.h"
#include "lib/clock.h"
#include "lib/proc.h"

size_t el_loops_node_names(const struct latency_targets *names, struct latency_targets *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < names->n; i++)
		if (names->items[i].runtime == HTTP_RUNTIME_NODE)
			out->items[out->n++] = names->items[i];
	return out->n;
}

uint64_t el_busy_until(const struct el_loop *l, uint64_t now_ns)
{
	uint64_t open =
		l->state == EL_STATE_BUSY && now_ns > l->since_ns ? now_ns - l->since_ns : 0;
	return l->busy_ns + open;
}

void el_window(struct el_tracked *t, uint64_t now_ns, uint64_t busy_ns, uint64_t min_window_ns)
{
	t->in_window = false;
	if (!t->have_prev || now_ns <= t->prev_ns) {
		t->have_prev = true;
		t->prev_ns = now_ns;
		t->prev_busy = busy_ns;
		return;
	}
	t->win_wall_ns = now_ns - t->prev_ns;
	t->win_busy_ns = busy_ns > t->prev_busy ? busy_ns - t->prev_busy : 0;
	if (t->win_busy_ns > t->win_wall_ns)
		t->win_busy_ns = t->win_wall_ns; /* the kernel's clock read after ours */
	t->in_window = true;
	if (t->win_wall_ns >= min_window_ns) {
		t->prev_ns = now_ns;
		t->prev_busy = busy_ns;
	}
}

/* The loop's state as one consistent copy: the kernel writes it while we read, so a copy counts
 * only when its seq is even and a second read gives the same bytes. */
static int read_loop(struct el_loop_set *s, int pidfd, struct el_loop *out)
{
	struct el_loop a, b;

	for (int i = 0; i < 8; i++) {
		if (bpf_map_lookup_elem(s->map_fd, &pidfd, &a) ||
		    bpf_map_lookup_elem(s->map_fd, &pidfd, &b))
			return -errno;
		if (!(a.seq & 1) && memcmp(&a, &b, sizeof(a)) == 0) {
			*out = a;
			return 0;
		}
	}
	return -EAGAIN;
}

/* Writes the word of el_pid_bits that holds pid's bit, from the loops tracked now. */
static void update_bits(const struct el_loop_set *s, pid_t pid)
{
	__u32 word = (__u32)pid / 64;
	__u64 v = 0;

	if (word >= s->bits_words)
		return; /* beyond the bitmap the kernel looks in the task storage anyway */
	for (size_t i = 0; i < s->n; i++)
		if ((__u32)s->items[i].pid / 64 == word)
			v |= 1ull << ((__u32)s->items[i].pid & 63);
	bpf_map_update_elem(s->bits_fd, &word, &v, BPF_ANY);
}

static void forget(struct el_loop_set *s, size_t i, uint32_t *marked_count)
{
	struct el_tracked *t = &s->items[i];
	pid_t pid = t->pid;
	/* a process that ran another program keeps its task storage: take the mark back */
	bpf_map_delete_elem(s->map_fd, &t->pidfd);
	close(t->pidfd);
	s->items[i] = s->items[--s->n];
	update_bits(s, pid);
	*marked_count = (uint32_t)s->n;
}

static struct el_tracked *find(struct el_loop_set *s, const struct proc_id *id)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->items[i].pid == id->pid && s->items[i].start_ticks == id->start_ticks)
			return &s->items[i];
	return NULL;
}

/* A pidfd of exactly the process id names (the pid not reused since /proc was read), or -errno. */
static int open_pidfd(const struct proc_id *id)
{
	int fd = (int)syscall(SYS_pidfd_open, id->pid, 0);
	if (fd < 0)
		return -errno;
	struct proc_id again;
	if (proc_id_read(id->pid, &again) || again.start_ticks != id->start_ticks) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

struct scan_ctx {
	struct el_loop_set *s;
	const struct latency_targets *names;
	uint32_t *marked_count;
	uint64_t untracked;
};

/* Whether pid's main thread sleeps in an epoll wait now (/proc/PID/syscall: its number first). */
static bool polling_now(pid_t pid)
{
	char path[64], buf[64];
	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	char *end;
	errno = 0;
	long nr = strtol(buf, &end, 10);
	if (errno || end == buf || *end != ' ')
		return false; /* "running", or not in a syscall */
	return nr == SYS_epoll_pwait || nr == SYS_epoll_pwait2
#ifdef SYS_epoll_wait
	       || nr == SYS_epoll_wait
#endif
		;
}

/* The cgroup2 id of pid: the inode of its cgroup's directory; 0 when unknown. */
static uint64_t cgroup2_id(const char *root, pid_t pid)
{
	char rel[CGROUP_PATH_MAX], dir[2 * CGROUP_PATH_MAX];
	struct stat sb;

	if (!root || cgroup_pid_path((int)pid, rel, sizeof(rel)))
		return 0;
	snprintf(dir, sizeof(dir), "%s%s", root, rel);
	return stat(dir, &sb) == 0 ? (uint64_t)sb.st_ino : 0;
}

static void mark(struct scan_ctx *c, const struct proc_id *id)
{
	struct el_loop_set *s = c->s;

	if (s->n >= EL_LOOPS_MAX) {
		c->untracked++;
		return;
	}
	int fd = open_pidfd(id);
	if (fd < 0) {
		if (fd != -ESRCH)
			c->untracked++;
		return;
	}
	/* A loop asleep in its poll now is idle from now: otherwise (EL_STATE_UNKNOWN) the kernel
	 * learns its state at its first poll, and the turn that wakes it would go unmeasured. */
	struct el_loop initial = { 0 };
	if (polling_now(id->pid)) {
		initial.state = EL_STATE_IDLE;
		initial.since_ns = clock_monotonic_ns();
		initial.cgroup_id = cgroup2_id(s->cgroup_root, id->pid);
	}
	if (bpf_map_update_elem(s->map_fd, &fd, &initial, BPF_NOEXIST) && errno != EEXIST) {
		if (errno != ESRCH && errno != ENOENT)
			c->untracked++;
		close(fd);
		return;
	}
	struct el_tracked *items = realloc(s->items, (s->n + 1) * sizeof(*items));
	if (!items) {
		bpf_map_delete_elem(s->map_fd, &fd);
		close(fd);
		c->untracked++;
		return;
	}
	s->items = items;
	s->items[s->n++] = (struct el_tracked){
		.pid = id->pid, .start_ticks = id->start_ticks, .pidfd = fd, .seen = true
	};
	update_bits(s, id->pid);
	*c->marked_count = (uint32_t)s->n;
	char pid[16];
	snprintf(pid, sizeof(pid), "%d", (int)id->pid);
	log_debug("event loop marked", "collector", "nodejs_eventloop", "pid", pid, "exe", id->exe);
}

static void scanned(void *arg, const struct proc_id *id)
{
	struct scan_ctx *c = arg;

	if (latency_targets_match(c->names, id->exe) < 0)
		return;
	struct el_tracked *t = find(c->s, id);
	if (t)
		t->seen = true;
	else
		mark(c, id);
}

void el_loops_found(struct el_loop_set *s, const struct latency_targets *node_names, pid_t pid,
		    uint32_t *marked_count)
{
	struct scan_ctx c = { .s = s, .names = node_names, .marked_count = marked_count };
	struct proc_id id;

	if (proc_id_read(pid, &id) || !id.exe[0])
		return;	  /* gone already, or hidden: the scan counts those */
	scanned(&c, &id); /* a loop already marked stays as it is */
	s->untracked_total += c.untracked;
}

int el_loops_scan(struct el_loop_set *s, const struct latency_targets *node_names,
		  uint32_t *marked_count)
{
	struct scan_ctx c = { .s = s, .names = node_names, .marked_count = marked_count };
	unsigned denied = 0;

	for (size_t i = 0; i < s->n; i++)
		s->items[i].seen = false;
	int rc = proc_scan(scanned, &c, &denied);
	if (rc)
		return rc;
	/* gone, or now another program */
	for (size_t i = s->n; i-- > 0;)
		if (!s->items[i].seen)
			forget(s, i, marked_count);
	s->untracked_total += c.untracked;
	if (denied && !s->warned_exe_denied) {
		char n[16];
		snprintf(n, sizeof(n), "%u", denied);
		log_warn("cannot see which program some processes run; their event loops are not "
			 "measured",
			 "collector", "nodejs_eventloop", "processes", n, "need",
			 "CAP_SYS_PTRACE (reading /proc/PID/exe)");
		s->warned_exe_denied = true;
	}
	return 0;
}

void el_loops_sample(struct el_loop_set *s, uint64_t now_ns, uint64_t min_window_ns,
		     uint32_t *marked_count)
{
	for (size_t i = s->n; i-- > 0;) {
		struct el_tracked *t = &s->items[i];
		struct el_loop l = { 0 };
		struct pollfd exited = { .fd = t->pidfd, .events = POLLIN };

		t->in_window = false;
		/* a pidfd is readable once its process exited: a zombie not reaped yet still has
		 * its task storage, frozen in the state it died in (a busy one would read busy for
		 * ever) */
		if (poll(&exited, 1, 0) == 1) {
			forget(s, i, marked_count);
			continue;
		}
		int rc = read_loop(s, t->pidfd, &l);
		if (rc == -ENOENT || rc == -ESRCH || rc == -EBADF) {
			/* the process exited, or exec'd another program (the kernel took the mark)
			 */
			forget(s, i, marked_count);
			continue;
		}
		if (rc || l.state == EL_STATE_UNKNOWN)
			continue;
		t->known = true;
		t->cgroup_id = l.cgroup_id;
		el_window(t, now_ns, el_busy_until(&l, now_ns), min_window_ns);
	}
}

void el_loops_free(struct el_loop_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		close(s->items[i].pidfd);
	free(s->items);
	s->items = NULL;
	s->n = 0;
}
