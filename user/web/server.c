/* web/server.c — the non-blocking HTTP/1.1 server behind /metrics: connections, limits, timeouts.
 */
#include "web/server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "web/budget.h"
#include "web/unzip.h"
#include "web/listen.h"

/* A response body buffer larger than this is freed after use instead of kept for the next one. */
#define KEEP_BODY_BYTES (256u * 1024u)
/* How long a closing connection may keep sending before we stop reading it (lingering close). */
#define LINGER_MS    2000u
#define ACCEPT_BATCH 64

enum conn_state {
	CONN_IDLE,     /* between requests, nothing buffered */
	CONN_READING,  /* part of a request head buffered */
	CONN_WRITING,  /* a response is being sent */
	CONN_DRAINING, /* final response sent, write side shut, discarding input until EOF */
};

struct conn {
	struct web_server *srv;
	int fd;
	struct loop_watch *watch;
	struct conn *prev, *next; /* least recently active first */
	enum conn_state state;
	bool close_after;
	uint64_t deadline_ms;
	struct buf head;
	struct buf body;
	struct web_page *page;	 /* when set, the body sent instead of body */
	bool decode;		 /* the page's text is sent, inflated (resp->decode) */
	struct web_unzip *unzip; /* how, when the body is sent (not for HEAD) */
	size_t charged;		 /* private bytes counted in queued_bytes */
	size_t out_off;		 /* bytes of head (+ body) already sent */
	bool send_body;
	size_t in_len;
	char in[]; /* max_head bytes */
};

struct web_server {
	struct loop *loop;
	struct web_settings opts;
	web_handler_fn handler;
	void *handler_arg;
	int listen_fd;
	int spare_fd; /* closed to accept-and-drop when out of fds */
	struct loop_watch *listen_watch;
	struct loop_timer *sweep_timer;
	struct conn *lru_head, *lru_tail;
	struct web_server_stats stats;
	struct web_budget budget;
	char address[INET6_ADDRSTRLEN + 16];
};

const char *web_status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	return "Unknown";
}

static void lru_unlink(struct web_server *s, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		s->lru_head = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		s->lru_tail = c->prev;
	c->prev = c->next = NULL;
}

/* Moves c to the most-recently-active end; a new connection is appended. */
static void lru_touch(struct web_server *s, struct conn *c)
{
	if (s->lru_tail == c)
		return;
	if (c->prev || s->lru_head == c)
		lru_unlink(s, c);
	c->prev = s->lru_tail;
	if (s->lru_tail)
		s->lru_tail->next = c;
	else
		s->lru_head = c;
	s->lru_tail = c;
}

/* Best effort for connections we refuse outright: one non-blocking send, then close. */
static void send_and_close(int fd, int status)
{
	char msg[256];
	char scratch[4096];
	const char *reason = web_status_reason(status);
	int n = snprintf(msg, sizeof(msg),
			 "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\n"
			 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
			 status, reason, strlen(reason) + 1, reason);
	/* Read what already arrived so close() does not turn into a reset that hides the answer. */
	while (recv(fd, scratch, sizeof(scratch), MSG_DONTWAIT) > 0)
		;
	send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	shutdown(fd, SHUT_WR);
	close(fd);
}

static const char *body_data(const struct conn *c)
{
	return c->page ? c->page->data : c->body.data;
}

static size_t body_len(const struct conn *c)
{
	if (c->decode)
		return web_unzip_text_len(c->page->data, c->page->len);
	return c->page ? c->page->len : c->body.len;
}

/* The body bytes from off on that can be sent now: the page's or the connection's own, or the
 * window of a decoded page; -EBADMSG for a page that does not decode to what it promised. */
static ssize_t body_at(struct conn *c, size_t off, const char **data)
{
	if (c->unzip)
		return web_unzip_at(c->unzip, off, data);
	*data = body_data(c) + off;
	return (ssize_t)(body_len(c) - off);
}

/* Counts the response c is about to send: its own buffers, and its page as one more holder. */
static void conn_charge(struct conn *c)
{
	c->charged = c->head.len + (c->page ? 0 : c->body.len) + (c->unzip ? web_unzip_bytes() : 0);
	c->srv->budget.private_bytes += c->charged;
}

/* The response is sent or abandoned: its bytes and its page reference go. */
static void conn_release(struct conn *c)
{
	struct web_server *s = c->srv;

	s->budget.private_bytes -= c->charged;
	c->charged = 0;
	web_unzip_free(c->unzip);
	c->unzip = NULL;
	c->decode = false;
	if (c->page) {
		web_page_unref(c->page);
		c->page = NULL;
		s->budget.scrapes_in_flight--;
	}
}

/* Closes c; with a status, first tries to tell the client why (408 on a head timeout). */
static void conn_close_status(struct conn *c, int status)
{
	struct web_server *s = c->srv;

	loop_watch_del(s->loop, c->watch);
	if (status)
		send_and_close(c->fd, status);
	else
		close(c->fd);
	lru_unlink(s, c);
	conn_release(c);
	buf_free(&c->head);
	buf_free(&c->body);
	s->stats.open_connections--;
	free(c);
}

static void conn_close(struct conn *c)
{
	conn_close_status(c, 0);
}

static void conn_set_events(struct conn *c, uint32_t events)
{
	loop_watch_mod(c->srv->loop, c->watch, events);
}

static void build_head(struct conn *c, const struct web_response *r, bool keep_alive, int minor)
{
	struct buf *h = &c->head;

	buf_reset(h);
	buf_puts(h, "HTTP/1.1 ");
	buf_put_u64(h, (unsigned)r->status);
	buf_putc(h, ' ');
	buf_puts(h, web_status_reason(r->status));
	buf_puts(h, "\r\n");
	if (r->content_type) {
		buf_puts(h, "Content-Type: ");
		buf_puts(h, r->content_type);
		buf_puts(h, "\r\n");
	}
	if (r->content_encoding) {
		buf_puts(h, "Content-Encoding: ");
		buf_puts(h, r->content_encoding);
		buf_puts(h, "\r\n");
	}
	buf_puts(h, "Content-Length: ");
	buf_put_u64(h, body_len(c));
	buf_puts(h, "\r\n");
	if (!keep_alive)
		buf_puts(h, "Connection: close\r\n");
	else if (minor == 0)
		buf_puts(h, "Connection: keep-alive\r\n");
	if (r->extra_headers)
		buf_puts(h, r->extra_headers);
	buf_puts(h, "\r\n");
}

/* Queues a response generated by the server itself (errors), always closing afterwards. */
static void queue_error(struct conn *c, int status)
{
	struct web_response r = { .status = status,
				  .content_type = "text/plain; charset=utf-8",
				  .body = &c->body };

	buf_reset(&c->body);
	buf_puts(&c->body, web_status_reason(status));
	buf_putc(&c->body, '\n');
	build_head(c, &r, false, 1);
	c->send_body = true;
	c->close_after = true;
	c->srv->stats.bad_requests++;
}

static void queue_response(struct conn *c, const struct web_request *req)
{
	struct web_server *s = c->srv;
	struct web_response r = { .status = 500, .body = &c->body };

	buf_reset(&c->body);
	s->stats.requests++;
	s->handler(s->handler_arg, req, &r);
	if (r.page) {
		buf_reset(&c->body);
		c->page = r.page;
		s->budget.scrapes_in_flight++;
		if (r.decode && req->method != WEB_HEAD &&
		    !(c->unzip = web_unzip_new(r.page->data, r.page->len)))
			c->body.err = -ENOMEM; /* answered below */
		c->decode = r.decode;
	} else if (!c->body.err && web_budget_over(&s->budget, c->body.len)) {
		web_budget_refuse(&s->budget, &r, WEB_REFUSED_QUEUED_BYTES);
	}
	if (c->body.err) {
		/* The handler ran out of memory: say so rather than send a truncated page. */
		conn_release(c);
		buf_free(&c->body);
		buf_init(&c->body);
		buf_puts(&c->body, "out of memory\n");
		r.status = 500;
		r.content_type = "text/plain; charset=utf-8";
		r.content_encoding = NULL;
		r.extra_headers = NULL;
	}
	/* A request body is not read: answer, then close rather than parse it as a request. */
	c->close_after = !req->keep_alive || req->has_body || r.close;
	build_head(c, &r, !c->close_after, req->minor_version);
	c->send_body = req->method != WEB_HEAD;
}

static void start_draining(struct conn *c)
{
	shutdown(c->fd, SHUT_WR);
	c->state = CONN_DRAINING;
	c->in_len = 0;
	c->deadline_ms = loop_now_ms() + LINGER_MS;
	conn_set_events(c, EPOLLIN);
}

/* Sends what it can. Returns 1 when the response is complete, 0 if the socket is full, -1 on error.
 */
static int conn_flush(struct conn *c)
{
	for (;;) {
		size_t blen = body_len(c);
		size_t total = c->head.len + (c->send_body ? blen : 0);
		if (c->head.err || c->out_off >= total)
			return c->head.err ? -1 : 1;

		struct iovec iov[2];
		int n = 0;
		size_t off = c->out_off > c->head.len ? c->out_off - c->head.len : 0;
		const char *data = NULL;
		ssize_t avail = c->send_body && blen ? body_at(c, off, &data) : 0;
		if (avail < 0 || (c->out_off >= c->head.len && avail == 0))
			return -1; /* a page that does not decode: the promised length cannot be
				      kept */
		if (c->out_off < c->head.len) {
			iov[n].iov_base = c->head.data + c->out_off;
			iov[n++].iov_len = c->head.len - c->out_off;
		}
		if (avail > 0) {
			iov[n].iov_base = (void *)data;
			iov[n++].iov_len = (size_t)avail;
		}
		struct msghdr msg = { .msg_iov = iov, .msg_iovlen = (size_t)n };
		ssize_t w = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		c->out_off += (size_t)w;
		c->deadline_ms = loop_now_ms() + c->srv->opts.write_timeout_ms;
		lru_touch(c->srv, c);
	}
}

static void response_done(struct conn *c)
{
	conn_release(c);
	buf_reset(&c->head);
	if (c->body.cap > KEEP_BODY_BYTES) {
		buf_free(&c->body);
		buf_init(&c->body);
	} else {
		buf_reset(&c->body);
	}
	c->out_off = 0;
}

static int parse_error_status(int rc)
{
	switch (rc) {
	case -EMSGSIZE:
		return 431;
	case -EPROTONOSUPPORT:
		return 505;
	}
	return 400;
}

/*
 * Answers every complete request buffered on c, one at a time. Returns false if c
 * was closed. Leaves c waiting for input (IDLE/READING), for output (WRITING), or
 * draining.
 */
static bool conn_process(struct conn *c)
{
	struct web_server *s = c->srv;

	while (c->state == CONN_IDLE || c->state == CONN_READING) {
		struct web_request req;
		int n;

		if (c->in_len == 0) {
			if (c->state != CONN_IDLE) {
				c->state = CONN_IDLE;
				c->deadline_ms = loop_now_ms() + s->opts.idle_timeout_ms;
			}
			conn_set_events(c, EPOLLIN);
			return true;
		}
		n = web_request_parse(c->in, c->in_len, s->opts.max_request_header_bytes, &req);
		if (n == 0) {
			if (c->state == CONN_IDLE) {
				c->state = CONN_READING;
				c->deadline_ms = loop_now_ms() + s->opts.read_header_timeout_ms;
			}
			conn_set_events(c, EPOLLIN);
			return true;
		}
		if (n < 0) {
			queue_error(c, parse_error_status(n));
			c->in_len = 0;
		} else {
			queue_response(c, &req);
			/* the handler has used req (which points into in[]); now drop the head */
			memmove(c->in, c->in + n, c->in_len - (size_t)n);
			c->in_len -= (size_t)n;
		}
		conn_charge(c);
		c->state = CONN_WRITING;
		c->deadline_ms = loop_now_ms() + s->opts.write_timeout_ms;

		int done = conn_flush(c);
		if (done < 0) {
			conn_close(c);
			return false;
		}
		if (done == 0) {
			conn_set_events(c, EPOLLOUT);
			return true;
		}
		response_done(c);
		if (c->close_after) {
			start_draining(c);
			return true;
		}
		c->state = c->in_len ? CONN_READING : CONN_IDLE;
		c->deadline_ms = loop_now_ms() + (c->in_len ? s->opts.read_header_timeout_ms
							    : s->opts.idle_timeout_ms);
	}
	return true;
}

static void conn_drain(struct conn *c)
{
	char scratch[4096];
	for (;;) {
		ssize_t r = recv(c->fd, scratch, sizeof(scratch), MSG_DONTWAIT);
		if (r > 0)
			continue;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		conn_close(c); /* EOF or error: the client has seen everything */
		return;
	}
}

static void conn_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct conn *c = arg;
	struct web_server *s = c->srv;
	(void)l;
	(void)fd;

	if (c->state == CONN_DRAINING) {
		conn_drain(c);
		return;
	}
	if (c->state == CONN_WRITING) {
		if (events & (EPOLLERR | EPOLLHUP)) {
			conn_close(c);
			return;
		}
		int done = conn_flush(c);
		if (done < 0) {
			conn_close(c);
			return;
		}
		if (done == 0)
			return;
		response_done(c);
		if (c->close_after) {
			start_draining(c);
			return;
		}
		c->state = c->in_len ? CONN_READING : CONN_IDLE;
		c->deadline_ms = loop_now_ms() + (c->in_len ? s->opts.read_header_timeout_ms
							    : s->opts.idle_timeout_ms);
		conn_process(c);
		return;
	}

	/* IDLE or READING: take what fits; the parser reports a head that cannot fit. */
	bool eof = false;
	while (c->in_len < s->opts.max_request_header_bytes) {
		ssize_t r = recv(c->fd, c->in + c->in_len,
				 s->opts.max_request_header_bytes - c->in_len, MSG_DONTWAIT);
		if (r > 0) {
			c->in_len += (size_t)r;
			lru_touch(s, c);
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		eof = true;
		break;
	}
	if (!conn_process(c))
		return;
	/* A peer that closed its side gets the answers it already asked for, then we close. */
	if (eof && (c->state == CONN_IDLE || c->state == CONN_READING))
		conn_close(c);
	else if (eof && c->state == CONN_WRITING)
		c->close_after = true;
}

static bool evict_idle(struct web_server *s)
{
	for (struct conn *c = s->lru_head; c; c = c->next) {
		if (c->state == CONN_IDLE && c->in_len == 0) {
			conn_close(c);
			s->stats.connections_evicted++;
			return true;
		}
	}
	return false;
}

static void accept_one(struct web_server *s, int fd)
{
	int one = 1;

	if (s->stats.open_connections >= s->opts.max_connections && !evict_idle(s)) {
		s->stats.connections_rejected++;
		send_and_close(fd, 503);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c) + s->opts.max_request_header_bytes);
	if (!c) {
		send_and_close(fd, 503);
		s->stats.connections_rejected++;
		return;
	}
	c->srv = s;
	c->fd = fd;
	c->state = CONN_IDLE;
	/* a fresh connection has the head timeout to start its first request */
	c->deadline_ms = loop_now_ms() + s->opts.read_header_timeout_ms;
	c->watch = loop_watch_add(s->loop, fd, EPOLLIN, conn_event, c);
	if (!c->watch) {
		free(c);
		send_and_close(fd, 503);
		s->stats.connections_rejected++;
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->stats.open_connections++;
	s->stats.connections_accepted++;
	lru_touch(s, c);
}

static void listen_event(struct loop *l, int fd, uint32_t events, void *arg)
{
	struct web_server *s = arg;
	(void)l;
	(void)events;

	for (int i = 0; i < ACCEPT_BATCH; i++) {
		int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd >= 0) {
			accept_one(s, cfd);
			continue;
		}
		if (errno == EINTR || errno == ECONNABORTED)
			continue;
		if ((errno == EMFILE || errno == ENFILE) && s->spare_fd >= 0) {
			/* Out of fds: free the spare to accept and refuse one, or the
			 * level-triggered listener would wake us forever. */
			close(s->spare_fd);
			cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
			if (cfd >= 0) {
				send_and_close(cfd, 503);
				s->stats.connections_rejected++;
			}
			s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
		return;
	}
}

static void sweep(struct loop *l, void *arg)
{
	struct web_server *s = arg;
	uint64_t now = loop_now_ms();
	(void)l;

	struct conn *next;
	for (struct conn *c = s->lru_head; c; c = next) {
		next = c->next;
		if (now < c->deadline_ms)
			continue;
		if (c->state == CONN_READING) {
			s->stats.bad_requests++;
			conn_close_status(c, 408);
			continue;
		}
		conn_close(c);
	}
}

struct web_server *web_server_new(struct loop *l, const struct web_settings *opts,
				  web_handler_fn handler, void *arg, char *err, size_t errlen)
{
	struct web_server *s;
	int saved;

	s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->loop = l;
	s->opts = *opts;
	s->handler = handler;
	s->handler_arg = arg;
	s->budget.max_scrapes = opts->max_scrapes;
	s->budget.max_queued_bytes = opts->max_queued_bytes;
	s->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	s->listen_fd = web_listen(opts->listen, err, errlen);
	if (s->listen_fd < 0)
		goto fail;
	web_listen_address(s->listen_fd, s->address, sizeof(s->address));
	s->listen_watch = loop_watch_add(l, s->listen_fd, EPOLLIN, listen_event, s);
	uint64_t min_timeout = opts->read_header_timeout_ms;
	if (opts->idle_timeout_ms < min_timeout)
		min_timeout = opts->idle_timeout_ms;
	if (opts->write_timeout_ms < min_timeout)
		min_timeout = opts->write_timeout_ms;
	/* sweep often enough that no timeout overshoots by more than a quarter */
	uint64_t period = min_timeout / 4;
	period = period < 50 ? 50 : period > 1000 ? 1000 : period;
	s->sweep_timer = loop_timer_add(l, period, period, sweep, s);
	if (!s->listen_watch || !s->sweep_timer) {
		snprintf(err, errlen, "cannot watch the listening socket: %s", strerror(errno));
		goto fail;
	}
	return s;
fail:
	saved = errno;
	web_server_free(s);
	errno = saved;
	return NULL;
}

void web_server_free(struct web_server *s)
{
	if (!s)
		return;
	while (s->lru_head)
		conn_close(s->lru_head);
	loop_watch_del(s->loop, s->listen_watch);
	loop_timer_del(s->loop, s->sweep_timer);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->spare_fd >= 0)
		close(s->spare_fd);
	free(s);
}

const char *web_server_address(const struct web_server *s)
{
	return s->address;
}

void web_server_get_stats(const struct web_server *s, struct web_server_stats *out)
{
	const struct web_budget *b = &s->budget;

	*out = s->stats;
	memcpy(out->refused, b->refused, sizeof(out->refused));
	out->queued_bytes = web_budget_queued(b);
	out->scrapes_in_flight = b->scrapes_in_flight;
	out->pages_rendered = b->pages_rendered;
}

int web_server_serve_page(struct web_server *s, struct web_response *resp, unsigned variant,
			  web_render_fn render, void *arg)
{
	return web_budget_serve_page(&s->budget, resp, variant, render, arg);
}
